// The home page: every gateway a node, every link an edge coloured by its state, live. Pick a
// gateway, then another (or drag from one's handle to another's) to connect them.
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { ReactFlow, Background, Controls, MiniMap, ConnectionMode, type Connection, type NodeChange, type ReactFlowInstance, type NodeTypes, type EdgeTypes } from '@xyflow/react';
import '@xyflow/react/dist/base.css';
import type { Gateway, Link as ApiLink, LinkState } from '../api/types';
import { LINK_STATES } from '../api/types';
import { useLive, useStore } from '../live/context';
import { GatewayNode, type GatewayFlowNode } from './GatewayNode';
import { LinkEdge, type LinkFlowEdge } from './LinkEdge';
import { layoutMesh, fullLayout, NODE_W, NODE_H, type Pos } from './layout';
import { gatewayMatcher } from './search';
import { ConnectDialog } from './ConnectDialog';
import { Link, navigate } from '../router';
import { useCan } from '../api/role';
import { Loading, ErrorNote } from '../ui/Status';
import { PROVIDER_LABEL, STATE_HELP, addressOf, regionOf } from '../ui/labels';

const nodeTypes: NodeTypes = { gateway: GatewayNode };
// Props React Flow hands to every node and edge wrapper are kept constant (module-level or stable
// callbacks): a new function or object there would re-render all 3,000 of them on any change.
const PRO_OPTIONS = { hideAttribution: true };
const ARIA_LABELS = { 'node.a11yDescription.default': 'Press Enter or Space to pick a gateway; pick two to connect them. Arrow keys move the map.' };
const openLink = (_: unknown, edge: { id: string }) => navigate(`/links/${encodeURIComponent(edge.id)}`);
const edgeTypes: EdgeTypes = { link: LinkEdge };
const isLiveLink = (l: ApiLink) => l.state !== 'deleted';

/** The same array when every element is the same object (React Flow then does no work). */
function stable<T>(prev: T[], next: T[]): T[] {
  return prev.length === next.length && prev.every((x, i) => x === next[i]) ? prev : next;
}

/** Builds the flow's nodes, reusing each node object whose place or marks did not change. */
function useNodes(ids: readonly string[], gateways: ReadonlyMap<string, Gateway>, positions: ReadonlyMap<string, Pos>, matches: ReadonlySet<string>, picked: string | null): GatewayFlowNode[] {
  const cache = useRef(new Map<string, GatewayFlowNode>());
  const last = useRef<GatewayFlowNode[]>([]);
  const gatewaysRef = useRef(gateways);
  gatewaysRef.current = gateways;
  return useMemo(() => {
    const next = new Map<string, GatewayFlowNode>();
    const out: GatewayFlowNode[] = [];
    for (const id of ids) {
      const position = positions.get(id) ?? { x: 0, y: 0 };
      const match = matches.has(id);
      const isPicked = picked === id;
      const old = cache.current.get(id);
      const g = gatewaysRef.current.get(id);
      const ariaLabel = g ? `Gateway ${g.name}, ${PROVIDER_LABEL[g.provider]}. Enter picks it to connect.` : undefined;
      const node: GatewayFlowNode =
        old && old.position === position && old.data.match === match && old.data.picked === isPicked && old.ariaLabel === ariaLabel
          ? old
          : {
              id,
              type: 'gateway',
              position,
              data: { match, picked: isPicked },
              ariaLabel,
              width: NODE_W,
              height: NODE_H,
            };
      next.set(id, node);
      out.push(node);
    }
    cache.current = next;
    last.current = stable(last.current, out);
    return last.current;
  }, [ids, positions, matches, picked, gateways]);
}

/** The links that are drawn, as "id a b" lines: changes only when a link comes or goes. */
function linkTopology(links: ReadonlyMap<string, ApiLink>, gateways: ReadonlyMap<string, Gateway>): string {
  let key = '';
  for (const l of links.values()) if (isLiveLink(l) && gateways.has(l.a.id) && gateways.has(l.b.id)) key += `${l.id} ${l.a.id} ${l.b.id}\n`;
  return key;
}

function useEdges(topology: string, links: ReadonlyMap<string, ApiLink>): LinkFlowEdge[] {
  const cache = useRef(new Map<string, LinkFlowEdge>());
  const linksRef = useRef(links);
  linksRef.current = links;
  const last = useRef<LinkFlowEdge[]>([]);
  return useMemo(() => {
    const next = new Map<string, LinkFlowEdge>();
    const out: LinkFlowEdge[] = [];
    for (const line of topology.split('\n')) {
      if (!line) continue;
      const [id, a, b] = line.split(' ') as [string, string, string];
      const l = linksRef.current.get(id);
      const edge: LinkFlowEdge = cache.current.get(id) ?? { id, type: 'link', source: a, target: b, data: {}, ariaLabel: `Link ${l ? `${l.a.name} to ${l.b.name}` : id}. Enter opens it.` };
      next.set(id, edge);
      out.push(edge);
    }
    cache.current = next;
    last.current = stable(last.current, out);
    return last.current;
  }, [topology]);
}

const POSITIONS_KEY = 'ipsec-mesh.map-positions';

/** Where gateways were last seen on this browser, so a reload shows the same picture. */
function savedPositions(): ReadonlyMap<string, Pos> {
  try {
    const raw = JSON.parse(localStorage.getItem(POSITIONS_KEY) ?? '{}') as Record<string, [number, number]>;
    return new Map(Object.entries(raw).filter(([, p]) => Array.isArray(p) && p.every(Number.isFinite)).map(([id, [x, y]]) => [id, { x, y }]));
  } catch {
    return new Map();
  }
}

function savePositions(positions: ReadonlyMap<string, Pos>): void {
  const out: Record<string, [number, number]> = {};
  for (const [id, p] of positions) out[id] = [Math.round(p.x), Math.round(p.y)];
  try {
    localStorage.setItem(POSITIONS_KEY, JSON.stringify(out));
  } catch {
    // Storage full or denied: the map still works, it just lays out afresh next time.
  }
}

/** Positions by id: laid out once, then only new gateways are placed (see layout.ts). */
function usePositions(gateways: ReadonlyMap<string, Gateway>, links: ReadonlyMap<string, ApiLink>) {
  const [positions, setPositions] = useState<ReadonlyMap<string, Pos>>(new Map());
  const idsKey = useMemo(() => [...gateways.keys()].sort().join('\n'), [gateways]);
  const ids = useMemo(() => (idsKey ? idsKey.split('\n') : []), [idsKey]);
  const linksRef = useRef(links);
  linksRef.current = links;
  const edgesOf = () => [...linksRef.current.values()].filter(isLiveLink).map((l) => [l.a.id, l.b.id] as const);
  useEffect(() => {
    setPositions((prev) => layoutMesh(ids, edgesOf(), prev.size ? prev : savedPositions()));
  }, [ids]);
  // Saved a moment after the last change (a drag moves a node many times a second), and when
  // the page goes away.
  const latest = useRef(positions);
  latest.current = positions;
  useEffect(() => {
    if (positions.size === 0) return;
    const timer = setTimeout(() => savePositions(positions), 500);
    return () => clearTimeout(timer);
  }, [positions]);
  useEffect(() => {
    const save = () => latest.current.size > 0 && savePositions(latest.current);
    window.addEventListener('pagehide', save);
    return () => {
      window.removeEventListener('pagehide', save);
      save();
    };
  }, []);
  const rearrange = () => setPositions(fullLayout(ids, edgesOf()));
  const move = useCallback((id: string, pos: Pos) => setPositions((prev) => new Map(prev).set(id, pos)), []);
  return { ids, positions, rearrange, move };
}

export function TopologyMap({ focus }: { focus?: string } = {}) {
  const store = useStore();
  const gateways = useLive((s) => s.mesh.gateways);
  const links = useLive((s) => s.mesh.links);
  const loaded = useLive((s) => s.loaded);
  const loadError = useLive((s) => s.error);
  const [query, setQuery] = useState('');
  const [picked, setPicked] = useState<string | null>(null);
  const canOperate = useCan('operate');
  const [connect, setConnect] = useState<{ a?: string; b?: string } | null>(null);
  const [announce, setAnnounce] = useState('');
  const [flow, setFlow] = useState<ReactFlowInstance<GatewayFlowNode, LinkFlowEdge>>();
  const [ready, setReady] = useState(false);
  const matchIndex = useRef(0);

  const { ids, positions, rearrange, move } = usePositions(gateways, links);
  const matcher = useMemo(() => gatewayMatcher(query), [query]);
  const matches = useMemo(() => {
    if (!matcher) return new Set<string>();
    return new Set([...gateways.values()].filter(matcher).map((g) => g.id));
  }, [gateways, matcher]);
  const nodes = useNodes(ids, gateways, positions, matches, picked);
  const topology = useMemo(() => linkTopology(links, gateways), [links, gateways]);
  const edges = useEdges(topology, links);
  const laidOut = positions.size === gateways.size;

  // Ready once the first data is laid out, fitted and the flow can take input.
  useEffect(() => {
    if (ready || !flow || !loaded || !laidOut) return;
    if (gateways.size === 0) return setReady(true);
    // fitView resolves once React Flow measured the nodes; a hidden or zero-size map never
    // measures them, so readiness does not wait for it longer than a moment.
    const fallback = setTimeout(() => setReady(true), 3000);
    void Promise.resolve(flow.fitView({ padding: 0.15, maxZoom: 1 })).then(() => {
      clearTimeout(fallback);
      setReady(true);
    });
    return () => clearTimeout(fallback);
  }, [ready, flow, loaded, laidOut, gateways.size]);

  const centreOn = useCallback(
    (id: string) => {
      const p = positions.get(id);
      if (p && flow) void flow.setCenter(p.x + NODE_W / 2, p.y + NODE_H / 2, { zoom: Math.max(flow.getZoom(), 0.9), duration: 250 });
    },
    [positions, flow],
  );

  // /?gateway=<id> (from the gateways page) opens the map on that gateway.
  useEffect(() => {
    if (!ready || !focus || !gateways.has(focus)) return;
    setPicked(focus);
    centreOn(focus);
    // Only when the map becomes ready or the asked gateway changes.
  }, [ready, focus]);

  const pick = useCallback(
    (id: string) => {
      const g = gateways.get(id);
      if (!g) return;
      if (picked && picked !== id) {
        setConnect({ a: picked, b: id });
        setPicked(null);
        return;
      }
      if (picked === id) {
        setPicked(null);
        setAnnounce('Selection cleared.');
        return;
      }
      setPicked(id);
      setAnnounce(`Picked ${g.name}. Pick another gateway to connect it, or press Escape.`);
    },
    [gateways, picked],
  );

  const findNext = () => {
    const list = [...matches].sort((x, y) => gateways.get(x)!.name.localeCompare(gateways.get(y)!.name));
    if (list.length === 0) return;
    const id = list[matchIndex.current % list.length]!;
    matchIndex.current += 1;
    centreOn(id);
    setAnnounce(`Showing ${gateways.get(id)!.name} (${(matchIndex.current - 1) % list.length + 1} of ${list.length}).`);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && picked) {
      setPicked(null);
      setAnnounce('Selection cleared.');
      return;
    }
    if (event.key !== 'Enter' && event.key !== ' ') return;
    const target = event.target as Element;
    const node = target.closest?.('.react-flow__node');
    const edge = target.closest?.('.react-flow__edge');
    if (node?.getAttribute('data-id')) {
      event.preventDefault();
      pick(node.getAttribute('data-id')!);
    } else if (edge?.getAttribute('data-id')) {
      event.preventDefault();
      navigate(`/links/${encodeURIComponent(edge.getAttribute('data-id')!)}`);
    }
  };

  const onNodesChange = useCallback(
    (changes: NodeChange<GatewayFlowNode>[]) => {
      for (const c of changes) if (c.type === 'position' && c.position) move(c.id, c.position);
    },
    [move],
  );

  const pickRef = useRef(pick);
  pickRef.current = pick;
  const onNodeClick = useCallback((_: unknown, node: { id: string }) => pickRef.current(node.id), []);
  const onPaneClick = useCallback(() => setPicked(null), []);

  const canOperateRef = useRef(canOperate);
  canOperateRef.current = canOperate;
  const onConnect = useCallback((c: Connection) => {
    if (!canOperateRef.current) return;
    if (c.source && c.target && c.source !== c.target) setConnect({ a: c.source, b: c.target });
    else if (c.source === c.target) setAnnounce('Drop on another gateway to connect the two.');
  }, []);

  const counts = useMemo(() => {
    const n: Partial<Record<LinkState, number>> = {};
    for (const l of links.values()) if (isLiveLink(l)) n[l.state] = (n[l.state] ?? 0) + 1;
    return n;
  }, [links]);

  // A large map opens zoomed out (compact nodes), so its first paint does not draw full details
  // that fitView then shrinks away. Read once, when the flow mounts after the first load.
  const initialViewport = useMemo(() => ({ x: 0, y: 0, zoom: gateways.size > 150 ? 0.2 : 1 }), [loaded]);

  const pickedGateway = picked ? gateways.get(picked) : undefined;
  const empty = loaded && gateways.size === 0;

  return (
    <div className="map-page">
      <div className="map-toolbar">
        <form
          className="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            findNext();
          }}
        >
          <label htmlFor="map-search">Search gateways</label>
          <input id="map-search" type="search" placeholder="name or CIDR, e.g. 10.1.0.0/16" value={query} onChange={(e) => { setQuery(e.target.value); matchIndex.current = 0; }} />
          <button type="submit" disabled={matches.size === 0}>
            Find
          </button>
          <span className="match-count" aria-live="polite">
            {query.trim() ? `${matches.size} match${matches.size === 1 ? '' : 'es'}` : ''}
          </span>
        </form>
        {canOperate && (
          <button type="button" className="primary" onClick={() => setConnect(picked ? { a: picked } : {})} disabled={gateways.size < 2}>
            Connect networks
          </button>
        )}
        <button type="button" onClick={rearrange} disabled={gateways.size === 0}>
          Re-arrange
        </button>
      </div>
      <p className="sr-only" aria-live="polite">
        {announce}
      </p>
      {picked && pickedGateway && (
        <div className="pick-hint">
          Picked <strong>{pickedGateway.name}</strong>: click another gateway to connect it.{' '}
          <button type="button" onClick={() => setPicked(null)}>
            Cancel
          </button>
        </div>
      )}
      <ErrorNote error={loadError && !loaded ? new Error(loadError) : undefined}>
        <button type="button" onClick={() => void store.refresh()}>
          Try again
        </button>
      </ErrorNote>
      <div className="map-body">
        <div className="topology" data-testid="topology" data-ready={ready ? 'true' : 'false'} onKeyDown={onKeyDown} aria-busy={!ready}>
          {!loaded && !loadError && <Loading what="the topology" />}
          {loaded && (
          <ReactFlow<GatewayFlowNode, LinkFlowEdge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            edgeTypes={edgeTypes}
            onInit={setFlow}
            onNodesChange={onNodesChange}
            onNodeClick={onNodeClick}
            onEdgeClick={openLink}
            onPaneClick={onPaneClick}
            onConnect={onConnect}
            connectionMode={ConnectionMode.Loose}
            defaultViewport={initialViewport}
            minZoom={0.03}
            maxZoom={2}
            elementsSelectable={false}
            deleteKeyCode={null}
            proOptions={PRO_OPTIONS}
            ariaLabelConfig={ARIA_LABELS}
          >
            <Background gap={24} />
            <Controls showInteractive={false} />
            {gateways.size <= 400 && <MiniMap pannable zoomable ariaLabel="Overview of the map" />}
          </ReactFlow>
          )}
          {empty && <FirstRun canRegister={canOperate} />}
        </div>
        <aside className="map-side" aria-label="Legend and details">
          <h2>Link states</h2>
          <ul className="legend">
            {LINK_STATES.map((s) => (
              <li key={s}>
                <span className={`swatch state-${s}`} aria-hidden="true" />
                <span className="legend-name">{s}</span> <span className="legend-count">{counts[s] ?? 0}</span>
                <span className="legend-help">{STATE_HELP[s]}</span>
              </li>
            ))}
          </ul>
          <p className="hint">
            {gateways.size} gateway{gateways.size === 1 ? '' : 's'}, {edges.length} link{edges.length === 1 ? '' : 's'}
          </p>
          {!pickedGateway && gateways.size >= 2 && edges.length === 0 && <p className="hint">No links yet: click one gateway, then another, to connect their networks.</p>}
          {pickedGateway && <GatewayDetail gateway={pickedGateway} links={links} onConnect={canOperate ? () => setConnect({ a: pickedGateway.id }) : undefined} />}
        </aside>
      </div>
      {connect && (
        <ConnectDialog
          gateways={gateways}
          links={links}
          a={connect.a}
          b={connect.b}
          onClose={() => setConnect(null)}
          onCreated={(link) => {
            store.linkChanged(link);
            setConnect(null);
            setAnnounce(`Link ${link.a.name} to ${link.b.name} requested: ${link.state}.`);
          }}
        />
      )}
    </div>
  );
}

function GatewayDetail({ gateway: g, links, onConnect }: { gateway: Gateway; links: ReadonlyMap<string, ApiLink>; onConnect?: () => void }) {
  const own = [...links.values()].filter((l) => isLiveLink(l) && (l.a.id === g.id || l.b.id === g.id));
  return (
    <section className="detail" aria-label={`Gateway ${g.name}`}>
      <h2>{g.name}</h2>
      <dl>
        <dt>Provider</dt>
        <dd>{PROVIDER_LABEL[g.provider]}{regionOf(g) ? `, ${regionOf(g)}` : ''}</dd>
        <dt>Agent</dt>
        <dd>{g.online ? 'online' : 'offline'}</dd>
        <dt>Address</dt>
        <dd>{addressOf(g)}</dd>
        <dt>Networks</dt>
        <dd>{g.cidrs.join(', ') || 'none yet'}</dd>
      </dl>
      {onConnect && (
        <button type="button" onClick={onConnect}>
          Connect…
        </button>
      )}
      <h3>Links</h3>
      {own.length === 0 ? (
        <p className="hint">None yet.</p>
      ) : (
        <ul className="plain">
          {own.map((l) => (
            <li key={l.id}>
              <Link href={`/links/${encodeURIComponent(l.id)}`}>
                {l.a.id === g.id ? l.b.name : l.a.name}
              </Link>{' '}
              <span className={`state-pill state-${l.state}`}>{l.state}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function FirstRun({ canRegister }: { canRegister: boolean }) {
  return (
    <section className="first-run" aria-labelledby="first-run-title">
      <h2 id="first-run-title">No gateways yet</h2>
      <p>A gateway is a VPN container (strongSwan and our agent) in one of your networks. To connect two networks:</p>
      <ol>
        <li>
          <Link href="/gateways?register">Register a gateway</Link> for each network: a data centre with its CIDRs, or a cloud VPC with the instance's public IP (add a{' '}
          <Link href="/cloud-accounts">cloud account</Link> first).
        </li>
        <li>Start the agent at each site with the command shown after registering; the gateway turns online.</li>
        <li>Back here, click one gateway and then the other, pick the networks, and Connect. The link turns up by itself.</li>
      </ol>
      {canRegister && (
        <p>
          <Link className="button primary" href="/gateways?register">
            Register gateway
          </Link>
        </p>
      )}
    </section>
  );
}
