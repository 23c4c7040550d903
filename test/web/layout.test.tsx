// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { fullLayout, layoutMesh, NODE_H, NODE_W, type Pos } from '../../web/src/map/layout';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `gw${String(i).padStart(4, '0')}`);

function overlapping(positions: Map<string, Pos>): [string, string][] {
  const list = [...positions];
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const [a, p] = list[i]!;
      const [b, q] = list[j]!;
      if (Math.abs(p.x - q.x) < NODE_W && Math.abs(p.y - q.y) < NODE_H) out.push([a, b]);
    }
  }
  return out;
}

describe('map layout', () => {
  const nodes = ids(12);
  const edges = [
    [nodes[0]!, nodes[1]!],
    [nodes[0]!, nodes[2]!],
    [nodes[3]!, nodes[4]!],
    [nodes[5]!, nodes[6]!],
    [nodes[6]!, nodes[7]!],
  ] as const;

  it('places every gateway, without overlaps, the same way every time', () => {
    const first = fullLayout(nodes, edges);
    expect(first.size).toBe(nodes.length);
    expect(overlapping(first)).toEqual([]);
    expect(fullLayout([...nodes].reverse(), [...edges].reverse())).toEqual(first);
  });

  it('moves nothing when a link is added', () => {
    const before = layoutMesh(nodes, edges);
    const after = layoutMesh(nodes, [...edges, [nodes[1]!, nodes[9]!], [nodes[4]!, nodes[11]!]], before);
    expect(after).toEqual(before);
  });

  it('places a new gateway next to the gateway it links to, and moves no other', () => {
    const before = layoutMesh(nodes, edges);
    const added = 'gw-new';
    const after = layoutMesh([...nodes, added], [...edges, [added, nodes[3]!]], before);
    for (const id of nodes) expect(after.get(id)).toEqual(before.get(id));
    const p = after.get(added)!;
    const anchor = before.get(nodes[3]!)!;
    expect(Math.abs(p.x - anchor.x) + Math.abs(p.y - anchor.y)).toBeLessThanOrEqual(2 * (NODE_W + NODE_H + 200));
    expect(overlapping(after)).toEqual([]);
  });

  it('places an unlinked new gateway in a free place, and forgets removed ones', () => {
    const before = layoutMesh(nodes, edges);
    const after = layoutMesh([...nodes.slice(1), 'gw-lonely'], edges, before);
    expect(after.has(nodes[0]!)).toBe(false);
    expect(overlapping(after)).toEqual([]);
  });

  it('lays out 1,000 gateways and 2,000 links quickly', () => {
    const many = ids(1000);
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const links: [string, string][] = [];
    while (links.length < 2000) {
      const a = many[Math.floor(rnd() * 1000)]!;
      const b = many[Math.floor(rnd() * 1000)]!;
      if (a !== b) links.push([a, b]);
    }
    const t = performance.now();
    const positions = layoutMesh(many, links);
    expect(performance.now() - t).toBeLessThan(1500);
    expect(positions.size).toBe(1000);
    expect(overlapping(positions)).toEqual([]);
  });

  it('lays out many newcomers as a block below the gateways already placed, moving none of those', () => {
    const before = layoutMesh(nodes, edges);
    const many = ids(300).map((id) => `new-${id}`);
    const links = many.slice(1).map((id, i) => [many[i]!, id] as const);
    const after = layoutMesh([...nodes, ...many], [...edges, ...links], before);
    for (const id of nodes) expect(after.get(id)).toEqual(before.get(id));
    const lowest = Math.max(...nodes.map((id) => before.get(id)!.y));
    for (const id of many) expect(after.get(id)!.y).toBeGreaterThan(lowest);
    expect(overlapping(after)).toEqual([]);
  });
});
