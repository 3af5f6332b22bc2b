// Package authtest is the auth part of the store suite: auth.Service's
// behaviour on each store, and the stores' own guarantees for users and
// tokens. It is apart from store/storetest because it drives the service,
// which is internal; store/sqlite and store/postgres run both from their
// tests.
package authtest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/storetest"
)

// RunAuth runs the auth part of the suite: auth.Service's behaviour on the
// auth.Store open returns (empty), and the store's own guarantees. Run runs
// it on every store.Store; auth.MemoryStore, the reference, passes it too.
func RunAuth(t *testing.T, open func(t *testing.T) auth.Store) {
	t.Run("users", func(t *testing.T) { testUsers(t, open(t)) })
	t.Run("login and refresh rotation", func(t *testing.T) { testRefreshRotation(t, open(t)) })
	t.Run("family revoked after a token was saved", func(t *testing.T) { testRevokedFamily(t, open(t)) })
	t.Run("API tokens", func(t *testing.T) { testAPITokens(t, open(t)) })
	t.Run("API token names and minting", func(t *testing.T) { testAPITokenMinting(t, open(t)) })
	t.Run("concurrent mint and revoke", func(t *testing.T) { testConcurrentMintRevoke(t, open(t)) })
	t.Run("delete user cascades", func(t *testing.T) { testDeleteUser(t, open(t)) })
	t.Run("concurrent consume", func(t *testing.T) { testConcurrentConsume(t, open(t)) })
}

// Run runs RunAuth on the auth.Store of every store.Store open returns,
// and checks that users and tokens survive reopening the store. open is as
// for storetest.Run: an empty database the first time it is called with a
// given t, the same database when called again with that t.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	o := opener(open)
	RunAuth(t, o.authStore)
	t.Run("reopen", o.testReopenAuth)
}

type opener func(t *testing.T) store.Store

// open returns a store, closed when the test ends.
func (o opener) open(t *testing.T) store.Store {
	t.Helper()
	return storetest.Open(t, o)
}

var (
	wantErr = storetest.WantErr
	must    = storetest.Must
)

// authStore returns the auth.Store of a store.Store, which every store must
// be, for team mode.
func (o opener) authStore(t *testing.T) auth.Store {
	t.Helper()
	s := o.open(t)
	as, ok := s.(auth.Store)
	if !ok {
		t.Fatalf("%T is not an auth.Store", s)
	}
	return as
}

const authPassword = "correct horse battery"

// clock is a settable clock for auth.WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authFixture is an auth.Service on a store, with users alice and bob and
// the admin root.
type authFixture struct {
	st               auth.Store
	svc              *auth.Service
	key              []byte
	clock            *clock
	alice, bob, root *auth.User
}

func newAuthFixture(t *testing.T, st auth.Store) *authFixture {
	t.Helper()
	f := &authFixture{st: st, key: auth.GenerateKey(), clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)}}
	f.svc = f.service(t)
	for _, u := range []struct {
		p     **auth.User
		name  string
		admin bool
	}{{&f.alice, "alice", false}, {&f.bob, "bob", false}, {&f.root, "root", true}} {
		var err error
		*u.p, err = f.svc.CreateUser(t.Context(), u.name, authPassword, u.admin)
		must(t, "CreateUser "+u.name, err)
	}
	return f
}

// service returns a Service on the fixture's store, key and clock.
func (f *authFixture) service(t *testing.T) *auth.Service {
	t.Helper()
	svc, err := auth.New(f.st, f.key, auth.WithBcryptCost(bcrypt.MinCost), auth.WithClock(f.clock.Now), auth.WithRefreshTTL(24*time.Hour))
	must(t, "auth.New", err)
	return svc
}

func (f *authFixture) login(t *testing.T, name string) *auth.Tokens {
	t.Helper()
	toks, err := f.svc.Login(t.Context(), name, authPassword)
	must(t, "Login "+name, err)
	return toks
}

// authAs fails the test unless bearer authenticates as u via via.
func (f *authFixture) authAs(t *testing.T, bearer string, u *auth.User, via string) {
	t.Helper()
	p, err := f.svc.Authenticate(t.Context(), bearer)
	if err != nil {
		t.Fatalf("Authenticate: %v, want user %s", err, u.Name)
	}
	if p.User.ID != u.ID || p.User.Name != u.Name || p.User.Admin != u.Admin || p.Via != via {
		t.Fatalf("Authenticate = user %+v via %s, want %s via %s", p.User, p.Via, u.Name, via)
	}
}

func (f *authFixture) refresh(t *testing.T, refreshToken string) *auth.Tokens {
	t.Helper()
	toks, err := f.svc.Refresh(t.Context(), refreshToken)
	must(t, "Refresh", err)
	return toks
}

func sameUser(t *testing.T, what string, got, want *auth.User) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Admin != want.Admin ||
		!slices.Equal(got.PasswordHash, want.PasswordHash) || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testUsers(t *testing.T, st auth.Store) {
	ctx := t.Context()
	f := newAuthFixture(t, st)
	_, err := f.svc.CreateUser(ctx, "alice", authPassword, true)
	wantErr(t, "CreateUser with a taken name", err, auth.ErrConflict)
	dup := *f.bob
	dup.Name = "bob2"
	wantErr(t, "CreateUser with a taken ID", st.CreateUser(ctx, &dup), auth.ErrConflict)

	users, err := f.svc.ListUsers(ctx)
	must(t, "ListUsers", err)
	if len(users) != 3 {
		t.Fatalf("ListUsers gave %d users, want 3", len(users))
	}
	for i, want := range []*auth.User{f.alice, f.bob, f.root} {
		sameUser(t, "ListUsers", users[i], want)
	}
	if !f.root.Admin || f.alice.Admin || len(f.alice.PasswordHash) == 0 {
		t.Errorf("CreateUser gave %+v and %+v", f.root, f.alice)
	}
	got, err := st.UserByName(ctx, "root")
	must(t, "UserByName", err)
	sameUser(t, "UserByName", got, f.root)
	got, err = st.UserByID(ctx, f.alice.ID)
	must(t, "UserByID", err)
	sameUser(t, "UserByID", got, f.alice)
	got.PasswordHash[0]++ // the store keeps its own copy
	got, err = st.UserByID(ctx, f.alice.ID)
	must(t, "UserByID", err)
	sameUser(t, "UserByID after changing a copy", got, f.alice)

	_, err = st.UserByName(ctx, "mallory")
	wantErr(t, "UserByName of an unknown name", err, auth.ErrNotFound)
	_, err = st.UserByName(ctx, "Alice")
	wantErr(t, "UserByName is case-sensitive", err, auth.ErrNotFound)
	_, err = st.UserByID(ctx, "no-such-id")
	wantErr(t, "UserByID of an unknown ID", err, auth.ErrNotFound)
	wantErr(t, "DeleteUser of an unknown ID", st.DeleteUser(ctx, "no-such-id"), auth.ErrNotFound)

	for _, tt := range []struct {
		name, password string
		want           error
	}{
		{"alice", authPassword, nil},
		{"alice", authPassword + "!", auth.ErrInvalidCredentials},
		{"mallory", authPassword, auth.ErrInvalidCredentials},
	} {
		_, err := f.svc.Login(ctx, tt.name, tt.password)
		wantErr(t, fmt.Sprintf("Login %s with password %q", tt.name, tt.password), err, tt.want)
	}
}

func testRefreshRotation(t *testing.T, st auth.Store) {
	ctx := t.Context()
	f := newAuthFixture(t, st)
	first := f.login(t, "alice")
	f.authAs(t, first.AccessToken, f.alice, auth.ViaJWT)

	// Each refresh gives new tokens and uses up the one presented.
	chain := []*auth.Tokens{first}
	for range 3 {
		f.clock.Advance(time.Minute)
		next := f.refresh(t, chain[len(chain)-1].RefreshToken)
		if next.RefreshToken == chain[len(chain)-1].RefreshToken {
			t.Fatal("Refresh gave the same refresh token back")
		}
		f.authAs(t, next.AccessToken, f.alice, auth.ViaJWT)
		chain = append(chain, next)
	}
	other := f.login(t, "alice") // another login: another family

	// Presenting a used token again revokes its whole family, the latest
	// token included, and nothing else.
	_, err := f.svc.Refresh(ctx, chain[1].RefreshToken)
	wantErr(t, "Refresh with a used token", err, auth.ErrTokenReused)
	_, err = f.svc.Refresh(ctx, chain[len(chain)-1].RefreshToken)
	wantErr(t, "Refresh with the latest token of a revoked family", err, auth.ErrTokenRevoked)
	_, err = f.svc.Refresh(ctx, chain[1].RefreshToken)
	wantErr(t, "Refresh with a used token of a revoked family", err, auth.ErrTokenRevoked)
	other = f.refresh(t, other.RefreshToken)

	// Logout revokes the family of the token.
	must(t, "Logout", f.svc.Logout(ctx, other.RefreshToken))
	_, err = f.svc.Refresh(ctx, other.RefreshToken)
	wantErr(t, "Refresh after logout", err, auth.ErrTokenRevoked)

	// Refresh tokens expire; unknown and malformed ones are refused.
	bob := f.login(t, "bob")
	f.clock.Advance(24 * time.Hour)
	_, err = f.svc.Refresh(ctx, bob.RefreshToken)
	wantErr(t, "Refresh with an expired token", err, auth.ErrTokenExpired)
	_, err = f.svc.Refresh(ctx, auth.RefreshTokenPrefix+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	wantErr(t, "Refresh with an unknown token", err, auth.ErrUnauthenticated)
	_, err = f.svc.Refresh(ctx, "garbage")
	wantErr(t, "Refresh with a malformed token", err, auth.ErrUnauthenticated)
}

// testRevokedFamily checks the store's rule that a token is revoked when any
// token of its family is, even one revoked before it was saved, as when a
// refresh races a logout.
func testRevokedFamily(t *testing.T, st auth.Store) {
	ctx := t.Context()
	f := newAuthFixture(t, st)
	t0 := f.clock.Now()
	tok := func(name, family, parent string) *auth.RefreshToken {
		return &auth.RefreshToken{Hash: hashOf(name), FamilyID: family, ParentHash: parent, UserID: f.alice.ID,
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	}
	a, other := tok("a", "family-1", ""), tok("other", "family-2", "")
	must(t, "SaveRefreshToken", st.SaveRefreshToken(ctx, a))
	must(t, "SaveRefreshToken", st.SaveRefreshToken(ctx, other))
	wantErr(t, "SaveRefreshToken with a taken hash", st.SaveRefreshToken(ctx, tok("a", "family-3", "")), auth.ErrConflict)

	got, err := st.ConsumeRefreshToken(ctx, a.Hash, t0.Add(time.Second))
	must(t, "ConsumeRefreshToken", err)
	sameRefreshToken(t, "ConsumeRefreshToken of an unused token", got, a)
	revoked := t0.Add(2 * time.Second)
	must(t, "RevokeRefreshFamily", st.RevokeRefreshFamily(ctx, "family-1", revoked))
	must(t, "RevokeRefreshFamily of an unknown family", st.RevokeRefreshFamily(ctx, "no-such-family", revoked))

	b := tok("b", "family-1", a.Hash) // saved after the revocation
	must(t, "SaveRefreshToken", st.SaveRefreshToken(ctx, b))
	for i := range 2 {
		got, err = st.ConsumeRefreshToken(ctx, b.Hash, t0.Add(time.Duration(3+i)*time.Second))
		must(t, "ConsumeRefreshToken", err)
		want := *b
		want.RevokedAt = revoked // of the family, as of its revocation
		if i > 0 {
			want.UsedAt = t0.Add(3 * time.Second)
		}
		sameRefreshToken(t, fmt.Sprintf("token saved in a revoked family, consumed %d times before", i), got, &want)
	}

	// Tokens revoked already keep their time.
	must(t, "RevokeRefreshFamily again", st.RevokeRefreshFamily(ctx, "family-1", t0.Add(time.Hour)))
	got, err = st.ConsumeRefreshToken(ctx, a.Hash, t0.Add(5*time.Second))
	must(t, "ConsumeRefreshToken", err)
	if !got.UsedAt.Equal(t0.Add(time.Second)) || !got.RevokedAt.Equal(revoked) {
		t.Errorf("used token of a revoked family: used %v, revoked %v; want %v, %v", got.UsedAt, got.RevokedAt, t0.Add(time.Second), revoked)
	}
	got, err = st.ConsumeRefreshToken(ctx, other.Hash, t0.Add(5*time.Second))
	must(t, "ConsumeRefreshToken", err)
	if !got.RevokedAt.IsZero() || !got.UsedAt.IsZero() {
		t.Errorf("the token of another family: %+v", got)
	}
	_, err = st.ConsumeRefreshToken(ctx, hashOf("unknown"), t0)
	wantErr(t, "ConsumeRefreshToken of an unknown token", err, auth.ErrNotFound)
}

// sameRefreshToken fails the test unless got is want, times to the
// nanosecond.
func sameRefreshToken(t *testing.T, what string, got, want *auth.RefreshToken) {
	t.Helper()
	g, w := *got, *want
	for _, tt := range []struct {
		name      string
		got, want time.Time
	}{{"created", g.CreatedAt, w.CreatedAt}, {"expires", g.ExpiresAt, w.ExpiresAt}, {"used", g.UsedAt, w.UsedAt}, {"revoked", g.RevokedAt, w.RevokedAt}} {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s: %s at %v, want %v", what, tt.name, tt.got, tt.want)
		}
	}
	g.CreatedAt, g.ExpiresAt, g.UsedAt, g.RevokedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	w.CreatedAt, w.ExpiresAt, w.UsedAt, w.RevokedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func testAPITokens(t *testing.T, st auth.Store) {
	ctx := t.Context()
	f := newAuthFixture(t, st)
	secret1, info1, err := f.svc.CreateAPIToken(ctx, f.alice, "ci-nightly")
	must(t, "CreateAPIToken", err)
	f.clock.Advance(time.Second)
	secret2, info2, err := f.svc.CreateAPIToken(ctx, f.alice, "ci-weekly ✓")
	must(t, "CreateAPIToken", err)
	bobSecret, bobInfo, err := f.svc.CreateAPIToken(ctx, f.bob, "bob's")
	must(t, "CreateAPIToken", err)

	list := func(u *auth.User) []*auth.APIToken {
		t.Helper()
		ts, err := f.svc.ListAPITokens(ctx, u)
		must(t, "ListAPITokens", err)
		return ts
	}
	sameTokens := func(what string, got []*auth.APIToken, want ...*auth.APIToken) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d tokens, want %d", what, len(got), len(want))
		}
		for i := range want {
			g, w := *got[i], *want[i]
			if !g.CreatedAt.Equal(w.CreatedAt) || !g.LastUsedAt.Equal(w.LastUsedAt) || !g.RevokedAt.Equal(w.RevokedAt) {
				t.Errorf("%s: token %d has times %v %v %v, want %v %v %v", what, i,
					g.CreatedAt, g.LastUsedAt, g.RevokedAt, w.CreatedAt, w.LastUsedAt, w.RevokedAt)
			}
			g.CreatedAt, g.LastUsedAt, g.RevokedAt = time.Time{}, time.Time{}, time.Time{}
			w.CreatedAt, w.LastUsedAt, w.RevokedAt = time.Time{}, time.Time{}, time.Time{}
			if g != w {
				t.Errorf("%s: token %d is\n %+v\nwant\n %+v", what, i, g, w)
			}
		}
	}
	sameTokens("alice's tokens, oldest first", list(f.alice), info1, info2)
	sameTokens("bob's tokens", list(f.bob), bobInfo)
	if ts := list(&auth.User{ID: "no-such-user"}); len(ts) != 0 {
		t.Errorf("tokens of an unknown user: %v", ts)
	}

	// Use is recorded, to the minute.
	f.authAs(t, secret1, f.alice, auth.ViaAPIToken)
	info1.LastUsedAt = f.clock.Now()
	f.clock.Advance(30 * time.Second)
	f.authAs(t, secret1, f.alice, auth.ViaAPIToken)
	got, err := st.APITokenByID(ctx, info1.ID)
	must(t, "APITokenByID", err)
	sameTokens("a token used twice in a minute", []*auth.APIToken{got}, info1)
	f.clock.Advance(time.Minute)
	f.authAs(t, secret1, f.alice, auth.ViaAPIToken)
	info1.LastUsedAt = f.clock.Now()
	got, err = st.APITokenByHash(ctx, info1.Hash)
	must(t, "APITokenByHash", err)
	sameTokens("a token used a minute later", []*auth.APIToken{got}, info1)

	// Owners and admins revoke tokens; others may not.
	err = f.svc.RevokeAPIToken(ctx, f.bob, info2.ID)
	wantErr(t, "bob revokes alice's token", err, auth.ErrForbidden)
	f.authAs(t, secret2, f.alice, auth.ViaAPIToken)
	info2.LastUsedAt = f.clock.Now()
	must(t, "RevokeAPIToken by the owner", f.svc.RevokeAPIToken(ctx, f.alice, info2.ID))
	info2.RevokedAt = f.clock.Now()
	_, err = f.svc.Authenticate(ctx, secret2)
	wantErr(t, "Authenticate with a revoked token", err, auth.ErrTokenRevoked)
	f.clock.Advance(time.Hour)
	must(t, "RevokeAPIToken again", f.svc.RevokeAPIToken(ctx, f.alice, info2.ID))
	sameTokens("alice's tokens after a revocation", list(f.alice), info1, info2)
	must(t, "RevokeAPIToken by an admin", f.svc.RevokeAPIToken(ctx, f.root, bobInfo.ID))
	_, err = f.svc.Authenticate(ctx, bobSecret)
	wantErr(t, "Authenticate with a token an admin revoked", err, auth.ErrTokenRevoked)
	f.authAs(t, secret1, f.alice, auth.ViaAPIToken)
	info1.LastUsedAt = f.clock.Now()

	err = f.svc.RevokeAPIToken(ctx, f.root, "no-such-token")
	wantErr(t, "RevokeAPIToken of an unknown token", err, auth.ErrNotFound)
	wantErr(t, "store RevokeAPIToken of an unknown token", st.RevokeAPIToken(ctx, "no-such-token", f.clock.Now()), auth.ErrNotFound)
	wantErr(t, "TouchAPIToken of an unknown token", st.TouchAPIToken(ctx, "no-such-token", f.clock.Now()), auth.ErrNotFound)
	_, err = st.APITokenByHash(ctx, hashOf("unknown"))
	wantErr(t, "APITokenByHash of an unknown hash", err, auth.ErrNotFound)
	_, err = f.svc.Authenticate(ctx, auth.APITokenPrefix+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	wantErr(t, "Authenticate with an unknown token", err, auth.ErrUnauthenticated)

	dupID := &auth.APIToken{ID: info1.ID, OwnerID: f.alice.ID, Name: "dup", Hash: hashOf("dup"), CreatedAt: f.clock.Now()}
	wantErr(t, "SaveAPIToken with a taken ID", st.SaveAPIToken(ctx, dupID), auth.ErrConflict)
	dupHash := &auth.APIToken{ID: "new-id", OwnerID: f.alice.ID, Name: "dup", Hash: info1.Hash, CreatedAt: f.clock.Now()}
	wantErr(t, "SaveAPIToken with a taken hash", st.SaveAPIToken(ctx, dupHash), auth.ErrConflict)
	sameTokens("alice's tokens after refused saves", list(f.alice), info1, info2)
}

func testDeleteUser(t *testing.T, st auth.Store) {
	ctx := t.Context()
	f := newAuthFixture(t, st)
	aliceSession, bobSession := f.login(t, "alice"), f.login(t, "bob")
	aliceSecret, aliceToken, err := f.svc.CreateAPIToken(ctx, f.alice, "ci")
	must(t, "CreateAPIToken", err)
	bobSecret, _, err := f.svc.CreateAPIToken(ctx, f.bob, "ci")
	must(t, "CreateAPIToken", err)

	must(t, "DeleteUser", f.svc.DeleteUser(ctx, f.alice.ID))
	for what, bearer := range map[string]string{"access token": aliceSession.AccessToken, "API token": aliceSecret} {
		_, err := f.svc.Authenticate(ctx, bearer)
		wantErr(t, "Authenticate with the "+what+" of a deleted user", err, auth.ErrUnauthenticated)
	}
	_, err = f.svc.Refresh(ctx, aliceSession.RefreshToken)
	wantErr(t, "Refresh with the token of a deleted user", err, auth.ErrUnauthenticated)
	_, err = st.APITokenByID(ctx, aliceToken.ID)
	wantErr(t, "APITokenByID of a deleted user's token", err, auth.ErrNotFound)
	if ts, err := st.ListAPITokens(ctx, f.alice.ID); err != nil || len(ts) != 0 {
		t.Errorf("API tokens of a deleted user: %v, %v", ts, err)
	}
	_, err = st.UserByID(ctx, f.alice.ID)
	wantErr(t, "UserByID of a deleted user", err, auth.ErrNotFound)
	wantErr(t, "DeleteUser again", f.svc.DeleteUser(ctx, f.alice.ID), auth.ErrNotFound)
	users, err := f.svc.ListUsers(ctx)
	must(t, "ListUsers", err)
	if len(users) != 2 || users[0].Name != "bob" || users[1].Name != "root" {
		t.Errorf("users after deleting alice: %v", users)
	}

	// Others keep their sessions and tokens.
	f.authAs(t, bobSession.AccessToken, f.bob, auth.ViaJWT)
	f.authAs(t, bobSecret, f.bob, auth.ViaAPIToken)
	f.refresh(t, bobSession.RefreshToken)

	// The name is free again; the old tokens stay dead.
	alice2, err := f.svc.CreateUser(ctx, "alice", authPassword, false)
	must(t, "CreateUser of a deleted user's name", err)
	f.authAs(t, f.login(t, "alice").AccessToken, alice2, auth.ViaJWT)
	_, err = f.svc.Authenticate(ctx, aliceSecret)
	wantErr(t, "Authenticate with the old API token of a reused name", err, auth.ErrUnauthenticated)
}

// Of concurrent consumptions of one refresh token, exactly one sees it
// unused; of concurrent refreshes with it, exactly one succeeds, and the
// family is revoked, the winner's new token included.
func testConcurrentConsume(t *testing.T, st auth.Store) {
	ctx := t.Context()
	f := newAuthFixture(t, st)
	t0 := f.clock.Now()
	for round := range 10 {
		rt := &auth.RefreshToken{Hash: hashOf(fmt.Sprint("race-", round)), FamilyID: fmt.Sprint("family-", round),
			UserID: f.alice.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		must(t, "SaveRefreshToken", st.SaveRefreshToken(ctx, rt))
		n := 2 + round%7
		got := make([]*auth.RefreshToken, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range n {
			wg.Go(func() {
				<-start
				got[g], errs[g] = st.ConsumeRefreshToken(ctx, rt.Hash, t0.Add(time.Duration(g+1)*time.Second))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for g := range n {
			must(t, "ConsumeRefreshToken", errs[g])
			if got[g].UsedAt.IsZero() {
				if winner >= 0 {
					t.Fatalf("round %d: consumptions %d and %d both found the token unused", round, winner, g)
				}
				winner = g
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no consumption found the token unused", round)
		}
		for g := range n {
			if g != winner && !got[g].UsedAt.Equal(t0.Add(time.Duration(winner+1)*time.Second)) {
				t.Errorf("round %d: consumption %d saw it used at %v, want the winner's %v", round, g, got[g].UsedAt, t0.Add(time.Duration(winner+1)*time.Second))
			}
		}
	}

	for round := range 5 {
		session := f.login(t, "bob")
		n := 2 + round
		toks := make([]*auth.Tokens, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range n {
			wg.Go(func() {
				<-start
				toks[g], errs[g] = f.svc.Refresh(ctx, session.RefreshToken)
			})
		}
		close(start)
		wg.Wait()
		var won []*auth.Tokens
		reused := 0
		for g, err := range errs {
			switch {
			case err == nil:
				won = append(won, toks[g])
			case errors.Is(err, auth.ErrTokenReused):
				reused++
			case !errors.Is(err, auth.ErrTokenRevoked):
				t.Fatalf("round %d: Refresh: %v, want success, ErrTokenReused or ErrTokenRevoked", round, err)
			}
		}
		if len(won) != 1 || reused == 0 {
			t.Fatalf("round %d: %d of %d concurrent refreshes won and %d saw reuse, want 1 and at least 1: %v", round, len(won), n, reused, errs)
		}
		_, err := f.svc.Refresh(ctx, won[0].RefreshToken)
		wantErr(t, "Refresh with the winner's token, in the revoked family", err, auth.ErrTokenRevoked)
	}
}

// testReopenAuth checks that users and tokens survive a restart: a new
// Service with the same key accepts the tokens the old one issued.
func (o opener) testReopenAuth(t *testing.T) {
	s := o(t)
	as, ok := s.(auth.Store)
	if !ok {
		t.Fatalf("%T is not an auth.Store", s)
	}
	f := newAuthFixture(t, as)
	session := f.login(t, "alice")
	secret, _, err := f.svc.CreateAPIToken(t.Context(), f.root, "ci")
	must(t, "CreateAPIToken", err)
	must(t, "Close", s.Close())

	f.st = o.authStore(t)
	f.svc = f.service(t)
	f.authAs(t, session.AccessToken, f.alice, auth.ViaJWT)
	f.authAs(t, secret, f.root, auth.ViaAPIToken)
	next := f.refresh(t, session.RefreshToken)
	f.authAs(t, next.AccessToken, f.alice, auth.ViaJWT)
	_, err = f.svc.Refresh(t.Context(), session.RefreshToken)
	wantErr(t, "Refresh with a token used before the restart", err, auth.ErrTokenReused)
	users, err := f.svc.ListUsers(t.Context())
	must(t, "ListUsers", err)
	if len(users) != 3 {
		t.Errorf("%d users after reopening, want 3", len(users))
	}
}

// principal authenticates bearer and returns who it is.
func (f *authFixture) principal(t *testing.T, bearer string) *auth.Principal {
	t.Helper()
	p, err := f.svc.Authenticate(t.Context(), bearer)
	must(t, "Authenticate", err)
	return p
}

// Names are unique among a user's unrevoked tokens; a user's API token
// cannot mint another, an admin's can, and revoking it revokes what it
// minted, transitively.
func testAPITokenMinting(t *testing.T, st auth.Store) {
	ctx := t.Context()
	f := newAuthFixture(t, st)
	session := f.principal(t, f.login(t, "alice").AccessToken)
	if session.Via != auth.ViaJWT || session.TokenID != "" {
		t.Errorf("a session's principal: via %s, token %q", session.Via, session.TokenID)
	}
	ciSecret, ci, err := f.svc.MintAPIToken(ctx, session, "ci")
	must(t, "MintAPIToken from a session", err)
	if ci.ParentID != "" {
		t.Errorf("a session's token has parent %q", ci.ParentID)
	}
	// The same name again: refused, for this user only.
	_, _, err = f.svc.MintAPIToken(ctx, session, "ci")
	wantErr(t, "a second token named ci", err, auth.ErrConflict)
	_, _, err = f.svc.CreateAPIToken(ctx, f.alice, "ci")
	wantErr(t, "CreateAPIToken of a taken name", err, auth.ErrConflict)
	dup := &auth.APIToken{ID: "dup-name", OwnerID: f.alice.ID, Name: "ci", Hash: hashOf("dup-name"), CreatedAt: f.clock.Now()}
	wantErr(t, "store SaveAPIToken of a taken name", st.SaveAPIToken(ctx, dup), auth.ErrConflict)
	_, _, err = f.svc.CreateAPIToken(ctx, f.bob, "ci")
	must(t, "bob's token named ci", err)

	// alice's API token may not mint.
	viaCI := f.principal(t, ciSecret)
	if viaCI.Via != auth.ViaAPIToken || viaCI.TokenID != ci.ID {
		t.Fatalf("an API token's principal: via %s, token %q; want %s", viaCI.Via, viaCI.TokenID, ci.ID)
	}
	_, _, err = f.svc.MintAPIToken(ctx, viaCI, "copy")
	wantErr(t, "MintAPIToken with a user's API token", err, auth.ErrForbidden)
	if ts, _ := f.svc.ListAPITokens(ctx, f.alice); len(ts) != 1 {
		t.Errorf("alice has %d tokens after a refused mint, want 1", len(ts))
	}

	// root's API token mints a child, which mints a grandchild.
	rootSecret, rootTok, err := f.svc.MintAPIToken(ctx, f.principal(t, f.login(t, "root").AccessToken), "root-ci")
	must(t, "root mints from a session", err)
	childSecret, child, err := f.svc.MintAPIToken(ctx, f.principal(t, rootSecret), "child")
	must(t, "root mints with an API token", err)
	grandSecret, grand, err := f.svc.MintAPIToken(ctx, f.principal(t, childSecret), "grandchild")
	must(t, "root mints with the child", err)
	if child.ParentID != rootTok.ID || grand.ParentID != child.ID {
		t.Errorf("parents: child %q (want %s), grandchild %q (want %s)", child.ParentID, rootTok.ID, grand.ParentID, child.ID)
	}
	got, err := st.APITokenByID(ctx, grand.ID)
	must(t, "APITokenByID", err)
	if got.ParentID != child.ID {
		t.Errorf("stored grandchild's parent %q, want %s", got.ParentID, child.ID)
	}
	unrelatedSecret, _, err := f.svc.CreateAPIToken(ctx, f.root, "unrelated")
	must(t, "CreateAPIToken", err)

	// Revoking root's first token revokes the child and the grandchild;
	// the unrelated token and alice's keep working.
	f.clock.Advance(time.Minute)
	must(t, "RevokeAPIToken", f.svc.RevokeAPIToken(ctx, f.root, rootTok.ID))
	for what, secret := range map[string]string{"the revoked token": rootSecret, "its child": childSecret, "its grandchild": grandSecret} {
		_, err := f.svc.Authenticate(ctx, secret)
		wantErr(t, "Authenticate with "+what, err, auth.ErrTokenRevoked)
	}
	f.authAs(t, unrelatedSecret, f.root, auth.ViaAPIToken)
	f.authAs(t, ciSecret, f.alice, auth.ViaAPIToken)
	// A revoked parent mints nothing, even through the store directly.
	orphan := &auth.APIToken{ID: "orphan", OwnerID: f.root.ID, Name: "orphan", ParentID: rootTok.ID, Hash: hashOf("orphan"), CreatedAt: f.clock.Now()}
	wantErr(t, "SaveAPIToken under a revoked parent", st.SaveAPIToken(ctx, orphan), auth.ErrTokenRevoked)
	orphan.ParentID = "no-such-token"
	wantErr(t, "SaveAPIToken under an unknown parent", st.SaveAPIToken(ctx, orphan), auth.ErrNotFound)
	// A revoked token's name is free again.
	_, again, err := f.svc.CreateAPIToken(ctx, f.root, "root-ci")
	must(t, "a new token with a revoked token's name", err)
	if again.ID == rootTok.ID {
		t.Error("the new token has the revoked one's ID")
	}
}

// Of an admin minting with a token while the token is revoked, either the
// mint fails or the new token is revoked too: none survives.
func testConcurrentMintRevoke(t *testing.T, st auth.Store) {
	ctx := t.Context()
	f := newAuthFixture(t, st)
	rootSession := f.principal(t, f.login(t, "root").AccessToken)
	for i := range 10 {
		parentSecret, parent, err := f.svc.MintAPIToken(ctx, rootSession, fmt.Sprintf("parent-%d", i))
		must(t, "MintAPIToken", err)
		via := f.principal(t, parentSecret)
		var wg sync.WaitGroup
		secrets := make([]string, 8)
		for j := range secrets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				secrets[j], _, _ = f.svc.MintAPIToken(ctx, via, fmt.Sprintf("child-%d-%d", i, j))
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.svc.RevokeAPIToken(ctx, f.root, parent.ID); err != nil {
				t.Errorf("RevokeAPIToken: %v", err)
			}
		}()
		wg.Wait()
		for _, secret := range secrets {
			if secret == "" {
				continue
			}
			if _, err := f.svc.Authenticate(ctx, secret); !errors.Is(err, auth.ErrTokenRevoked) {
				t.Fatalf("a token minted while its parent was revoked authenticates: %v", err)
			}
		}
	}
}
