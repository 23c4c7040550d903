// One link on the map: an arc coloured by state (CSS), cheap to draw 2,000 of. Every
// link's <g> carries data-link-id and data-state, which tests and the benchmark read.
import { memo } from 'react';
import type { Edge, EdgeProps } from '@xyflow/react';
import type { LinkState } from '../api/types';

export type LinkEdgeData = { state: LinkState; label: string };
export type LinkFlowEdge = Edge<LinkEdgeData, 'link'>;

function LinkEdgeView({ id, sourceX, sourceY, targetX, targetY, data, selected }: EdgeProps<LinkFlowEdge>) {
  const state = data?.state ?? 'provisioning';
  // A gentle arc, bowing more the longer the link, so a long link between two gateways clears
  // the gateways placed between them instead of running through them.
  const mx = (sourceX + targetX) / 2;
  const my = (sourceY + targetY) / 2;
  const dx = targetX - sourceX;
  const dy = targetY - sourceY;
  const bow = 0.35;
  const d = `M${sourceX},${sourceY}Q${mx - dy * bow},${my + dx * bow} ${targetX},${targetY}`;
  return (
    <g className={`link-edge state-${state}${selected ? ' selected' : ''}`} data-link-id={id} data-state={state}>
      <title>{data?.label}</title>
      <path className="link-hit" d={d} />
      <path className="link-line" d={d} />
    </g>
  );
}

export const LinkEdge = memo(LinkEdgeView);
