// Where each gateway sits on the map. The first layout places every connected group of gateways
// with dagre (or, for a group too dense for dagre to place quickly, a grid ordered by
// breadth-first walk from its busiest gateway), groups packed in rows. After that positions are
// kept by id: a new link moves nothing, and a new gateway goes next to a gateway it links to (or
// to the first free place below the map), so the picture an operator knows stays put.
import dagre from '@dagrejs/dagre';

export interface Pos {
  x: number;
  y: number;
}
export type Edge = readonly [string, string];

export const NODE_W = 240;
export const NODE_H = 108;
const GAP_X = 70;
const GAP_Y = 40;
const STEP_X = NODE_W + GAP_X;
const STEP_Y = NODE_H + GAP_Y;
/** dagre's cost grows fast with crossings: groups above this many links get the grid. */
const DAGRE_MAX_EDGES = 80;
/** More new gateways than this (and than those placed already) are laid out as a block. */
const BULK_MIN = 20;
/** And all dagre groups together stay under this many links, so the first paint stays quick. */
const DAGRE_BUDGET = 600;

/**
 * Positions (top-left) for `ids`. Those in `previous` keep theirs; when none is known yet, all
 * are laid out afresh. Deterministic: the same input gives the same output.
 */
export function layoutMesh(ids: readonly string[], edges: readonly Edge[], previous: ReadonlyMap<string, Pos> = new Map()): Map<string, Pos> {
  const known = ids.filter((id) => previous.has(id));
  if (known.length === 0) return fullLayout(ids, edges);
  const out = new Map<string, Pos>();
  for (const id of known) out.set(id, previous.get(id)!);
  const fresh = ids.filter((id) => !previous.has(id)).sort();
  if (fresh.length === 0) return out;
  // Many newcomers at once (a bulk import, or a map last seen much smaller): they are laid out
  // together, below what is already placed, instead of one by one around their neighbours.
  if (fresh.length > Math.max(BULK_MIN, known.length)) {
    const box = bounds(out.values());
    const freshSet = new Set(fresh);
    const block = fullLayout(fresh, edges.filter(([a, b]) => freshSet.has(a) && freshSet.has(b)));
    for (const [id, p] of block) out.set(id, { x: box.minX + p.x, y: box.maxY + STEP_Y * 2 + p.y });
    return out;
  }
  const occupied = new Occupancy(out.values());
  const neighbours = adjacency(edges);
  let box = bounds(out.values());
  for (const id of fresh) {
    const anchor = [...(neighbours.get(id) ?? [])].sort().map((n) => out.get(n)).find((p) => p !== undefined);
    const pos = anchor ? occupied.freeNear(anchor) : occupied.freeInRow({ x: box.minX, y: box.maxY + STEP_Y });
    out.set(id, pos);
    occupied.add(pos);
    box = { minX: Math.min(box.minX, pos.x), maxY: Math.max(box.maxY, pos.y) };
  }
  return out;
}

export function fullLayout(ids: readonly string[], edges: readonly Edge[]): Map<string, Pos> {
  const groups = components(ids, edges);
  let budget = DAGRE_BUDGET;
  const placed = groups.map((group) => {
    const useDagre = group.edges.length <= DAGRE_MAX_EDGES && group.edges.length <= budget && group.nodes.length > 1;
    if (useDagre) budget -= group.edges.length;
    return useDagre ? dagreLayout(group) : gridLayout(group);
  });
  // Shelf packing: groups left to right, a new row when the row is full.
  const totalArea = placed.reduce((sum, p) => sum + (p.width + GAP_X) * (p.height + GAP_Y), 0);
  const rowWidth = Math.max(4 * STEP_X, Math.sqrt(totalArea) * 1.4);
  const out = new Map<string, Pos>();
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const p of placed) {
    if (x > 0 && x + p.width > rowWidth) {
      x = 0;
      y += rowHeight + GAP_Y * 2;
      rowHeight = 0;
    }
    for (const [id, pos] of p.positions) out.set(id, { x: x + pos.x, y: y + pos.y });
    x += p.width + GAP_X * 2;
    rowHeight = Math.max(rowHeight, p.height);
  }
  return out;
}

interface Group {
  nodes: string[];
  edges: Edge[];
}
interface Placed {
  positions: Map<string, Pos>;
  width: number;
  height: number;
}

function adjacency(edges: readonly Edge[]): Map<string, Set<string>> {
  const adj = new Map<string, Set<string>>();
  for (const [a, b] of edges) {
    if (!adj.has(a)) adj.set(a, new Set());
    if (!adj.has(b)) adj.set(b, new Set());
    adj.get(a)!.add(b);
    adj.get(b)!.add(a);
  }
  return adj;
}

/** Connected groups, largest first (ties by smallest id), each with its nodes sorted. */
function components(ids: readonly string[], edges: readonly Edge[]): Group[] {
  const idSet = new Set(ids);
  const parent = new Map<string, string>(ids.map((id) => [id, id]));
  const find = (id: string): string => {
    let root = id;
    while (parent.get(root) !== root) root = parent.get(root)!;
    let cur = id;
    while (parent.get(cur) !== root) {
      const next = parent.get(cur)!;
      parent.set(cur, root);
      cur = next;
    }
    return root;
  };
  const inside = edges.filter(([a, b]) => idSet.has(a) && idSet.has(b) && a !== b);
  for (const [a, b] of inside) {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
  const byRoot = new Map<string, Group>();
  for (const id of [...ids].sort()) {
    const root = find(id);
    if (!byRoot.has(root)) byRoot.set(root, { nodes: [], edges: [] });
    byRoot.get(root)!.nodes.push(id);
  }
  for (const edge of inside) byRoot.get(find(edge[0]))!.edges.push(edge);
  return [...byRoot.values()].sort((x, y) => y.nodes.length - x.nodes.length || (x.nodes[0]! < y.nodes[0]! ? -1 : 1));
}

function dagreLayout(group: Group): Placed {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: GAP_Y, ranksep: GAP_X * 1.5, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of group.nodes) g.setNode(id, { width: NODE_W, height: NODE_H });
  for (const [a, b] of [...group.edges].sort((x, y) => (x[0] + x[1] < y[0] + y[1] ? -1 : 1))) g.setEdge(a, b);
  dagre.layout(g);
  const positions = new Map<string, Pos>();
  for (const id of group.nodes) {
    const n = g.node(id) as { x: number; y: number };
    positions.set(id, { x: n.x - NODE_W / 2, y: n.y - NODE_H / 2 });
  }
  return normalise(positions);
}

/** A square grid filled in breadth-first order from the busiest gateway, so neighbours sit close. */
function gridLayout(group: Group): Placed {
  const adj = adjacency(group.edges);
  const degree = (id: string) => adj.get(id)?.size ?? 0;
  const order: string[] = [];
  const seen = new Set<string>();
  const starts = [...group.nodes].sort((x, y) => degree(y) - degree(x) || (x < y ? -1 : 1));
  for (const start of starts) {
    if (seen.has(start)) continue;
    const queue = [start];
    seen.add(start);
    while (queue.length) {
      const id = queue.shift()!;
      order.push(id);
      for (const n of [...(adj.get(id) ?? [])].sort()) {
        if (!seen.has(n)) {
          seen.add(n);
          queue.push(n);
        }
      }
    }
  }
  const columns = Math.max(1, Math.ceil(Math.sqrt(order.length * 1.6)));
  const positions = new Map<string, Pos>();
  order.forEach((id, i) => positions.set(id, { x: (i % columns) * STEP_X, y: Math.floor(i / columns) * STEP_Y }));
  return normalise(positions);
}

function normalise(positions: Map<string, Pos>): Placed {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of positions.values()) {
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x + NODE_W);
    maxY = Math.max(maxY, p.y + NODE_H);
  }
  const out = new Map<string, Pos>();
  for (const [id, p] of positions) out.set(id, { x: p.x - minX, y: p.y - minY });
  return { positions: out, width: maxX - minX, height: maxY - minY };
}

function bounds(points: Iterable<Pos>): { minX: number; maxY: number } {
  let minX = Infinity;
  let maxY = -Infinity;
  for (const p of points) {
    minX = Math.min(minX, p.x);
    maxY = Math.max(maxY, p.y);
  }
  return { minX: Number.isFinite(minX) ? minX : 0, maxY: Number.isFinite(maxY) ? maxY : -STEP_Y };
}

/** Which places are taken, in a coarse spatial hash, for finding a free spot that overlaps nothing. */
class Occupancy {
  private cells = new Map<string, Pos[]>();
  constructor(points: Iterable<Pos>) {
    for (const p of points) this.add(p);
  }
  private key(cx: number, cy: number): string {
    return `${cx}:${cy}`;
  }
  add(p: Pos): void {
    const k = this.key(Math.floor(p.x / STEP_X), Math.floor(p.y / STEP_Y));
    const list = this.cells.get(k);
    if (list) list.push(p);
    else this.cells.set(k, [p]);
  }
  free(p: Pos): boolean {
    const cx = Math.floor(p.x / STEP_X);
    const cy = Math.floor(p.y / STEP_Y);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const q of this.cells.get(this.key(cx + dx, cy + dy)) ?? []) {
          if (Math.abs(q.x - p.x) < STEP_X - GAP_X / 2 && Math.abs(q.y - p.y) < STEP_Y - GAP_Y / 2) return false;
        }
      }
    }
    return true;
  }
  /** The nearest free spot around an anchor: right, below, above, left, then rings further out. */
  freeNear(anchor: Pos): Pos {
    for (let ring = 1; ring < 200; ring++) {
      for (let dy = -ring; dy <= ring; dy++) {
        for (const dx of [ring, -ring]) {
          const p = { x: anchor.x + dx * STEP_X, y: anchor.y + dy * STEP_Y };
          if (this.free(p)) return p;
        }
      }
      for (let dx = -ring + 1; dx < ring; dx++) {
        for (const dy of [ring, -ring]) {
          const p = { x: anchor.x + dx * STEP_X, y: anchor.y + dy * STEP_Y };
          if (this.free(p)) return p;
        }
      }
    }
    return { x: anchor.x, y: anchor.y + 200 * STEP_Y };
  }
  /** The first free spot in a row, left to right, then the rows below. */
  freeInRow(start: Pos): Pos {
    for (let row = 0; ; row++) {
      for (let i = 0; i < 40; i++) {
        const p = { x: start.x + i * STEP_X, y: start.y + row * STEP_Y };
        if (this.free(p)) return p;
      }
    }
  }
}
