// Package routes binds the API's routes to the Go types of their bodies
// (internal/api) for the test that keeps openapi.json equal to them. It is
// apart from package api because it names domain types (an experiment's
// report, a comparison) whose packages a client should not have to link.
package routes

import (
	"net/http"
	"reflect"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/internal/conformance/result"
	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/experiment"
	"github.com/meshperf/meshperf/internal/report"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// Operation is one route of the API with a JSON body: the Go types of its
// request and its answer (nil when it has no JSON body) and the answer's
// status. openapi.json's schemas of the route are those of these types.
type Operation struct {
	Method   string
	Path     string // as openapi.json writes it, with {parameters}
	Request  reflect.Type
	Status   int
	Response reflect.Type
}

func op(method, path string, req reflect.Type, status int, resp reflect.Type) Operation {
	return Operation{Method: method, Path: path, Request: req, Status: status, Response: resp}
}

func typ[T any]() reflect.Type { return reflect.TypeFor[T]() }

// Operations lists every route whose request or answer is JSON. A route of
// openapi.json with a JSON body that is not here fails the schema test.
var Operations = []Operation{
	op(http.MethodGet, "/api/v1/agents", nil, http.StatusOK, typ[api.AgentList]()),
	op(http.MethodGet, "/api/v1/info", nil, http.StatusOK, typ[api.Info]()),

	// The cluster's views are internal/server's: they are made of
	// internal/cluster's types, which a client should not have to link.
	op(http.MethodGet, "/api/v1/cluster", nil, http.StatusOK, typ[server.ClusterStatus]()),
	op(http.MethodGet, "/api/v1/cluster/meshes", nil, http.StatusOK, typ[server.ClusterMeshes]()),
	op(http.MethodGet, "/api/v1/cluster/workloads", nil, http.StatusOK, typ[server.ClusterWorkloads]()),
	op(http.MethodGet, "/api/v1/cluster/topology", nil, http.StatusOK, typ[cluster.Topology]()),
	op(http.MethodGet, "/api/v1/cluster/events", nil, http.StatusOK, typ[server.ClusterEvents]()),
	op(http.MethodGet, "/api/v1/cluster/metrics", nil, http.StatusOK, typ[server.ClusterMetrics]()),

	op(http.MethodGet, "/api/v1/profiles", nil, http.StatusOK, typ[api.ProfileList]()),
	op(http.MethodPost, "/api/v1/profiles", typ[spec.Profile](), http.StatusCreated, typ[api.ProfileView]()),
	op(http.MethodGet, "/api/v1/profiles/{ref}", nil, http.StatusOK, typ[api.ProfileView]()),
	op(http.MethodPut, "/api/v1/profiles/{ref}", typ[spec.Profile](), http.StatusOK, typ[api.ProfileView]()),
	op(http.MethodGet, "/api/v1/profiles/{ref}/revisions", nil, http.StatusOK, typ[api.ProfileRevisions]()),

	op(http.MethodGet, "/api/v1/designs", nil, http.StatusOK, typ[api.DesignList]()),
	op(http.MethodPost, "/api/v1/designs", typ[api.DesignRequest](), http.StatusCreated, typ[api.DesignView]()),
	op(http.MethodGet, "/api/v1/designs/{ref}", nil, http.StatusOK, typ[api.DesignView]()),
	op(http.MethodPut, "/api/v1/designs/{ref}", typ[api.DesignRequest](), http.StatusOK, typ[api.DesignView]()),
	op(http.MethodGet, "/api/v1/designs/{ref}/revisions", nil, http.StatusOK, typ[api.DesignRevisions]()),

	op(http.MethodGet, "/api/v1/results", nil, http.StatusOK, typ[store.Page]()),
	op(http.MethodGet, "/api/v1/results/{id}", nil, http.StatusOK, typ[spec.Result]()),
	op(http.MethodGet, "/api/v1/results/{id}/verdicts", nil, http.StatusOK, typ[api.VerdictsResponse]()),
	op(http.MethodPost, "/api/v1/compare", typ[api.CompareRequest](), http.StatusOK, typ[report.Comparison]()),

	op(http.MethodGet, "/api/v1/experiments", nil, http.StatusOK, typ[api.ExperimentList]()),
	op(http.MethodGet, "/api/v1/experiments/{id}", nil, http.StatusOK, typ[experiment.Report]()),

	op(http.MethodPost, "/api/v1/runs", typ[api.RunRequest](), http.StatusAccepted, typ[store.Run]()),
	op(http.MethodGet, "/api/v1/runs", nil, http.StatusOK, typ[store.RunPage]()),
	op(http.MethodGet, "/api/v1/runs/{id}", nil, http.StatusOK, typ[store.Run]()),
	op(http.MethodPost, "/api/v1/runs/{id}/cancel", nil, http.StatusAccepted, typ[store.Run]()),
	op(http.MethodPost, "/api/v1/capacity", typ[api.CapacityRequest](), http.StatusAccepted, typ[store.Run]()),
	op(http.MethodGet, "/api/v1/capacity", nil, http.StatusOK, typ[api.CapacityList]()),
	op(http.MethodGet, "/api/v1/capacity/{id}", nil, http.StatusOK, typ[api.CapacityView]()),
	op(http.MethodPost, "/api/v1/conformance", typ[api.ConformanceRequest](), http.StatusAccepted, typ[store.Run]()),
	op(http.MethodGet, "/api/v1/conformance", nil, http.StatusOK, typ[api.ConformanceList]()),
	op(http.MethodGet, "/api/v1/conformance/matrix", nil, http.StatusOK, typ[api.ConformanceMatrix]()),
	op(http.MethodGet, "/api/v1/conformance/{id}", nil, http.StatusOK, typ[api.ConformanceView]()),

	op(http.MethodPost, "/api/v1/auth/login", typ[api.LoginRequest](), http.StatusOK, typ[api.TokenResponse]()),
	op(http.MethodPost, "/api/v1/auth/refresh", typ[api.RefreshRequest](), http.StatusOK, typ[api.TokenResponse]()),
	op(http.MethodPost, "/api/v1/auth/logout", typ[api.RefreshRequest](), http.StatusNoContent, nil),
	op(http.MethodGet, "/api/v1/me", nil, http.StatusOK, typ[api.Me]()),
	op(http.MethodGet, "/api/v1/tokens", nil, http.StatusOK, typ[api.TokenList]()),
	op(http.MethodPost, "/api/v1/tokens", typ[api.TokenRequest](), http.StatusCreated, typ[api.TokenCreated]()),
	op(http.MethodGet, "/api/v1/users", nil, http.StatusOK, typ[api.UserList]()),
	op(http.MethodPost, "/api/v1/users", typ[api.UserRequest](), http.StatusCreated, typ[auth.User]()),

	op(http.MethodPost, "/api/v1/schedules", typ[api.ScheduleRequest](), http.StatusCreated, typ[api.ScheduleView]()),
	op(http.MethodGet, "/api/v1/schedules", nil, http.StatusOK, typ[api.ScheduleList]()),
	op(http.MethodGet, "/api/v1/schedules/{id}", nil, http.StatusOK, typ[api.ScheduleView]()),
	op(http.MethodPut, "/api/v1/schedules/{id}", typ[api.ScheduleRequest](), http.StatusOK, typ[api.ScheduleView]()),
	op(http.MethodPost, "/api/v1/schedules/{id}/run", nil, http.StatusAccepted, typ[store.Run]()),
}

// Bodies are the types of bodies not tied to one JSON route: the error
// every route may answer with, and the messages of a run's event stream
// (GET /api/v1/runs/{id}/events, text/event-stream).
var Bodies = []reflect.Type{typ[api.ErrorBody](), typ[api.Event]()}

// Names gives the components whose Go type name says too little their
// name in openapi.json.
var Names = map[reflect.Type]string{
	typ[store.Page]():            "ResultPage",
	typ[experiment.Report]():     "ExperimentReport",
	typ[api.ErrorBody]():         "Error",
	typ[api.Error]():             "ErrorDetail",
	typ[api.GeneratorInfo]():     "AvailableGenerator",
	typ[cluster.Event]():         "ClusterEvent",
	typ[capacity.Report]():       "CapacityReport",
	typ[capacity.Step]():         "CapacityStep",
	typ[design.Resource]():       "DesignResource",
	typ[design.Chart]():          "DesignChart",
	typ[design.Note]():           "DesignNote",
	typ[design.Graph]():          "DesignGraph",
	typ[design.Edge]():           "DesignEdge",
	typ[design.Design]():         "DesignDocument",
	typ[result.Result]():         "ConformanceResult",
	typ[result.TestResult]():     "ConformanceTest",
	typ[result.Counts]():         "ConformanceCounts",
	typ[result.Implementation](): "ConformanceImplementation",
	typ[result.Status]():         "ConformanceStatus",
}

// Fixed are the schemas of the types in API bodies that write their own
// JSON.
var Fixed = map[reflect.Type]map[string]any{
	typ[spec.Duration](): {"type": "string", "description": "a Go duration, e.g. 1m30s"},
}
