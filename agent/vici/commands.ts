// Typed helpers for the VICI commands the agent uses. Argument names follow the VICI README; the
// returned summaries keep only what the agent and the tests read, parsed from charon's strings.
import type { ViciClient } from './client';
import { toViciMessage, type ViciMessage, type ViciValue } from './codec';
import type { SharedSecret } from './link-config';

export {
  buildLinkConn,
  buildLinkShared,
  ESP_PROPOSALS,
  IKE_PROPOSALS,
  type LinkConnSpec,
  type LinkSharedSpec,
  type SharedSecret,
} from './link-config';

/** Extra time on top of charon's own timeout before the client gives up on the reply. */
const REPLY_MARGIN_MS = 5_000;

export interface ViciVersion {
  daemon: string;
  version: string;
  sysname: string;
  release: string;
  machine: string;
}

export interface InitiateOptions {
  /** CHILD_SA config to initiate. */
  child: string;
  /** IKE_SA config to find the child under (needed when child names repeat across conns). */
  ike?: string;
  /** How long charon waits for the result (ms); 0 waits forever, -1 returns at once. */
  timeoutMs?: number;
  /** Whether IKE_SA limits (half-open, max SAs) may refuse the initiation. */
  initLimits?: boolean;
}

export interface TerminateOptions {
  child?: string;
  ike?: string;
  childId?: string;
  ikeId?: string;
  /** Delete the SA without waiting for the peer's answer. */
  force?: boolean;
  /** How long charon waits for the peer's confirmation (ms); -1 returns at once. */
  timeoutMs?: number;
}

export interface ChildSaSummary {
  /** CHILD_SA config name. */
  name: string;
  uniqueId: string;
  reqId: string;
  /** e.g. INSTALLED, REKEYING, REKEYED, DELETING. */
  state: string;
  mode: string;
  protocol: string;
  /** UDP-encapsulated ESP (NAT traversal). */
  encap: boolean;
  spiIn: string;
  spiOut: string;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  /** Seconds since the CHILD_SA was installed. */
  installTime: number | undefined;
  /** Seconds until charon rekeys the CHILD_SA (absent when no rekeying is scheduled). */
  rekeyTime: number | undefined;
  /** Seconds since the last inbound / outbound packet; absent while none has passed. */
  useIn: number | undefined;
  useOut: number | undefined;
  localTs: string[];
  remoteTs: string[];
}

export interface IkeSaSummary {
  /** IKE_SA config name. */
  name: string;
  uniqueId: string;
  /** e.g. CONNECTING, ESTABLISHED, DELETING. */
  state: string;
  localHost: string;
  localPort: number | undefined;
  localId: string;
  remoteHost: string;
  remotePort: number | undefined;
  remoteId: string;
  initiator: boolean;
  /** We sit behind NAT (as seen from the peer). */
  natLocal: boolean;
  natRemote: boolean;
  /** Seconds since the IKE_SA was established. */
  established: number | undefined;
  childSas: ChildSaSummary[];
}

export interface ConnSummary {
  name: string;
  version: string;
  localAddrs: string[];
  remoteAddrs: string[];
  children: { name: string; mode: string; localTs: string[]; remoteTs: string[] }[];
}

/** charon's name, version and OS details. */
export async function version(client: ViciClient): Promise<ViciVersion> {
  const m = await client.request('version');
  return { daemon: str(m.daemon), version: str(m.version), sysname: str(m.sysname), release: str(m.release), machine: str(m.machine) };
}

/** Loads (or replaces, by id) a shared secret. */
export async function loadShared(client: ViciClient, secret: SharedSecret): Promise<void> {
  await client.request('load-shared', { id: secret.id, type: secret.type ?? 'IKE', data: secret.data, owners: secret.owners });
}

/** Removes a shared secret loaded with this id. */
export async function unloadShared(client: ViciClient, id: string): Promise<void> {
  await client.request('unload-shared', { id });
}

/** Loads or replaces connection(s): `{ [connName]: config }`, e.g. from buildLinkConn(). */
export async function loadConn(client: ViciClient, conn: ViciMessage): Promise<void> {
  await client.request('load-conn', conn);
}

/** Unloads a connection by name; live SAs stay until terminated. */
export async function unloadConn(client: ViciClient, name: string): Promise<void> {
  await client.request('unload-conn', { name });
}

/** Initiates a CHILD_SA (and its IKE_SA); resolves once charon reports it established. */
export async function initiate(client: ViciClient, opts: InitiateOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const msg = toViciMessage({ child: opts.child, ike: opts.ike, timeout: timeoutMs, 'init-limits': opts.initLimits });
  await client.request('initiate', msg, { timeoutMs: replyTimeout(timeoutMs) });
}

/** Terminates SAs by config name or unique id. */
export async function terminate(client: ViciClient, opts: TerminateOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const msg = toViciMessage({
    child: opts.child,
    ike: opts.ike,
    child_id: opts.childId,
    ike_id: opts.ikeId,
    force: opts.force,
    timeout: timeoutMs,
  });
  await client.request('terminate', msg, { timeoutMs: replyTimeout(timeoutMs) });
}

/** Active IKE_SAs with their CHILD_SAs and traffic counters (optionally only those of one conn). */
export async function listSas(client: ViciClient, filter: { ike?: string; noblock?: boolean } = {}): Promise<IkeSaSummary[]> {
  const { events } = await client.streamedRequest('list-sas', 'list-sa', toViciMessage({ ike: filter.ike, noblock: filter.noblock }));
  return events.flatMap(parseListSaEvent);
}

/** Loaded connections from every backend (optionally only one by name). */
export async function listConns(client: ViciClient, filter: { ike?: string } = {}): Promise<ConnSummary[]> {
  const { events } = await client.streamedRequest('list-conns', 'list-conn', toViciMessage({ ike: filter.ike }));
  return events.flatMap(parseListConnEvent);
}

/** Names of the connections loaded over VICI. */
export async function getConns(client: ViciClient): Promise<string[]> {
  const m = await client.request('get-conns');
  return list(m.conns);
}

function replyTimeout(charonTimeoutMs: number): number {
  // With 0 (wait forever) charon may take as long as the peer does; allow the retransmit budget.
  return charonTimeoutMs > 0 ? charonTimeoutMs + REPLY_MARGIN_MS : 60_000;
}

// ---------------------------------------------------------------------------------------------
// Parsing of list-sa / ike-updown / child-updown style messages.

/** One `list-sa` event → its IKE_SAs (one per event in practice). */
export function parseListSaEvent(event: ViciMessage): IkeSaSummary[] {
  return Object.entries(event).flatMap(([name, value]) => (isSection(value) ? [parseIkeSa(name, value)] : []));
}

/** An IKE_SA section as found in list-sa, ike-updown and child-updown events. */
export function parseIkeSa(name: string, sa: ViciMessage): IkeSaSummary {
  const children = isSection(sa['child-sas']) ? sa['child-sas'] : {};
  return {
    name,
    uniqueId: str(sa.uniqueid),
    state: str(sa.state),
    localHost: str(sa['local-host']),
    localPort: num(sa['local-port']),
    localId: str(sa['local-id']),
    remoteHost: str(sa['remote-host']),
    remotePort: num(sa['remote-port']),
    remoteId: str(sa['remote-id']),
    initiator: sa.initiator === 'yes',
    natLocal: sa['nat-local'] === 'yes',
    natRemote: sa['nat-remote'] === 'yes',
    established: num(sa.established),
    childSas: Object.entries(children).flatMap(([key, child]) => (isSection(child) ? [parseChildSa(key, child)] : [])),
  };
}

/** A CHILD_SA section; charon keys them `<name>-<uniqueid>` and carries the config name inside. */
export function parseChildSa(key: string, child: ViciMessage): ChildSaSummary {
  return {
    name: typeof child.name === 'string' ? child.name : key,
    uniqueId: str(child.uniqueid),
    reqId: str(child.reqid),
    state: str(child.state),
    mode: str(child.mode),
    protocol: str(child.protocol),
    encap: child.encap === 'yes',
    spiIn: str(child['spi-in']),
    spiOut: str(child['spi-out']),
    bytesIn: num(child['bytes-in']) ?? 0,
    bytesOut: num(child['bytes-out']) ?? 0,
    packetsIn: num(child['packets-in']) ?? 0,
    packetsOut: num(child['packets-out']) ?? 0,
    installTime: num(child['install-time']),
    rekeyTime: num(child['rekey-time']),
    useIn: num(child['use-in']),
    useOut: num(child['use-out']),
    localTs: list(child['local-ts']),
    remoteTs: list(child['remote-ts']),
  };
}

function parseListConnEvent(event: ViciMessage): ConnSummary[] {
  return Object.entries(event).flatMap(([name, value]) => {
    if (!isSection(value)) return [];
    const children = isSection(value.children) ? value.children : {};
    return [
      {
        name,
        version: str(value.version),
        localAddrs: list(value.local_addrs),
        remoteAddrs: list(value.remote_addrs),
        children: Object.entries(children).flatMap(([childName, c]) =>
          isSection(c) ? [{ name: childName, mode: str(c.mode), localTs: list(c['local-ts']), remoteTs: list(c['remote-ts']) }] : [],
        ),
      },
    ];
  });
}

function isSection(value: ViciValue | undefined): value is ViciMessage {
  return typeof value === 'object' && !Array.isArray(value);
}

function str(value: ViciValue | undefined): string {
  return typeof value === 'string' ? value : '';
}

function num(value: ViciValue | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function list(value: ViciValue | undefined): string[] {
  return Array.isArray(value) ? value : [];
}
