package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAPITokens(t *testing.T) {
	f := newFixture(t)
	created := f.clock.Now()
	token, info, err := f.svc.CreateAPIToken(t.Context(), f.alice, "ci-nightly")
	if err != nil {
		t.Fatal(err)
	}
	if !validSecret(APITokenPrefix, token) || len(token) != len("mpt_")+43 {
		t.Errorf("token %q does not look like mpt_ + 43 base64url characters", token)
	}
	if info.OwnerID != f.alice.ID || info.Name != "ci-nightly" || !info.CreatedAt.Equal(created) || info.Hash == "" || strings.Contains(info.Hash, token) {
		t.Errorf("info = %+v", info)
	}
	f.clock.Advance(time.Second)
	second, _, err := f.svc.CreateAPIToken(t.Context(), f.alice, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.CreateAPIToken(t.Context(), f.bob, "bob's"); err != nil {
		t.Fatal(err)
	}

	f.clock.Advance(time.Hour)
	f.authAs(t, token, f.alice, ViaAPIToken)
	list, err := f.svc.ListAPITokens(t.Context(), f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "ci-nightly" || list[1].Name != "laptop" {
		t.Fatalf("ListAPITokens(alice) = %+v, want ci-nightly and laptop", list)
	}
	if got, want := list[0].LastUsedAt, f.clock.Now(); !got.Equal(want) {
		t.Errorf("LastUsedAt = %v, want %v", got, want)
	}
	if !list[1].LastUsedAt.IsZero() {
		t.Errorf("unused token has LastUsedAt %v", list[1].LastUsedAt)
	}

	// Uses within lastUsedResolution are not written; later ones are.
	used := f.clock.Now()
	f.clock.Advance(lastUsedResolution / 2)
	f.authAs(t, token, f.alice, ViaAPIToken)
	if got := f.lastUsed(t, info.ID); !got.Equal(used) {
		t.Errorf("LastUsedAt after a quick reuse = %v, want %v", got, used)
	}
	f.clock.Advance(lastUsedResolution)
	f.authAs(t, token, f.alice, ViaAPIToken)
	if got := f.lastUsed(t, info.ID); !got.Equal(f.clock.Now()) {
		t.Errorf("LastUsedAt = %v, want %v", got, f.clock.Now())
	}

	if err := f.svc.RevokeAPIToken(t.Context(), f.alice, info.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeAPIToken(t.Context(), f.alice, info.ID); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if _, err := f.svc.Authenticate(t.Context(), token); !errors.Is(err, ErrTokenRevoked) {
		t.Errorf("revoked token: error = %v, want %v", err, ErrTokenRevoked)
	}
	f.authAs(t, second, f.alice, ViaAPIToken)
	list, _ = f.svc.ListAPITokens(t.Context(), f.alice)
	if len(list) != 2 || list[0].RevokedAt.IsZero() || !list[1].RevokedAt.IsZero() {
		t.Errorf("after revoking: %+v", list)
	}

	for _, bad := range []string{
		"mpt_",
		"mpt_" + strings.Repeat("A", 43), // well formed, unknown
		token[:len(token)-1],             // truncated
		token + "A",                      // too long
		strings.Replace(token, "mpt_", "mpr_", 1),   // other kind
		"mpt_" + strings.Repeat("/", 43),            // not base64url
		"MPT_" + strings.TrimPrefix(second, "mpt_"), // prefix is case sensitive
	} {
		if _, err := f.svc.Authenticate(t.Context(), bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Authenticate(%.12q...): error = %v, want %v", bad, err, ErrUnauthenticated)
		}
	}
}

func (f *fixture) lastUsed(t *testing.T, id string) time.Time {
	t.Helper()
	info, err := f.store.APITokenByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return info.LastUsedAt
}

func TestAPITokenNames(t *testing.T) {
	tests := []struct {
		name, token string
		want        error
	}{
		{"simple", "ci", nil},
		{"spaces and unicode", "Grafana dashboard é", nil},
		{"64 characters", strings.Repeat("x", 64), nil},
		{"empty", "", ErrInvalidName},
		{"65 characters", strings.Repeat("x", 65), ErrInvalidName},
		{"leading space", " ci", ErrInvalidName},
		{"newline", "ci\nevil", ErrInvalidName},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.svc.CreateAPIToken(t.Context(), f.alice, tt.token)
			if !errors.Is(err, tt.want) {
				t.Errorf("CreateAPIToken(%q): error = %v, want %v", tt.token, err, tt.want)
			}
		})
	}
}

func TestRevokeAPITokenPermissions(t *testing.T) {
	tests := []struct {
		name  string
		actor func(*fixture) *User
		id    func(aliceToken string) string
		want  error
	}{
		{"owner", func(f *fixture) *User { return f.alice }, nil, nil},
		{"admin", func(f *fixture) *User { return f.admin }, nil, nil},
		{"other user", func(f *fixture) *User { return f.bob }, nil, ErrForbidden},
		{"unknown id", func(f *fixture) *User { return f.admin }, func(string) string { return "nope" }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			token, info, err := f.svc.CreateAPIToken(t.Context(), f.alice, "ci")
			if err != nil {
				t.Fatal(err)
			}
			id := info.ID
			if tt.id != nil {
				id = tt.id(id)
			}
			err = f.svc.RevokeAPIToken(t.Context(), tt.actor(f), id)
			if !errors.Is(err, tt.want) {
				t.Fatalf("RevokeAPIToken: error = %v, want %v", err, tt.want)
			}
			_, authErr := f.svc.Authenticate(t.Context(), token)
			if revoked := errors.Is(authErr, ErrTokenRevoked); revoked != (err == nil) {
				t.Errorf("after RevokeAPIToken error %v: Authenticate error = %v", err, authErr)
			}
		})
	}
}
