package auth

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const testPassword = "correct horse battery"

var testKey = []byte("0123456789abcdef0123456789abcdef")

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *Service
	store *MemoryStore
	clock *fakeClock
	alice *User // not an admin
	bob   *User // not an admin
	admin *User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		store: NewMemoryStore(),
		clock: &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
	}
	var err error
	f.svc, err = New(f.store, testKey, WithClock(f.clock.Now), WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		p     **User
		name  string
		admin bool
	}{{&f.alice, "alice", false}, {&f.bob, "bob", false}, {&f.admin, "root", true}} {
		if *u.p, err = f.svc.CreateUser(context.Background(), u.name, testPassword, u.admin); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) login(t *testing.T, name string) *Tokens {
	t.Helper()
	toks, err := f.svc.Login(t.Context(), name, testPassword)
	if err != nil {
		t.Fatalf("Login(%q): %v", name, err)
	}
	return toks
}

// authAs checks that bearer authenticates as user via via.
func (f *fixture) authAs(t *testing.T, bearer string, user *User, via string) {
	t.Helper()
	p, err := f.svc.Authenticate(t.Context(), bearer)
	if err != nil {
		t.Fatalf("Authenticate: %v, want user %s", err, user.Name)
	}
	if p.User.ID != user.ID || p.Via != via {
		t.Fatalf("Authenticate = user %s via %s, want %s via %s", p.User.Name, p.Via, user.Name, via)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		opts    []Option
		wantErr bool
	}{
		{"generated key", GenerateKey(), nil, false},
		{"short key", []byte("0123456789abcdef0123456789abcde"), nil, true},
		{"no key", nil, nil, true},
		{"zero access TTL", testKey, []Option{WithAccessTTL(0)}, true},
		{"bad bcrypt cost", testKey, []Option{WithBcryptCost(99)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]Option{WithBcryptCost(bcrypt.MinCost)}, tt.opts...)
			_, err := New(NewMemoryStore(), tt.key, opts...)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("New() error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	if a, b := GenerateKey(), GenerateKey(); len(a) != MinKeyLen || string(a) == string(b) {
		t.Errorf("GenerateKey() = %x, %x: want two different %d-byte keys", a, b, MinKeyLen)
	}
}

func TestCreateUser(t *testing.T) {
	tests := []struct {
		name, user, password string
		want                 error
	}{
		{"ok", "carol", testPassword, nil},
		{"ok name with punctuation", "ci-bot_2.x", testPassword, nil},
		{"ok 64-char name", strings.Repeat("a", 64), testPassword, nil},
		{"ok 12 multibyte characters", "dave", "éééééééééééé", nil},
		{"ok 72-byte password", "erin", strings.Repeat("p", 72), nil},
		{"duplicate name", "alice", testPassword, ErrConflict},
		{"empty name", "", testPassword, ErrInvalidName},
		{"65-char name", strings.Repeat("a", 65), testPassword, ErrInvalidName},
		{"upper case", "Carol", testPassword, ErrInvalidName},
		{"space", "carol smith", testPassword, ErrInvalidName},
		{"slash", "../carol", testPassword, ErrInvalidName},
		{"11-char password", "frank", "abcdefghijk", ErrWeakPassword},
		{"empty password", "frank", "", ErrWeakPassword},
		{"73-byte password", "frank", strings.Repeat("p", 73), ErrWeakPassword},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := f.svc.CreateUser(t.Context(), tt.user, tt.password, false)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CreateUser(%q) error = %v, want %v", tt.user, err, tt.want)
			}
			if err != nil {
				if strings.Contains(err.Error(), tt.password) && tt.password != "" {
					t.Errorf("error %q contains the password", err)
				}
				return
			}
			if u.Name != tt.user || u.ID == "" || !u.CreatedAt.Equal(f.clock.Now()) {
				t.Errorf("CreateUser = %+v", u)
			}
			if _, err := f.svc.Login(t.Context(), tt.user, tt.password); err != nil {
				t.Errorf("Login after CreateUser: %v", err)
			}
		})
	}
	users, err := f.svc.ListUsers(t.Context())
	sorted := slices.IsSortedFunc(users, func(a, b *User) int { return strings.Compare(a.Name, b.Name) })
	if err != nil || len(users) != 3+5 || !sorted {
		t.Errorf("ListUsers() = %d users (sorted: %v), %v; want 8 sorted by name", len(users), sorted, err)
	}
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name, user, password string
		want                 error
	}{
		{"ok", "alice", testPassword, nil},
		{"bad password", "alice", testPassword + "!", ErrInvalidCredentials},
		{"empty password", "alice", "", ErrInvalidCredentials},
		{"unknown user", "mallory", testPassword, ErrInvalidCredentials},
		{"invalid name", "Alice ", testPassword, ErrInvalidCredentials},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := f.svc.Login(t.Context(), tt.user, tt.password)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Login(%q) error = %v, want %v", tt.user, err, tt.want)
			}
			if err != nil {
				return
			}
			if toks.ExpiresIn != DefaultAccessTTL || !strings.HasPrefix(toks.RefreshToken, RefreshTokenPrefix) {
				t.Errorf("Login = %+v", toks)
			}
			f.authAs(t, toks.AccessToken, f.alice, ViaJWT)
		})
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		want    error
	}{
		{"fresh", 0, nil},
		{"just before expiry", DefaultAccessTTL - time.Second, nil},
		{"within leeway", DefaultAccessTTL + clockLeeway - time.Second, nil},
		{"after leeway", DefaultAccessTTL + clockLeeway, ErrTokenExpired},
		{"a day later", 24 * time.Hour, ErrTokenExpired},
		{"clock went back within leeway", -clockLeeway + time.Second, nil},
		{"clock went back beyond leeway", -clockLeeway - time.Second, ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			toks := f.login(t, "alice")
			f.clock.Advance(tt.advance)
			_, err := f.svc.Authenticate(t.Context(), toks.AccessToken)
			if !errors.Is(err, tt.want) {
				t.Errorf("Authenticate after %v: error = %v, want %v", tt.advance, err, tt.want)
			}
		})
	}
}

func TestRefreshRotation(t *testing.T) {
	f := newFixture(t)
	toks := f.login(t, "alice")
	for i := range 3 {
		f.clock.Advance(time.Hour)
		next, err := f.svc.Refresh(t.Context(), toks.RefreshToken)
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if next.RefreshToken == toks.RefreshToken || next.AccessToken == toks.AccessToken {
			t.Fatalf("refresh %d returned the same tokens", i)
		}
		f.authAs(t, next.AccessToken, f.alice, ViaJWT)
		toks = next
	}
	// Each rotation restarts the refresh lifetime, then it runs out.
	f.clock.Advance(DefaultRefreshTTL - time.Second)
	toks, err := f.svc.Refresh(t.Context(), toks.RefreshToken)
	if err != nil {
		t.Fatalf("refresh just before expiry: %v", err)
	}
	f.clock.Advance(DefaultRefreshTTL)
	if _, err := f.svc.Refresh(t.Context(), toks.RefreshToken); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("refresh of expired token: error = %v, want %v", err, ErrTokenExpired)
	}
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	f := newFixture(t)
	first := f.login(t, "alice")
	other := f.login(t, "alice") // another session, which must survive
	second, err := f.svc.Refresh(t.Context(), first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// An attacker replays the first refresh token.
	if _, err := f.svc.Refresh(t.Context(), first.RefreshToken); !errors.Is(err, ErrTokenReused) {
		t.Fatalf("reuse: error = %v, want %v", err, ErrTokenReused)
	}
	tests := []struct {
		name, token string
		want        error
	}{
		{"token from the rotation", second.RefreshToken, ErrTokenRevoked},
		{"reused token again", first.RefreshToken, ErrTokenRevoked},
		{"other session", other.RefreshToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.svc.Refresh(t.Context(), tt.token); !errors.Is(err, tt.want) {
				t.Errorf("Refresh: error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRefreshConcurrentReuse(t *testing.T) {
	f := newFixture(t)
	toks := f.login(t, "alice")
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := f.svc.Refresh(context.Background(), toks.RefreshToken)
			errs <- err
		}()
	}
	ok := 0
	for range n {
		if err := <-errs; err == nil {
			ok++
		} else if !errors.Is(err, ErrTokenReused) && !errors.Is(err, ErrTokenRevoked) {
			t.Errorf("Refresh: unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent refreshes with one token succeeded, want 1", ok, n)
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	toks := f.login(t, "alice")
	rotated, err := f.svc.Refresh(t.Context(), toks.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(t.Context(), rotated.RefreshToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if _, err := f.svc.Refresh(t.Context(), rotated.RefreshToken); !errors.Is(err, ErrTokenRevoked) {
		t.Errorf("Refresh after Logout: error = %v, want %v", err, ErrTokenRevoked)
	}
	for _, bad := range []string{"", "mpr_", "mpr_" + strings.Repeat("A", 43), toks.AccessToken} {
		if err := f.svc.Logout(t.Context(), bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Logout(%.10q...): error = %v, want %v", bad, err, ErrUnauthenticated)
		}
	}
}

func TestDeletedUser(t *testing.T) {
	f := newFixture(t)
	toks := f.login(t, "alice")
	apiToken, _, err := f.svc.CreateAPIToken(t.Context(), f.alice, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteUser(t.Context(), f.alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteUser(t.Context(), f.alice.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteUser: error = %v, want %v", err, ErrNotFound)
	}
	tests := []struct {
		name string
		try  func() error
	}{
		{"access token", func() error { _, err := f.svc.Authenticate(t.Context(), toks.AccessToken); return err }},
		{"API token", func() error { _, err := f.svc.Authenticate(t.Context(), apiToken); return err }},
		{"refresh token", func() error { _, err := f.svc.Refresh(t.Context(), toks.RefreshToken); return err }},
		{"login", func() error { _, err := f.svc.Login(t.Context(), "alice", testPassword); return err }},
		{"unknown user's JWT", func() error {
			_, err := f.svc.Authenticate(t.Context(), signJWT(testKey, "no-such-user", f.clock.Now(), time.Minute))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.try(); !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("error = %v, want %v", err, ErrUnauthenticated)
			}
		})
	}
}

func TestRefreshTokenIsNotAnAccessToken(t *testing.T) {
	f := newFixture(t)
	toks := f.login(t, "alice")
	if _, err := f.svc.Authenticate(t.Context(), toks.RefreshToken); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Authenticate(refresh token): error = %v, want %v", err, ErrUnauthenticated)
	}
	if _, err := f.svc.Refresh(t.Context(), toks.AccessToken); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Refresh(access token): error = %v, want %v", err, ErrUnauthenticated)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	var buf strings.Builder
	f := newFixture(t)
	svc, err := New(f.store, testKey, WithClock(f.clock.Now), WithBcryptCost(bcrypt.MinCost),
		WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	toks, err := svc.Login(t.Context(), "alice", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	apiToken, info, err := svc.CreateAPIToken(t.Context(), f.alice, "ci")
	if err != nil {
		t.Fatal(err)
	}
	_ = svc.RevokeAPIToken(t.Context(), f.alice, info.ID)
	_, _ = svc.Login(t.Context(), "alice", "Tr0ub4dor-guess-1")
	_, _ = svc.Login(t.Context(), "nobody", "Tr0ub4dor-guess-2")
	_, _ = svc.Refresh(t.Context(), toks.RefreshToken)
	_, _ = svc.Refresh(t.Context(), toks.RefreshToken) // reuse
	_, _ = svc.Authenticate(t.Context(), apiToken)     // revoked
	_, _ = svc.Authenticate(t.Context(), toks.AccessToken+"x")
	for _, secret := range []string{testPassword, "Tr0ub4dor", toks.RefreshToken, apiToken, toks.AccessToken} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log contains a secret:\n%s", buf.String())
		}
	}
	if n := strings.Count(buf.String(), "\n"); n < 5 {
		t.Errorf("log has %d lines, want one per failure:\n%s", n, buf.String())
	}
}
