// A stand-in for github.com/abbot/go-http-auth as traefik v3 uses it (through its
// replace by github.com/containous/go-http-auth, which the module proxy refuses:
// 403). It serves traefik's BasicAuth and DigestAuth middlewares only so that
// traefik links; it fails closed: no password is ever accepted, every request
// those middlewares guard gets 401. The Gateway API suite does not use them.
module github.com/abbot/go-http-auth

go 1.24.0
