// The cluster endpoints (/api/v1/cluster/...): the live inventory of the
// Kubernetes cluster the server reads, and the mesh's traffic metrics.

import { api, ApiError } from "./api";
import type { components } from "./api.gen";

// Their types are generated from openapi.json (api.gen.ts), which a Go
// test keeps equal to the Go types: a field renamed in Go fails the type
// check here and in the pages that use it.
type Schemas = components["schemas"];

export type ClusterMesh = Schemas["Mesh"];
export type ClusterStatus = Schemas["ClusterStatus"];
export type ClusterWorkloads = Schemas["ClusterWorkloads"];
export type ClusterEvent = Schemas["ClusterEvent"];
export type ClusterEvents = Schemas["ClusterEvents"];
export type Topology = Schemas["Topology"];
export type TopologyNode = Schemas["TopologyNode"];
export type TopologyEdge = Schemas["TopologyEdge"];
/** One mesh's traffic over a window (meshmetrics.Report). */
export type TrafficReport = Schemas["Report"];
export type WorkloadTraffic = Schemas["WorkloadTraffic"];
export type ClusterMetrics = Schemas["ClusterMetrics"];

/** What the Cluster page shows: null when the server reads no cluster (503). */
export interface ClusterView {
  status: ClusterStatus;
  workloads: ClusterWorkloads;
  topology: Topology;
  events: ClusterEvent[];
  /** The mesh's traffic, or why there is none (no Prometheus configured). */
  traffic: TrafficReport[] | null;
  trafficNote?: string;
}

const enc = encodeURIComponent;

export async function loadCluster(namespace: string, signal?: AbortSignal): Promise<ClusterView | null> {
  const ns = namespace ? `?namespace=${enc(namespace)}` : "";
  let status: ClusterStatus;
  try {
    status = await api<ClusterStatus>("/api/v1/cluster", "GET", undefined, signal);
  } catch (e) {
    if (e instanceof ApiError && e.status === 503) return null;
    throw e;
  }
  const [workloads, topology, events] = await Promise.all([
    api<ClusterWorkloads>(`/api/v1/cluster/workloads${ns}`, "GET", undefined, signal),
    api<Topology>(`/api/v1/cluster/topology${ns}`, "GET", undefined, signal),
    api<ClusterEvents>("/api/v1/cluster/events?limit=50", "GET", undefined, signal),
  ]);
  let traffic: TrafficReport[] | null = null;
  let trafficNote: string | undefined;
  try {
    traffic = (await api<ClusterMetrics>(`/api/v1/cluster/metrics${ns}`, "GET", undefined, signal)).reports;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    trafficNote = e.message;
  }
  return { status, workloads, topology, events: events.events ?? [], traffic, trafficNote };
}

/** The cluster's mesh context a result recorded at its start (spec.MeshContext). */
export type MeshContext = Schemas["MeshContext"];
