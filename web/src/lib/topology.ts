// Lays out the cluster's topology for drawing: Gateways, then Services,
// then workloads, in columns left to right, each column sorted by name.

import type { Topology, TopologyNode } from "../clusterApi";

export interface Placed extends TopologyNode {
  x: number;
  y: number;
}

export interface Layout {
  nodes: Placed[];
  edges: { from: Placed; to: Placed; kind: string }[];
  width: number;
  height: number;
}

const column = (kind: string) => (kind === "Gateway" ? 0 : kind === "Service" ? 1 : 2);

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
  const edges = t.edges.flatMap((e) => {
    const from = byId.get(e.from);
    const to = byId.get(e.to);
    return from && to ? [{ from, to, kind: e.kind }] : [];
  });
  const width = Math.max(pad * 2, x - gapX + pad);
  return { nodes, edges, width, height: pad * 2 + Math.max(1, rows) * (nodeH + gapY) - gapY };
}
