// One link on the map: an arc coloured by state (CSS), cheap to draw 2,000 of. Every
// link's <g> carries data-link-id and data-state, which tests and the benchmark read.
import { memo } from 'react';
import type { Edge, EdgeProps } from '@xyflow/react';
import { useLive } from '../live/context';
import { NODE_W, NODE_H } from './layout';

/** The edge object holds only what places it; its state is read from the live store by id, so a
 * state change re-renders this one edge and leaves React Flow's edge list untouched. */
export type LinkEdgeData = Record<string, never>;
export type LinkFlowEdge = Edge<LinkEdgeData, 'link'>;

interface Point {
  x: number;
  y: number;
}

/** Where the line from a box's centre towards `to` leaves the box (NODE_W × NODE_H). */
function border(centre: Point, to: Point): Point {
  const dx = to.x - centre.x;
  const dy = to.y - centre.y;
  if (dx === 0 && dy === 0) return centre;
  const scale = Math.min(dx === 0 ? Infinity : NODE_W / 2 / Math.abs(dx), dy === 0 ? Infinity : NODE_H / 2 / Math.abs(dy));
  return { x: centre.x + dx * scale, y: centre.y + dy * scale };
}

export function arcBetween(a: Point, b: Point): string {
  const bow = 0.25;
  const control = { x: (a.x + b.x) / 2 - (b.y - a.y) * bow, y: (a.y + b.y) / 2 + (b.x - a.x) * bow };
  const from = border(a, control);
  const to = border(b, control);
  const r = (n: number) => Math.round(n * 10) / 10;
  return `M${r(from.x)},${r(from.y)}Q${r(control.x)},${r(control.y)} ${r(to.x)},${r(to.y)}`;
}

function LinkEdgeView({ id, sourceX, sourceY, targetX, targetY, selected }: EdgeProps<LinkFlowEdge>) {
  // The link object keeps its identity until that link changes (live/reducer.ts).
  const link = useLive((s) => s.mesh.links.get(id));
  const state = link?.state ?? 'provisioning';
  // React Flow gives the handle's place (the middle of the right side): the node's centre is half
  // a node to its left. The link runs between the two boxes' borders, as a gentle arc that bows
  // more the longer it is, so a long link clears the gateways placed between its ends.
  const d = arcBetween({ x: sourceX - NODE_W / 2, y: sourceY }, { x: targetX - NODE_W / 2, y: targetY });
  return (
    <g className={`link-edge state-${state}${selected ? ' selected' : ''}`} data-link-id={id} data-state={state}>
      <title>{link ? `${link.a.name} ⇄ ${link.b.name}: ${state}` : id}</title>
      <path className="link-hit" d={d} />
      <path className="link-line" d={d} />
    </g>
  );
}

export const LinkEdge = memo(LinkEdgeView);
