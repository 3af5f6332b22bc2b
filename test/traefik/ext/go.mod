// A stand-in for traefik's nested module github.com/traefik/traefik/dynamic/ext
// (pkg/config/dynamic/ext in traefik's repository). traefik v3's go.mod replaces it
// with that local directory, which the module proxy neither ships inside the v3 zip
// nor serves on its own (403), so this wrapper supplies it. Upstream it is two empty
// extension points; they are empty here too.
module github.com/traefik/traefik/dynamic/ext

go 1.24.0
