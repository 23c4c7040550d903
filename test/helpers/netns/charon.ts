// One charon per site, each in its gateway namespace with its own strongswan.conf, VICI socket and
// log in the site directory. charon writes its pid file to the fixed path /var/run/charon.pid, so
// each runs in a private mount namespace with the site's run/ directory bind-mounted over /run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ViciClient } from '../../../agent/vici/client';
import { NsProcess } from './ns-process';

export const CHARON_PATH = '/usr/lib/ipsec/charon';
/** The plugin set measured to work here: userspace ESP (kernel-libipsec) over a TUN device. */
export const CHARON_PLUGINS = 'random nonce openssl pem pkcs1 x509 pubkey sha1 sha2 hmac aes kdf kernel-libipsec kernel-netlink socket-default vici';

export interface CharonPaths {
  dir: string;
  conf: string;
  vici: string;
  log: string;
  stdio: string;
  runDir: string;
}

export function charonPaths(dir: string): CharonPaths {
  return {
    dir,
    conf: path.join(dir, 'strongswan.conf'),
    vici: path.join(dir, 'charon.vici'),
    log: path.join(dir, 'charon.log'),
    stdio: path.join(dir, 'charon.out'),
    runDir: path.join(dir, 'run'),
  };
}

/**
 * strongswan.conf for a test site. Retransmits give up after ~4 s (1 + 1.4 + 1.96 s) so a dead peer
 * shows up in seconds; logging stays at level 1 so the file is useful without drowning the disk.
 */
export function strongswanConf(p: CharonPaths): string {
  return `# Written by test/helpers/netns; one key per line (strongSwan's parser wants that).
charon {
  load_modular = no
  load = ${CHARON_PLUGINS}
  retransmit_timeout = 1.0
  retransmit_base = 1.4
  retransmit_tries = 2
  retransmit_jitter = 0
  plugins {
    vici {
      socket = unix://${p.vici}
    }
  }
  filelog {
    site {
      path = ${p.log}
      time_format = %T
      default = 1
      flush_line = yes
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
swanctl {
  load = random openssl pem pkcs1 x509 pubkey
  socket = unix://${p.vici}
}
`;
}

/** Writes the site's config and the directory charon's /run is bind-mounted from. */
export function prepareCharonDir(p: CharonPaths): void {
  fs.mkdirSync(p.runDir, { recursive: true });
  fs.writeFileSync(p.conf, strongswanConf(p));
}

export class CharonProcess extends NsProcess {
  constructor(
    private readonly ns: string,
    private readonly paths: CharonPaths,
  ) {
    super(paths);
  }

  /** Starts charon and resolves once its VICI socket answers a `version` request. */
  async start(timeoutMs = 10_000): Promise<void> {
    if (this.running) throw new Error(`charon in ${this.ns} is already running`);
    // A pid file left by a killed charon would make the new one refuse to start.
    fs.rmSync(path.join(this.paths.runDir, 'charon.pid'), { force: true });
    const out = fs.openSync(this.paths.stdio, 'a');
    const script = 'mount --bind "$0" /run && exec "$1"';
    const child = spawn('ip', ['netns', 'exec', this.ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, this.paths.runDir, CHARON_PATH], {
      env: { ...process.env, STRONGSWAN_CONF: this.paths.conf },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    const exitedEarly = this.adopt(child);

    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exitedEarly()) throw new Error(`charon in ${this.ns} exited during start-up:\n${this.logTail()}`);
      const client = await ViciClient.connect(this.paths.vici, { connectTimeoutMs: 500, timeoutMs: 1_000 }).catch(() => undefined);
      if (client !== undefined) {
        try {
          await client.request('version');
          return;
        } catch {
          // Socket bound but charon still initialising: try again.
        } finally {
          await client.close();
        }
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`charon in ${this.ns} did not answer on ${this.paths.vici} within ${timeoutMs} ms:\n${this.logTail()}`);
      }
      await sleep(5);
    }
  }
}
