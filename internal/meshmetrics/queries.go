package meshmetrics

// QuerySet names one mesh's Prometheus metrics and labels: which counter
// counts requests, which marks a success, which histogram holds latency,
// and which labels name the workloads at either end. It is data: adding a
// mesh whose proxies export to Prometheus is adding a QuerySet.
type QuerySet struct {
	// Mesh is the cluster rule's key (istio, linkerd, osm).
	Mesh string `json:"mesh"`
	// Requests is the counter of requests; Responses the counter the
	// Success matchers apply to ("" = Requests).
	Requests  string `json:"requests"`
	Responses string `json:"responses,omitempty"`
	Success   string `json:"success"`
	// Latency is the histogram of response latency (its _bucket series),
	// in LatencyUnitMs milliseconds per unit (1 for milliseconds).
	Latency       string  `json:"latency"`
	LatencyUnitMs float64 `json:"latencyUnitMs"`
	// Inbound selects the series a workload's own proxy reports about the
	// requests it receives; Namespace and Workload are their labels naming it.
	Inbound   string `json:"inbound"`
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	// Edge selects series naming both ends of a request: the destination
	// (EdgeNamespace, EdgeWorkload) and the source (SourceNamespace,
	// SourceWorkload).
	Edge            string `json:"edge"`
	EdgeNamespace   string `json:"edgeNamespace"`
	EdgeWorkload    string `json:"edgeWorkload"`
	SourceNamespace string `json:"sourceNamespace"`
	SourceWorkload  string `json:"sourceWorkload"`
	// EdgeSide is the proxy reporting Edge series: server (the
	// destination's) or client (the source's), as SMI's edge.side says.
	EdgeSide string `json:"edgeSide"`
	// WorkloadKinds are the workload kinds Workload names (Linkerd's
	// deployment label names Deployments only).
	WorkloadKinds []string `json:"workloadKinds"`
	// EdgeDerived are labels the edge queries make from another label's
	// value (PromQL's label_replace), for meshes that name an edge's
	// destination inside one label; EdgeNamespace and EdgeWorkload may
	// name them. EdgeDestinationKind is then the kind they name
	// ("Service"; "" for the workload kind).
	EdgeDerived         []Derived `json:"edgeDerived,omitempty"`
	EdgeDestinationKind string    `json:"edgeDestinationKind,omitempty"`
	// Service selects series naming the destination Service of a
	// request, ServiceNamespace and ServiceName its labels (or labels of
	// ServiceDerived), ServiceSide the proxy reporting them. "" when the
	// mesh's labels do not name Services.
	Service          string    `json:"service,omitempty"`
	ServiceNamespace string    `json:"serviceNamespace,omitempty"`
	ServiceName      string    `json:"serviceName,omitempty"`
	ServiceSide      string    `json:"serviceSide,omitempty"`
	ServiceDerived   []Derived `json:"serviceDerived,omitempty"`
}

// Derived is a label made from another: Label is Replacement ($1, $2...)
// when From's whole value matches Regex, and empty otherwise.
type Derived struct {
	Label       string `json:"label"`
	From        string `json:"from"`
	Regex       string `json:"regex"`
	Replacement string `json:"replacement"`
}

// QuerySets are the meshes whose standard Prometheus metrics meshperf reads.
var QuerySets = []QuerySet{
	{
		// Istio's standard metrics, as every sidecar (and ztunnel/waypoint)
		// reports them; the destination's own report counts each request once.
		Mesh:     "istio",
		Requests: "istio_requests_total", Success: `response_code!~"5.."`,
		Latency: "istio_request_duration_milliseconds_bucket", LatencyUnitMs: 1,
		Inbound:   `reporter="destination"`,
		Namespace: "destination_workload_namespace", Workload: "destination_workload",
		Edge:          `reporter="destination"`,
		EdgeNamespace: "destination_workload_namespace", EdgeWorkload: "destination_workload",
		SourceNamespace: "source_workload_namespace", SourceWorkload: "source_workload",
		EdgeSide:      "server",
		WorkloadKinds: []string{"Deployment", "StatefulSet", "DaemonSet"},
		// The destination's report names the Service the client addressed.
		Service:          `reporter="destination"`,
		ServiceNamespace: "destination_service_namespace", ServiceName: "destination_service_name",
		ServiceSide: "server",
	},
	{
		// Linkerd's proxy metrics: inbound series about the workload's own
		// traffic; outbound series (dst_*) for edges, from the source's proxy.
		Mesh:     "linkerd",
		Requests: "request_total", Responses: "response_total", Success: `classification="success"`,
		Latency: "response_latency_ms_bucket", LatencyUnitMs: 1,
		Inbound:   `direction="inbound"`,
		Namespace: "namespace", Workload: "deployment",
		Edge:          `direction="outbound"`,
		EdgeNamespace: "dst_namespace", EdgeWorkload: "dst_deployment",
		SourceNamespace: "namespace", SourceWorkload: "deployment",
		EdgeSide:      "client",
		WorkloadKinds: []string{"Deployment"},
		// Outbound series carry the destination's Service (dst_service)
		// when the client addressed one.
		Service:          `direction="outbound"`,
		ServiceNamespace: "dst_namespace", ServiceName: "dst_service",
		ServiceSide: "client",
	},
	{
		// Open Service Mesh: Envoy's standard cluster stats as Prometheus
		// names them (envoy_cluster_upstream_rq_total, _rq_xx by
		// envoy_response_code_class, the _rq_time histogram in ms, each
		// with envoy_cluster_name), tagged by OSM with the reporting
		// proxy's own workload (source_namespace, source_workload_name).
		// A workload's inbound requests are those of its local clusters,
		// "ns/svc|port|local"; its outbound clusters, "ns/svc|port", name
		// the destination Service, so an edge ends at a Service.
		Mesh:     "osm",
		Requests: "envoy_cluster_upstream_rq_total", Responses: "envoy_cluster_upstream_rq_xx", Success: `envoy_response_code_class!="5"`,
		Latency: "envoy_cluster_upstream_rq_time_bucket", LatencyUnitMs: 1,
		Inbound:   `envoy_cluster_name=~".+[|]local"`,
		Namespace: "source_namespace", Workload: "source_workload_name",
		Edge:          `envoy_cluster_name!~".+[|]local"`,
		EdgeNamespace: "meshperf_dst_namespace", EdgeWorkload: "meshperf_dst_service",
		SourceNamespace: "source_namespace", SourceWorkload: "source_workload_name",
		EdgeSide:      "client",
		WorkloadKinds: []string{"Deployment", "StatefulSet", "DaemonSet"},
		EdgeDerived: []Derived{
			{Label: "meshperf_dst_namespace", From: "envoy_cluster_name", Regex: `([^/|]+)/([^/|]+)[|][0-9]+`, Replacement: "$1"},
			{Label: "meshperf_dst_service", From: "envoy_cluster_name", Regex: `([^/|]+)/([^/|]+)[|][0-9]+`, Replacement: "$2"},
		},
		EdgeDestinationKind: "Service",
		// A Service's traffic: every client's outbound cluster for it.
		Service:          `envoy_cluster_name!~".+[|]local"`,
		ServiceNamespace: "meshperf_dst_namespace", ServiceName: "meshperf_dst_service",
		ServiceSide: "client",
		ServiceDerived: []Derived{
			{Label: "meshperf_dst_namespace", From: "envoy_cluster_name", Regex: `([^/|]+)/([^/|]+)[|][0-9]+`, Replacement: "$1"},
			{Label: "meshperf_dst_service", From: "envoy_cluster_name", Regex: `([^/|]+)/([^/|]+)[|][0-9]+`, Replacement: "$2"},
		},
	},
}

// QuerySetFor returns the query set of mesh; false when meshperf has none.
func QuerySetFor(mesh string) (QuerySet, bool) {
	for _, q := range QuerySets {
		if q.Mesh == mesh {
			return q, true
		}
	}
	return QuerySet{}, false
}
