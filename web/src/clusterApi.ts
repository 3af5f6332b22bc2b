// The cluster endpoints (/api/v1/cluster/...): the live inventory of the
// Kubernetes cluster the server reads, and the mesh's traffic metrics.

import { api, ApiError } from "./api";

export interface ClusterComponent { kind: string; namespace: string; name: string; image: string; version?: string; desired: number; ready: number }
export interface ClusterMesh {
  mesh: string;
  name: string;
  version?: string;
  modes?: string[];
  mtls?: string;
  healthy: boolean;
  components?: ClusterComponent[];
  crds?: string[];
  injectedNamespaces?: string[];
  podsWithProxy: number;
  podsAmbient?: number;
  proxyVersions?: string[];
}
export interface ClusterDenied { resource: string; verb: string; message: string }
export interface ClusterCRD { name: string; group: string; kind: string; versions: string[]; storage: string }
export interface ClusterCoverage { pods: number; withProxy: number; ambient: number; withoutProxy: number; injectedNamespaces: number; namespaces: number }
export interface ClusterNamespace { name: string; injection?: string[]; meshes?: string[]; ambient?: boolean }
export interface ClusterRoute { kind: string; namespace: string; name: string; parents: string[]; gamma: boolean; backends?: string[] }
export interface ClusterStatus {
  synced: boolean;
  pending?: ClusterDenied[];
  time: string;
  seq: number;
  server: string;
  meshes: ClusterMesh[];
  gatewayAPI?: { version?: string; channel?: string; crds: ClusterCRD[] };
  smi?: ClusterCRD[];
  coverage: ClusterCoverage;
  namespaces: ClusterNamespace[];
  routes: ClusterRoute[];
  unreadable?: ClusterDenied[];
}
export interface ClusterProxy { container: string; image: string; version?: string; native: boolean; requests?: Record<string, string>; limits?: Record<string, string> }
export interface ClusterWorkload { kind: string; namespace: string; name: string; desired: number; ready: number; images: string[]; pods: number; meshed: number; mesh?: string; mtls?: string }
export interface ClusterPod { namespace: string; name: string; owner?: string; phase?: string; mesh?: string; ambient?: boolean; proxy?: ClusterProxy }
export interface ClusterService { namespace: string; name: string; type: string; ports?: string[]; clusterIPs?: string[] }
export interface ClusterWorkloads { namespace?: string; services: ClusterService[]; workloads: ClusterWorkload[]; pods: ClusterPod[] }
export interface TopologyNode { id: string; kind: string; namespace: string; name: string; mesh?: string; pods: number; meshed: number }
export interface TopologyEdge { from: string; to: string; kind: string }
export interface Topology { nodes: TopologyNode[]; edges: TopologyEdge[] }
export interface ClusterEvent { seq: number; time: string; type: string; resource?: string; namespace?: string; name?: string; mesh?: string; from?: string; to?: string }

export interface TrafficFigures {
  requestRate: number | null;
  successRate: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  missing?: string[];
}
export interface TrafficReport {
  mesh: string;
  source: string;
  window: string;
  at: string;
  workloads: ({ kind: string; namespace: string; name: string } & TrafficFigures)[];
  missing?: string;
}

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
    api<{ events: ClusterEvent[] }>("/api/v1/cluster/events?limit=50", "GET", undefined, signal),
  ]);
  let traffic: TrafficReport[] | null = null;
  let trafficNote: string | undefined;
  try {
    traffic = (await api<{ reports: TrafficReport[] }>(`/api/v1/cluster/metrics${ns}`, "GET", undefined, signal)).reports;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    trafficNote = e.message;
  }
  return { status, workloads, topology, events: events.events ?? [], traffic, trafficNote };
}

/** The cluster's mesh context a result recorded at its start (spec.MeshContext). */
export interface MeshContext {
  cluster?: string;
  time: string;
  meshes?: { mesh: string; name?: string; version?: string; modes?: string[]; mtls?: string; healthy: boolean; smp_type?: number }[];
  targets?: {
    url: string;
    namespace?: string;
    service?: string;
    mesh?: string;
    mesh_version?: string;
    mode?: string;
    injection?: string[];
    pods: number;
    meshed: number;
    proxy?: { container: string; image: string; version?: string; native?: boolean; requests?: Record<string, string>; limits?: Record<string, string> };
    mtls?: string;
    note?: string;
    workloads?: string[];
    traffic?: {
      workload: string;
      source: string;
      start: string;
      end: string;
      request_rate: number | null;
      success_rate: number | null;
      p50_ms: number | null;
      p90_ms: number | null;
      p99_ms: number | null;
      missing?: string[];
    }[];
  }[];
  error?: string;
}
