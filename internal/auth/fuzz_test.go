package auth

import (
	"errors"
	"strings"
	"testing"
)

// FuzzAuthenticate checks that no input panics and that only the tokens the
// service issued authenticate.
func FuzzAuthenticate(f *testing.F) {
	fx := newFixture(f)
	ctx := f.Context()
	access, err := fx.svc.Login(ctx, "alice", testPassword)
	if err != nil {
		f.Fatal(err)
	}
	apiToken, _, err := fx.svc.CreateAPIToken(ctx, fx.alice, "ci")
	if err != nil {
		f.Fatal(err)
	}
	valid := map[string]bool{access.AccessToken: true, apiToken: true}
	parts := strings.Split(access.AccessToken, ".") // header, payload, signature
	for _, s := range []string{
		access.AccessToken, apiToken, access.RefreshToken, "", ".", "..", "...", "mpt_", "mpr_",
		access.AccessToken + "=", strings.ToUpper(access.AccessToken), apiToken[:len(apiToken)-1],
		b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		parts[0] + ".e30." + parts[2], "eyJhbGciOiJIUzI1NiJ9.e30.", "\x00", "mpt_" + strings.Repeat("_", 43),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := fx.svc.Authenticate(t.Context(), s)
		if err == nil {
			if !valid[s] {
				t.Fatalf("Authenticate(%q) = %s via %s, want an error", s, p.User.Name, p.Via)
			}
			return
		}
		if valid[s] {
			t.Fatalf("Authenticate(valid token): %v", err)
		}
		if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrTokenExpired) && !errors.Is(err, ErrTokenRevoked) {
			t.Fatalf("Authenticate(%q): error %v wraps no sentinel", s, err)
		}
	})
}
