// One gateway on the map. Memoised: it re-renders only when its gateway object or its flags change.
import { memo } from 'react';
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import type { Gateway } from '../api/types';
import { PROVIDER_LABEL, addressOf, regionOf } from '../ui/labels';

export type GatewayNodeData = { gateway: Gateway; match: boolean; picked: boolean };
export type GatewayFlowNode = Node<GatewayNodeData, 'gateway'>;

const MAX_CIDRS = 3;
/** A handle on each side: an edge leaves and enters by the sides facing each other (see sideTowards). */
const SIDES = [
  ['l', Position.Left],
  ['r', Position.Right],
  ['t', Position.Top],
  ['b', Position.Bottom],
] as const;
export type Side = (typeof SIDES)[number][0];

/** Which side of a node at `from` faces a node at `to` (both top-left corners of equal-size nodes). */
export function sideTowards(from: { x: number; y: number }, to: { x: number; y: number }): Side {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  // Nodes are wider than tall: prefer left/right unless clearly above or below.
  if (Math.abs(dx) * 0.6 >= Math.abs(dy)) return dx >= 0 ? 'r' : 'l';
  return dy >= 0 ? 'b' : 't';
}

function GatewayNodeView({ data }: NodeProps<GatewayFlowNode>) {
  const g = data.gateway;
  const region = regionOf(g);
  const extra = g.cidrs.length - MAX_CIDRS;
  const classes = ['gw-node', `provider-${g.provider}`, g.online ? 'online' : 'offline', data.match ? 'match' : '', data.picked ? 'picked' : '', g.state !== 'ready' ? `gw-${g.state}` : ''].filter(Boolean).join(' ');
  return (
    <div className={classes} data-gateway-id={g.id}>
      {SIDES.map(([id, position]) => (
        // Drag targets for the mouse; from the keyboard, Enter on two gateways does the same.
        <Handle key={id} id={id} type="source" position={position} />
      ))}
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
