// A stand-in for github.com/lucas-clemente/quic-go as Traefik v2.8.3 uses it
// (its pkg/server/server_entrypoint_tcp_http3.go imports only http3.Server).
// The release Traefik v2.8.3 requires, quic-go v0.28.1, refuses to compile
// with Go 1.20 and later (its internal/qtls/go120.go is a deliberate type
// error), and no lucas-clemente/quic-go release builds with this Go
// (1.26). Traefik starts an HTTP/3 server only on an entry point configured
// with http3, which Traefik Mesh's proxies never are; the stand-in's
// server refuses to serve, so such a configuration fails at start, loudly.
module github.com/lucas-clemente/quic-go

go 1.24.0
