// IpsecDriver over charon's VICI socket. Keeps one connection, reconnects when charon restarts
// (and tells the agent, since a restarted charon has lost every loaded conn), and turns
// child-updown / ike-updown events into tunnel reports.
import type { IkeSaState, LinkConfig } from '../protocol/messages';
import type { Logger } from '../lib/log';
import { Backoff } from './backoff';
import type { IpsecDriver, TunnelEvent } from './driver';
import {
  ViciClient,
  ViciError,
  buildLinkConn,
  buildLinkShared,
  initiate,
  listSas,
  loadConn,
  loadShared,
  parseIkeSa,
  terminate,
  unloadConn,
  unloadShared,
  version,
  type ViciMessage,
} from './vici';

export class IpsecUnavailableError extends Error {
  override name = 'IpsecUnavailableError';
  readonly code = 'ipsec_unavailable';
}

export class ViciDriver implements IpsecDriver {
  private client?: ViciClient;
  private closed = false;
  private connecting?: Promise<void>;
  private readonly tunnelCbs: Array<(e: TunnelEvent) => void> = [];
  private readonly restartCbs: Array<() => void> = [];
  private readonly backoff = new Backoff(100, 2000);

  constructor(private readonly o: { socketPath: string; log: Logger }) {}

  /** Resolves once charon answers; keeps retrying while it is not running yet. */
  start(): Promise<void> {
    this.connecting ??= this.connectLoop(false);
    return this.connecting;
  }

  async version(): Promise<string> {
    const v = await version(this.vici());
    return `${v.daemon} ${v.version}`;
  }

  async apply(link: LinkConfig): Promise<void> {
    const c = this.vici();
    await loadShared(c, buildLinkShared({ name: link.name, localId: link.localId, remoteId: link.remoteId, psk: link.psk }));
    await loadConn(
      c,
      buildLinkConn({
        name: link.name,
        localId: link.localId,
        remoteId: link.remoteId,
        localAddrs: link.localAddrs,
        remoteAddrs: link.remoteAddrs,
        localTs: link.localTs,
        remoteTs: link.remoteTs,
        initiator: link.initiator,
      }),
    );
  }

  async remove(name: string): Promise<void> {
    const c = this.vici();
    // Each step tolerates "already gone", so a repeated or partial removal completes.
    await ignoreFailed(terminate(c, { ike: name, force: true, timeoutMs: 2000 }));
    await ignoreFailed(unloadConn(c, name));
    await ignoreFailed(unloadShared(c, name));
  }

  async initiate(name: string, timeoutMs: number, opts: { restart?: boolean } = {}): Promise<boolean> {
    const c = this.vici();
    if (opts.restart) {
      // Not waiting for the peer's answer: it may be unreachable at the old address.
      await ignoreFailed(terminate(c, { ike: name, force: true, timeoutMs: 1000 }));
    } else {
      const sas = await listSas(c, { ike: name, noblock: true });
      if (sas.some((sa) => sa.childSas.some((ch) => ch.name === name && ch.state === 'INSTALLED'))) return true;
    }
    try {
      await initiate(c, { child: name, ike: name, timeoutMs, initLimits: false });
      return true;
    } catch (err) {
      if (err instanceof ViciError && err.code === 'COMMAND_FAILED') {
        this.o.log.warn('initiate failed', { link: name, reason: err.errmsg });
        return false;
      }
      throw err;
    }
  }

  async status(): Promise<IkeSaState[]> {
    const sas = await listSas(this.vici(), { noblock: true });
    return sas.map((sa) => ({
      name: sa.name,
      state: sa.state,
      localHost: sa.localHost,
      remoteHost: sa.remoteHost,
      children: sa.childSas.map((ch) => ({
        name: ch.name,
        state: ch.state,
        bytesIn: ch.bytesIn,
        bytesOut: ch.bytesOut,
        packetsIn: ch.packetsIn,
        packetsOut: ch.packetsOut,
        localTs: ch.localTs,
        remoteTs: ch.remoteTs,
        ...definedOnly({ useIn: ch.useIn, useOut: ch.useOut, installTime: ch.installTime, rekeyTime: ch.rekeyTime }),
      })),
    }));
  }

  onTunnel(cb: (e: TunnelEvent) => void): void {
    this.tunnelCbs.push(cb);
  }

  onRestart(cb: () => void): void {
    this.restartCbs.push(cb);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client?.close();
  }

  private vici(): ViciClient {
    if (!this.client || this.client.closed) throw new IpsecUnavailableError(`charon is not reachable at ${this.o.socketPath}`);
    return this.client;
  }

  private async connectLoop(isRestart: boolean): Promise<void> {
    let announced = false;
    while (!this.closed) {
      try {
        const c = await ViciClient.connect(this.o.socketPath, { timeoutMs: 20_000 });
        c.on('event', (name, msg) => this.onEvent(name, msg));
        c.on('error', () => undefined); // 'close' follows and drives the reconnect
        await c.subscribe('child-updown');
        await c.subscribe('ike-updown');
        this.client = c;
        this.backoff.reset();
        c.once('close', () => {
          if (this.closed) return;
          this.o.log.warn('lost charon (VICI socket closed); reconnecting');
          this.connecting = this.connectLoop(true);
        });
        this.o.log.info('connected to charon', { socket: this.o.socketPath });
        if (isRestart) for (const cb of this.restartCbs) cb();
        return;
      } catch (err) {
        if (!announced) {
          announced = true;
          this.o.log.warn('charon not reachable yet; retrying', { socket: this.o.socketPath, err: (err as Error).message });
        }
        await new Promise((r) => setTimeout(r, this.backoff.next()));
      }
    }
  }

  private onEvent(name: string, msg: ViciMessage): void {
    const up = msg.up === 'yes';
    for (const [ikeName, value] of Object.entries(msg)) {
      if (typeof value !== 'object' || Array.isArray(value)) continue;
      const sa = parseIkeSa(ikeName, value);
      if (name === 'child-updown') {
        for (const ch of sa.childSas) this.emit({ name: ch.name, up, reason: `child-updown (${ch.state || (up ? 'INSTALLED' : 'gone')})` });
      } else if (name === 'ike-updown' && !up) {
        // The IKE_SA is gone and its CHILD_SAs with it (e.g. DPD found the peer dead).
        this.emit({ name: ikeName, up: false, reason: 'ike-updown (IKE_SA down)' });
      }
    }
  }

  private emit(e: TunnelEvent): void {
    for (const cb of this.tunnelCbs) cb(e);
  }
}

async function ignoreFailed(pending: Promise<void>): Promise<void> {
  try {
    await pending;
  } catch (err) {
    if (!(err instanceof ViciError && err.code === 'COMMAND_FAILED')) throw err;
  }
}

/** The fields that have a value (the protocol's optional fields take no undefined). */
function definedOnly<T extends Record<string, number | undefined>>(fields: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}
