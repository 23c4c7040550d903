// One gateway on the map. Memoised: it re-renders only when its gateway object or its flags change.
import { memo } from 'react';
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import { useLive } from '../live/context';
import { PROVIDER_LABEL, addressOf, regionOf } from '../ui/labels';

/** What places and marks the node; the gateway itself is read from the live store by id, so a
 * presence change re-renders this one node and leaves React Flow's node list untouched. */
export type GatewayNodeData = { match: boolean; picked: boolean };
export type GatewayFlowNode = Node<GatewayNodeData, 'gateway'>;

const MAX_CIDRS = 3;
function GatewayNodeView({ id, data }: NodeProps<GatewayFlowNode>) {
  const g = useLive((s) => s.mesh.gateways.get(id));
  if (!g) return null;
  const region = regionOf(g);
  const extra = g.cidrs.length - MAX_CIDRS;
  const classes = ['gw-node', `provider-${g.provider}`, g.online ? 'online' : 'offline', data.match ? 'match' : '', data.picked ? 'picked' : '', g.state !== 'ready' ? `gw-${g.state}` : ''].filter(Boolean).join(' ');
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
