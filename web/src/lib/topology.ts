// Lays out the cluster's topology for drawing: Gateways (and traffic from
// outside the mesh), then Services, then workloads, in columns left to
// right, each column sorted by name; and the path of each edge.

import type { Topology, TopologyEdge, TopologyNode } from "../clusterApi";

export interface Placed extends TopologyNode {
  x: number;
  y: number;
}

export interface PlacedEdge extends Omit<TopologyEdge, "from" | "to"> {
  from: Placed;
  to: Placed;
  /** Traffic the mesh saw (kind "traffic"), not a route or selector. */
  traffic: boolean;
  /** The SVG path, and where its label goes. */
  d: string;
  mid: { x: number; y: number };
}

export interface Layout {
  nodes: Placed[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

const column = (kind: string) => (kind === "Gateway" || kind === "External" ? 0 : kind === "Service" ? 1 : 2);

/** How far an edge between two nodes of one column bulges to their right. */
export const bulge = 70;

export const nodeW = 190;
export const nodeH = 44;
const gapX = 90;
const gapY = 16;
const pad = 10;

/** Positions each node; edges whose ends are not both drawn are left out. */
export function layout(t: Topology): Layout {
  const cols: TopologyNode[][] = [[], [], []];
  for (const n of t.nodes) cols[column(n.kind)].push(n);
  const used = cols.map((c) => c.length > 0);
  const xOf: number[] = [];
  let x = pad;
  for (let i = 0; i < 3; i++) {
    xOf.push(x);
    if (used[i]) x += nodeW + gapX;
  }
  const byId = new Map<string, Placed>();
  const nodes: Placed[] = [];
  let rows = 0;
  cols.forEach((c, i) => {
    [...c]
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
      .forEach((n, j) => {
        const p = { ...n, x: xOf[i], y: pad + j * (nodeH + gapY) };
        byId.set(n.id, p);
        nodes.push(p);
      });
    rows = Math.max(rows, c.length);
  });
  let sameColumn = false;
  const edges = t.edges.flatMap((e): PlacedEdge[] => {
    const from = byId.get(e.from);
    const to = byId.get(e.to);
    if (!from || !to) return [];
    const p = path(from, to);
    if (from.x === to.x && from.id !== to.id) sameColumn = true;
    return [{ ...e, from, to, traffic: e.kind === "traffic", ...p }];
  });
  const width = Math.max(pad * 2, x - gapX + pad + (sameColumn ? bulge : 0));
  return { nodes, edges, width, height: pad * 2 + Math.max(1, rows) * (nodeH + gapY) - gapY };
}

/** An edge's path: rightwards from the right side of its source, leftwards
 *  from its left side, a bulge to the right within a column, a loop on one node. */
function path(from: Placed, to: Placed): { d: string; mid: { x: number; y: number } } {
  const y1 = from.y + nodeH / 2;
  const y2 = to.y + nodeH / 2;
  if (from.id === to.id) {
    const x = from.x + nodeW;
    return { d: `M ${x} ${y1 - 8} c 30 -20 30 36 0 16`, mid: { x: x + 24, y: y1 } };
  }
  if (from.x === to.x) {
    const x = from.x + nodeW;
    return { d: `M ${x} ${y1} C ${x + bulge} ${y1}, ${x + bulge} ${y2}, ${x} ${y2}`, mid: { x: x + bulge * 0.75, y: (y1 + y2) / 2 } };
  }
  const [x1, x2, c] = to.x > from.x ? [from.x + nodeW, to.x, 45] : [from.x, to.x + nodeW, -45];
  return { d: `M ${x1} ${y1} C ${x1 + c} ${y1}, ${x2 - c} ${y2}, ${x2} ${y2}`, mid: { x: (x1 + x2) / 2, y: (y1 + y2) / 2 } };
}
