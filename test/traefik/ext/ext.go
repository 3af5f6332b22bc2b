// Package ext holds the extension points traefik's dynamic configuration embeds
// (dynamic.HTTPConfiguration and dynamic.Router). Open-source traefik leaves them
// empty; so does this stand-in. See go.mod.
package ext

// HTTP is embedded in traefik's dynamic.HTTPConfiguration.
type HTTP struct{}

// Router is embedded in traefik's dynamic.Router.
type Router struct{}
