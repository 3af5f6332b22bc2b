package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Access tokens are JWTs (RFC 7519) signed with HMAC-SHA256, holding only
// standard claims; the user's name and role are read from the store on each
// request, so a deleted or demoted user loses access at once.

const (
	jwtIssuer   = "meshperf"
	jwtAudience = "meshperf"
	// clockLeeway absorbs clock skew between server replicas.
	clockLeeway = 30 * time.Second
	// maxTokenLen bounds the work done on a presented token.
	maxTokenLen = 4096
)

// b64 is the JWT encoding: base64url without padding. Strict rejects
// non-zero padding bits, so that each token has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// jwtHeader is the header of every access token.
var jwtHeader = b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

type claims struct {
	Issuer    string          `json:"iss"`
	Audience  json.RawMessage `json:"aud"` // a string or an array of strings
	Subject   string          `json:"sub"`
	IssuedAt  int64           `json:"iat"`
	NotBefore int64           `json:"nbf"`
	Expires   int64           `json:"exp"`
}

// signJWT returns an access token for the user, valid from now for ttl.
func signJWT(key []byte, userID string, now time.Time, ttl time.Duration) string {
	aud, _ := json.Marshal(jwtAudience)
	payload, _ := json.Marshal(claims{ // cannot fail: plain strings and numbers
		Issuer:    jwtIssuer,
		Audience:  aud,
		Subject:   userID,
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		Expires:   now.Add(ttl).Unix(),
	})
	signed := jwtHeader + "." + b64.EncodeToString(payload)
	return signed + "." + b64.EncodeToString(jwtMAC(key, signed))
}

func jwtMAC(key []byte, signed string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signed))
	return mac.Sum(nil)
}

// verifyJWT checks an access token and returns its subject, the user ID.
// Errors wrap ErrTokenExpired or ErrUnauthenticated.
func verifyJWT(key []byte, token string, now time.Time) (string, error) {
	if len(token) > maxTokenLen {
		return "", fmt.Errorf("%w: token too long", ErrUnauthenticated)
	}
	head, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return "", fmt.Errorf("%w: access token is not a JWT (want three dot-separated parts)", ErrUnauthenticated)
	}

	// Only HS256: never "none", and never an algorithm chosen by the token.
	rawHead, err := b64.DecodeString(head)
	if err != nil {
		return "", fmt.Errorf("%w: access token header is not base64url", ErrUnauthenticated)
	}
	var h struct {
		Alg  string   `json:"alg"`
		Typ  string   `json:"typ"`
		Crit []string `json:"crit"`
	}
	if err := strictUnmarshal(rawHead, &h); err != nil {
		return "", fmt.Errorf("%w: access token header is not a JSON object", ErrUnauthenticated)
	}
	if h.Alg != "HS256" {
		return "", fmt.Errorf("%w: access token algorithm is not HS256", ErrUnauthenticated)
	}
	if (h.Typ != "" && h.Typ != "JWT") || h.Crit != nil {
		return "", fmt.Errorf("%w: access token header has unsupported fields", ErrUnauthenticated)
	}

	gotMAC, err := b64.DecodeString(sig)
	if err != nil {
		return "", fmt.Errorf("%w: access token signature is not base64url", ErrUnauthenticated)
	}
	if !hmac.Equal(gotMAC, jwtMAC(key, token[:len(head)+1+len(payload)])) {
		return "", fmt.Errorf("%w: access token signature does not match", ErrUnauthenticated)
	}

	// The signature is ours from here on; the checks below are for tokens we
	// issued that are no longer valid, or that a future version issued.
	rawPayload, err := b64.DecodeString(payload)
	if err != nil {
		return "", fmt.Errorf("%w: access token payload is not base64url", ErrUnauthenticated)
	}
	var c claims
	if err := strictUnmarshal(rawPayload, &c); err != nil {
		return "", fmt.Errorf("%w: access token claims are not valid JSON", ErrUnauthenticated)
	}
	switch {
	case c.Issuer != jwtIssuer:
		return "", fmt.Errorf("%w: access token issuer is not %q", ErrUnauthenticated, jwtIssuer)
	case !hasAudience(c.Audience, jwtAudience):
		return "", fmt.Errorf("%w: access token audience is not %q", ErrUnauthenticated, jwtAudience)
	case c.Subject == "":
		return "", fmt.Errorf("%w: access token has no subject", ErrUnauthenticated)
	case c.Expires == 0 || c.IssuedAt == 0:
		return "", fmt.Errorf("%w: access token lacks exp or iat", ErrUnauthenticated)
	}
	leeway := int64(clockLeeway / time.Second)
	t := now.Unix()
	switch {
	case t >= c.Expires+leeway:
		return "", fmt.Errorf("access token: %w", ErrTokenExpired)
	case c.NotBefore != 0 && t < c.NotBefore-leeway, t < c.IssuedAt-leeway:
		return "", fmt.Errorf("%w: access token is not valid yet (check the server clock)", ErrUnauthenticated)
	}
	return c.Subject, nil
}

// strictUnmarshal decodes one JSON object, with nothing after it.
func strictUnmarshal(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(v); err != nil {
		return err
	}
	if err := d.Decode(new(json.RawMessage)); err != io.EOF {
		return errors.New("data after JSON value")
	}
	return nil
}

func hasAudience(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, want)
}
