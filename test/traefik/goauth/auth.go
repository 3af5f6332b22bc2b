// Package auth is meshperf's stand-in for the parts of go-http-auth that traefik
// v3 calls (see go.mod). It accepts no credentials: CheckSecret is always false
// and DigestAuth.CheckAuth never names a user, so traefik's basic and digest
// auth middlewares answer every request with 401 and a challenge.
package auth

import (
	"net/http"
	"strconv"
	"strings"
)

// SecretProvider returns the stored secret of user in realm, "" if none.
type SecretProvider func(user, realm string) string

// BasicAuth answers HTTP Basic authentication challenges.
type BasicAuth struct {
	Realm   string
	Secrets SecretProvider
}

// RequireAuth writes a 401 with a Basic challenge for the realm.
func (a *BasicAuth) RequireAuth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("WWW-Authenticate", "Basic realm="+strconv.Quote(a.Realm))
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

// CheckSecret reports whether password matches the stored secret. The
// stand-in verifies no hash format and so never matches.
func CheckSecret(_, _ string) bool { return false }

// DigestAuth answers HTTP Digest authentication challenges.
type DigestAuth struct {
	Realm   string
	Secrets SecretProvider
}

// NewDigestAuthenticator returns a DigestAuth for realm.
func NewDigestAuthenticator(realm string, secrets SecretProvider) *DigestAuth {
	return &DigestAuth{Realm: realm, Secrets: secrets}
}

// CheckAuth returns the authenticated user and extra information; the
// stand-in authenticates nobody, so the user is always "" and the
// information nil.
func (a *DigestAuth) CheckAuth(_ *http.Request) (string, *string) { return "", nil }

// RequireAuth writes a 401 with a Digest challenge for the realm.
func (a *DigestAuth) RequireAuth(w http.ResponseWriter, r *http.Request) { a.challenge(w, false) }

// RequireAuthStale writes a 401 with a Digest challenge marked stale.
func (a *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) { a.challenge(w, true) }

func (a *DigestAuth) challenge(w http.ResponseWriter, stale bool) {
	h := "Digest realm=" + strconv.Quote(a.Realm) + `, algorithm=MD5, qop="auth"`
	if stale {
		h += ", stale=true"
	}
	w.Header().Set("WWW-Authenticate", h)
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

// DigestAuthParams parses the parameters of a "Digest k=v, k2="v2"" header
// value; it returns nil for any other scheme. Traefik reads "username" from
// it for its access log.
func DigestAuthParams(authorization string) map[string]string {
	scheme, rest, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return nil
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		params[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return params
}
