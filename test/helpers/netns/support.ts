// Whether this machine can run the namespace fixture, with a reason to print when it cannot.
import fs from 'node:fs';
import { run } from './exec';
import { CHARON_PATH } from './charon';
import { TINYPROXY_PATH } from './proxy';

export type NetnsSupport = { ok: true } | { ok: false; reason: string };

let cached: Promise<NetnsSupport> | undefined;

async function has(file: string, args: readonly string[]): Promise<boolean> {
  return run(file, args, { allowFailure: true, timeoutMs: 5_000 }).then(
    (r) => r.code === 0,
    () => false,
  );
}

async function probe(): Promise<NetnsSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root: network namespaces and charon need root' };
  const missing: string[] = [];
  if (!(await has('ip', ['-V']))) missing.push('ip (iproute2)');
  if (!(await has('nft', ['--version']))) missing.push('nft (nftables)');
  if (!(await has('unshare', ['--version']))) missing.push('unshare (util-linux)');
  if (!fs.existsSync(CHARON_PATH)) missing.push(`${CHARON_PATH} (strongswan-charon)`);
  for (const plugin of ['kernel-libipsec', 'vici', 'openssl']) {
    if (!fs.existsSync(`/usr/lib/ipsec/plugins/libstrongswan-${plugin}.so`)) missing.push(`charon plugin ${plugin}`);
  }
  if (missing.length > 0) return { ok: false, reason: `missing ${missing.join(', ')}; run scripts/ensure-test-tools.sh as root` };
  // Root in a container may still lack CAP_SYS_ADMIN/CAP_NET_ADMIN: try the real thing once.
  const ns = `nschk-${process.pid}`;
  const made = await run('ip', ['netns', 'add', ns], { allowFailure: true });
  if (made.code !== 0) return { ok: false, reason: `cannot create a network namespace: ${made.stderr.trim()}` };
  await run('ip', ['netns', 'del', ns], { allowFailure: true });
  return { ok: true };
}

/** Root? ip, nft, unshare and charon present? Can we create a namespace? Cached per process. */
export async function netnsSupport(): Promise<NetnsSupport> {
  cached ??= probe();
  return cached;
}

/** netnsSupport() plus tinyproxy, for fixtures with a `proxy`. */
export async function proxySupport(): Promise<NetnsSupport> {
  const base = await netnsSupport();
  if (!base.ok) return base;
  if (!fs.existsSync(TINYPROXY_PATH)) return { ok: false, reason: `missing ${TINYPROXY_PATH} (tinyproxy); run scripts/ensure-test-tools.sh as root` };
  return base;
}
