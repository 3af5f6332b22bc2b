package server

import (
	_ "embed"
	"net/http"
)

// openAPIDoc describes the API. TestOpenAPIMatchesRoutes keeps its paths
// equal to the routes, and TestOpenAPISchemas its schemas equal to the Go
// types of internal/api, field by field; go generate writes the schemas
// from those types (then cd web && npm run gen:api for the UI's types).
//
//go:generate go test -count=1 -run TestOpenAPISchemas$ -update .
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
	return nil
}
