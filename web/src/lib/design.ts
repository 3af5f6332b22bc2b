// Shapes a design's reference graph (GET /api/v1/designs/{ref}: graph,
// built by internal/design's BuildGraph) for drawing: each resource in a
// column by how far it is from what nothing refers to (a Route, then the
// Service it routes to, then the workload the Service selects, then what
// its pods mount), each column sorted by kind and name.
//
// The Cluster page's layout (lib/topology.ts) has three fixed columns by
// kind and pod counts on each box; a design's chains are of any length
// and its resources have no pods yet, so the columns here come from the
// edges. The boxes keep the Cluster page's size.

import type { components } from "../api.gen";
import { nodeH, nodeW } from "./topology";

export type DesignGraph = components["schemas"]["DesignGraph"];

/** A resource as Go's Resource.Ref names it: kind[.group]/[namespace/]name. */
export interface RefParts {
  kind: string;
  group: string;
  namespace: string;
  name: string;
}

export function parseRef(ref: string): RefParts {
  const parts = ref.split("/");
  const [kg, ...rest] = parts;
  const dot = kg.indexOf(".");
  const kind = dot < 0 ? kg : kg.slice(0, dot);
  const group = dot < 0 ? "" : kg.slice(dot + 1);
  if (rest.length >= 2) return { kind, group, namespace: rest[0], name: rest.slice(1).join("/") };
  return { kind, group, namespace: "", name: rest[0] ?? "" };
}

export interface DesignBox extends RefParts {
  id: string;
  col: number;
  x: number;
  y: number;
}

export interface DesignLayout {
  nodes: DesignBox[];
  edges: { from: DesignBox; to: DesignBox; why: string }[];
  width: number;
  height: number;
}

export { nodeH, nodeW };
const gapX = 70;
const gapY = 16;
const pad = 10;

/**
 * Positions each resource: column = the longest chain of references
 * leading to it (cycles, which a design may hold, are cut after as many
 * steps as there are resources). Edges to resources the design does not
 * hold (the graph's dangling) are not drawn.
 */
export function designLayout(g: DesignGraph): DesignLayout {
  const ids = [...new Set(g.nodes)];
  const known = new Set(ids);
  const edges = g.edges.filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to);
  const col = new Map(ids.map((id) => [id, 0]));
  for (let round = 0; round < ids.length; round++) {
    let changed = false;
    for (const e of edges) {
      const c = col.get(e.from)! + 1;
      if (c > col.get(e.to)! && c < ids.length) {
        col.set(e.to, c);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const cols: string[][] = [];
  for (const id of ids) (cols[col.get(id)!] ??= []).push(id);
  const byId = new Map<string, DesignBox>();
  const nodes: DesignBox[] = [];
  let rows = 0;
  let x = pad;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (!c) continue;
    const boxes = c.map((id) => ({ id, ...parseRef(id) }));
    boxes.sort((a, b) => a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    boxes.forEach((b, j) => {
      const p = { ...b, col: i, x, y: pad + j * (nodeH + gapY) };
      byId.set(b.id, p);
      nodes.push(p);
    });
    rows = Math.max(rows, c.length);
    x += nodeW + gapX;
  }
  return {
    nodes,
    edges: edges.map((e) => ({ from: byId.get(e.from)!, to: byId.get(e.to)!, why: e.why })),
    width: Math.max(pad * 2, x - gapX + pad),
    height: pad * 2 + Math.max(1, rows) * (nodeH + gapY) - gapY,
  };
}
