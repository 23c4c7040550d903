// One gateway on the map. Memoised: it re-renders only when its gateway object or its flags change.
import { memo } from 'react';
import { Handle, Position, useStore, type Node, type NodeProps } from '@xyflow/react';
import { useLive } from '../live/context';
import { PROVIDER_LABEL, addressOf, regionOf } from '../ui/labels';

/** What places and marks the node; the gateway itself is read from the live store by id, so a
 * presence change re-renders this one node and leaves React Flow's node list untouched. */
export type GatewayNodeData = { match: boolean; picked: boolean };
export type GatewayFlowNode = Node<GatewayNodeData, 'gateway'>;

const MAX_CIDRS = 3;
/** Below this zoom the details are unreadable anyway: a node shows its name and presence only. */
export const DETAIL_ZOOM = 0.45;
const zoomedOut = (s: { transform: [number, number, number] }) => s.transform[2] < DETAIL_ZOOM;
function GatewayNodeView({ id, data }: NodeProps<GatewayFlowNode>) {
  const g = useLive((s) => s.mesh.gateways.get(id));
  // A boolean: the node re-renders when the zoom crosses the threshold, not on every zoom step.
  const compact = useStore(zoomedOut);
  if (!g) return null;
  const region = regionOf(g);
  const extra = g.cidrs.length - MAX_CIDRS;
  const classes = ['gw-node', `provider-${g.provider}`, g.online ? 'online' : 'offline', data.match ? 'match' : '', data.picked ? 'picked' : '', g.state !== 'ready' ? `gw-${g.state}` : ''].filter(Boolean).join(' ');
  if (compact) {
    return (
      <div className={`${classes} compact`} data-gateway-id={g.id} title={`${g.name} (${PROVIDER_LABEL[g.provider]}) ${g.cidrs.join(', ')}`}>
        <span className="dot" aria-hidden="true" />
        <span className="gw-name">{g.name}</span>
        <Handle type="source" position={Position.Right} />
      </div>
    );
  }
  return (
    <div className={classes} data-gateway-id={g.id}>
      {/* One handle (React Flow measures each): drag from it to another gateway to connect them.
          From the keyboard, Enter on two gateways does the same. Edges are drawn from the node's
          centre (LinkEdge), not from this handle. */}
      <Handle type="source" position={Position.Right} />
      <div className="gw-head">
        <span className="gw-name" title={g.name}>
          {g.name}
        </span>
        <span className={`badge provider-${g.provider}`}>{PROVIDER_LABEL[g.provider]}</span>
      </div>
      <div className="gw-meta">
        <span className={g.online ? 'presence on' : 'presence off'}>
          <span className="dot" aria-hidden="true" />
          {g.online ? 'online' : 'offline'}
        </span>
        {region && <span className="region">{region}</span>}
        {g.state !== 'ready' && <span className={`gw-state ${g.state}`}>{g.state}</span>}
      </div>
      <div className="gw-addr">{addressOf(g)}</div>
      <div className="gw-cidrs">
        {g.cidrs.slice(0, MAX_CIDRS).join(', ') || 'no networks yet'}
        {extra > 0 && ` +${extra} more`}
      </div>
    </div>
  );
}

export const GatewayNode = memo(GatewayNodeView);
