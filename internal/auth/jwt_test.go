package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"testing"
	"time"
)

// makeJWT builds a token from raw JSON, signed with HMAC over key using h.
func makeJWT(h func() hash.Hash, key []byte, header, payload string) string {
	signed := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	mac := hmac.New(h, key)
	mac.Write([]byte(signed))
	return signed + "." + b64.EncodeToString(mac.Sum(nil))
}

func TestForgedTokens(t *testing.T) {
	f := newFixture(t)
	valid := f.login(t, "alice").AccessToken
	head, payload, sig := splitJWT(t, valid)
	now := f.clock.Now().Unix()
	claims := func(iss, aud, sub string) string {
		return fmt.Sprintf(`{"iss":%q,"aud":%s,"sub":%q,"iat":%d,"nbf":%d,"exp":%d}`, iss, aud, sub, now, now, now+60)
	}
	good := claims("meshperf", `"meshperf"`, f.alice.ID)
	hs256 := `{"alg":"HS256","typ":"JWT"}`
	otherKey := []byte("another key of at least 32 bytes!")
	// Flip the low bits of the last character, which a lax decoder ignores.
	lastChar := sig[len(sig)-1]
	laxSig := sig[:len(sig)-1] + string(base64URLAlphabet[strings.IndexByte(base64URLAlphabet, lastChar)^1])

	tests := []struct {
		name  string
		token string
		want  error // nil: accepted as alice
	}{
		{"valid", valid, nil},
		{"rebuilt by the test", makeJWT(sha256.New, testKey, hs256, good), nil},
		{"audience list", makeJWT(sha256.New, testKey, hs256, claims("meshperf", `["other","meshperf"]`, f.alice.ID)), nil},
		{"header without typ", makeJWT(sha256.New, testKey, `{"alg":"HS256"}`, good), nil},

		{"altered payload", head + "." + b64.EncodeToString([]byte(claims("meshperf", `"meshperf"`, f.admin.ID))) + "." + sig, ErrUnauthenticated},
		{"altered signature", head + "." + payload + "." + flipFirst(sig), ErrUnauthenticated},
		{"non-canonical signature encoding", head + "." + payload + "." + laxSig, ErrUnauthenticated},
		{"signature padded", valid + "=", ErrUnauthenticated},
		{"no signature", head + "." + payload + ".", ErrUnauthenticated},
		{"alg none", b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload + ".", ErrUnauthenticated},
		{"alg none with signature", b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + payload + "." + sig, ErrUnauthenticated},
		{"alg None", makeJWT(sha256.New, testKey, `{"alg":"None"}`, good), ErrUnauthenticated},
		{"alg hs256", makeJWT(sha256.New, testKey, `{"alg":"hs256"}`, good), ErrUnauthenticated},
		{"alg HS512 signed HS512", makeJWT(sha512.New, testKey, `{"alg":"HS512"}`, good), ErrUnauthenticated},
		{"alg HS512 signed HS256", makeJWT(sha256.New, testKey, `{"alg":"HS512"}`, good), ErrUnauthenticated},
		{"alg RS256 signed with HMAC", makeJWT(sha256.New, testKey, `{"alg":"RS256","typ":"JWT"}`, good), ErrUnauthenticated},
		{"no alg", makeJWT(sha256.New, testKey, `{"typ":"JWT"}`, good), ErrUnauthenticated},
		{"crit header", makeJWT(sha256.New, testKey, `{"alg":"HS256","crit":["exp"]}`, good), ErrUnauthenticated},
		{"header not JSON", makeJWT(sha256.New, testKey, `HS256`, good), ErrUnauthenticated},
		{"header with trailing data", makeJWT(sha256.New, testKey, hs256+`{}`, good), ErrUnauthenticated},
		{"another key", makeJWT(sha256.New, otherKey, hs256, good), ErrUnauthenticated},
		{"empty key", makeJWT(sha256.New, nil, hs256, good), ErrUnauthenticated},
		{"wrong issuer", makeJWT(sha256.New, testKey, hs256, claims("evil", `"meshperf"`, f.alice.ID)), ErrUnauthenticated},
		{"wrong audience", makeJWT(sha256.New, testKey, hs256, claims("meshperf", `"grafana"`, f.alice.ID)), ErrUnauthenticated},
		{"audience list without us", makeJWT(sha256.New, testKey, hs256, claims("meshperf", `["grafana"]`, f.alice.ID)), ErrUnauthenticated},
		{"no audience", makeJWT(sha256.New, testKey, hs256, claims("meshperf", `null`, f.alice.ID)), ErrUnauthenticated},
		{"no subject", makeJWT(sha256.New, testKey, hs256, claims("meshperf", `"meshperf"`, "")), ErrUnauthenticated},
		{"no exp", makeJWT(sha256.New, testKey, hs256, fmt.Sprintf(`{"iss":"meshperf","aud":"meshperf","sub":%q,"iat":%d}`, f.alice.ID, now)), ErrUnauthenticated},
		{"exp as string", makeJWT(sha256.New, testKey, hs256, fmt.Sprintf(`{"iss":"meshperf","aud":"meshperf","sub":%q,"iat":%d,"exp":"%d"}`, f.alice.ID, now, now+60)), ErrUnauthenticated},
		{"expired", makeJWT(sha256.New, testKey, hs256, fmt.Sprintf(`{"iss":"meshperf","aud":"meshperf","sub":%q,"iat":%d,"exp":%d}`, f.alice.ID, now-120, now-60)), ErrTokenExpired},
		{"not before in the future", makeJWT(sha256.New, testKey, hs256, fmt.Sprintf(`{"iss":"meshperf","aud":"meshperf","sub":%q,"iat":%d,"nbf":%d,"exp":%d}`, f.alice.ID, now, now+600, now+900)), ErrUnauthenticated},
		{"payload not JSON", makeJWT(sha256.New, testKey, hs256, `alice`), ErrUnauthenticated},
		{"payload with trailing data", makeJWT(sha256.New, testKey, hs256, good+`x`), ErrUnauthenticated},
		{"malformed base64 header", "e30!." + payload + "." + sig, ErrUnauthenticated},
		{"standard base64 payload", head + "." + base64.StdEncoding.EncodeToString([]byte(good)) + "." + sig, ErrUnauthenticated},
		{"malformed base64 signature", head + "." + payload + ".***", ErrUnauthenticated},
		{"missing signature part", head + "." + payload, ErrUnauthenticated},
		{"one part", head, ErrUnauthenticated},
		{"four parts", valid + "." + sig, ErrUnauthenticated},
		{"empty", "", ErrUnauthenticated},
		{"dots", "..", ErrUnauthenticated},
		{"leading space", " " + valid, ErrUnauthenticated},
		{"huge", valid + strings.Repeat("A", maxTokenLen), ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.svc.Authenticate(t.Context(), tt.token)
			if tt.want == nil {
				if err != nil || p.User.ID != f.alice.ID {
					t.Fatalf("Authenticate = %v, %v; want alice", p, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate: error = %v, want %v", err, tt.want)
			}
			if len(tt.token) > 20 && strings.Contains(err.Error(), tt.token[len(tt.token)-20:]) {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func splitJWT(t *testing.T, token string) (head, payload, sig string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

func flipFirst(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

func TestSignJWTClaims(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	token := signJWT(testKey, "u1", now, 15*time.Minute)
	_, payload, _ := splitJWT(t, token)
	raw, err := b64.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iss":"meshperf","aud":"meshperf","sub":"u1","iat":1700000000,"nbf":1700000000,"exp":1700000900}`
	if got := string(raw); got != want {
		t.Errorf("claims = %s, want %s", got, want)
	}
	if sub, err := verifyJWT(testKey, token, now); err != nil || sub != "u1" {
		t.Errorf("verifyJWT = %q, %v; want u1", sub, err)
	}
}
