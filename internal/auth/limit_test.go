package auth

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"127.0.0.1:5000", "127.0.0.1"},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"10.1.2.3", "10.1.2.3"},
		{"", ""},
		{"@", "@"},
	} {
		if got := clientKey(tt.in); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// limitedFixture is a fixture whose service has small, known limits.
func limitedFixture(t *testing.T, l LoginLimits) *fixture {
	t.Helper()
	f := newFixture(t)
	var err error
	f.svc, err = New(f.store, testKey, WithClock(f.clock.Now), WithBcryptCost(bcrypt.MinCost), WithLoginLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func wantRetry(t *testing.T, what string, err error, min, max time.Duration) {
	t.Helper()
	var re *RetryError
	if !errors.As(err, &re) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("%s: %v, want a RetryError", what, err)
	}
	if re.After < min || re.After > max {
		t.Errorf("%s: retry after %v, want %v..%v", what, re.After, min, max)
	}
}

func TestAddressLockout(t *testing.T) {
	f := limitedFixture(t, LoginLimits{AddrFailures: 3, UserFailures: 100, AddrMaxLockout: 8 * time.Second})
	ctx := t.Context()
	const attacker = "10.0.0.9:1234"
	for i := range 3 {
		_, err := f.svc.LoginFrom(ctx, fmt.Sprintf("user%d", i), "wrong password!", attacker)
		wantErr(t, "bad password", err, ErrInvalidCredentials)
	}
	// Locked for 1 s: even the right password of any user is refused,
	// unchecked.
	_, err := f.svc.LoginFrom(ctx, "alice", testPassword, attacker)
	wantRetry(t, "after 3 failures", err, time.Second, time.Second)
	if _, err := f.svc.LoginFrom(ctx, "alice", testPassword, "10.0.0.10:1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	// Each failure beyond the limit doubles the lockout, up to the cap.
	for i, want := range []time.Duration{2, 4, 8, 8} {
		f.clock.Advance(10 * time.Second)
		_, err := f.svc.LoginFrom(ctx, "bob", "wrong password!", attacker)
		wantErr(t, "bad password", err, ErrInvalidCredentials)
		_, err = f.svc.LoginFrom(ctx, "bob", testPassword, attacker)
		wantRetry(t, fmt.Sprintf("failure %d", 4+i), err, want*time.Second, want*time.Second)
	}
	// Forgotten after Forget (default 15 min) without failures.
	f.clock.Advance(16 * time.Minute)
	if _, err := f.svc.LoginFrom(ctx, "bob", testPassword, attacker); err != nil {
		t.Errorf("after 16 minutes: %v", err)
	}
}

// A flood of bad passwords for the admin, from many addresses, locks the
// admin out only for those addresses, never for more than the cap, and
// the admin logs in from their own address throughout.
func TestUserLockoutSparesCleanAddresses(t *testing.T) {
	f := limitedFixture(t, LoginLimits{AddrFailures: 1000, UserFailures: 4, UserMaxLockout: time.Minute})
	ctx := t.Context()
	for i := range 40 {
		addr := fmt.Sprintf("10.0.%d.%d:999", i/10, i%10)
		_, err := f.svc.LoginFrom(ctx, "root", "wrong password!", addr)
		if err == nil {
			t.Fatal("a wrong password logged in")
		}
		f.clock.Advance(100 * time.Millisecond)
	}
	// The addresses that failed are refused, unchecked, even with the
	// right password.
	for i := range 40 {
		_, err := f.svc.LoginFrom(ctx, "root", testPassword, fmt.Sprintf("10.0.%d.%d:999", i/10, i%10))
		wantRetry(t, fmt.Sprintf("flooding address %d", i), err, time.Second, time.Minute)
	}
	_, err := f.svc.LoginFrom(ctx, "root", "wrong password!", "10.0.0.1:999")
	wantRetry(t, "the lockout is capped", err, time.Minute-time.Second, time.Minute)
	// The admin's own address logs in.
	if _, err := f.svc.LoginFrom(ctx, "root", testPassword, "192.168.1.5:4000"); err != nil {
		t.Fatalf("the admin from a clean address: %v", err)
	}
	// The success ended the lockout: a flooding address gets its
	// password checked again.
	_, err = f.svc.LoginFrom(ctx, "root", "wrong password!", "10.0.0.1:999")
	wantErr(t, "after the admin's login", err, ErrInvalidCredentials)
	// Logging in as oneself does not clear an address's failures for
	// guessing at others.
	g := limitedFixture(t, LoginLimits{AddrFailures: 3, UserFailures: 100})
	for range 2 {
		g.svc.LoginFrom(ctx, "root", "wrong password!", "10.9.9.9:1")
		if _, err := g.svc.LoginFrom(ctx, "alice", testPassword, "10.9.9.9:1"); err != nil {
			t.Fatalf("alice: %v", err)
		}
	}
	g.svc.LoginFrom(ctx, "root", "wrong password!", "10.9.9.9:1")
	_, err = g.svc.LoginFrom(ctx, "alice", testPassword, "10.9.9.9:1")
	wantRetry(t, "3 failures between successes", err, time.Second, time.Second)
}

// Concurrent logins from one address beyond InFlightPerAddr, and bcrypt
// work beyond HashSlots for longer than HashWait, are refused.
func TestHashingIsBounded(t *testing.T) {
	f := limitedFixture(t, LoginLimits{InFlightPerAddr: 1000, HashSlots: 1, HashWait: 20 * time.Millisecond, FirstHashWait: 20 * time.Millisecond})
	var inHash, peak atomic.Int32
	var busy atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f.svc.lim.hash(t.Context(), fmt.Sprint(i%2), func() {
				n := inHash.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(50 * time.Millisecond)
				inHash.Add(-1)
			})
			if err != nil {
				wantRetry(t, fmt.Sprintf("hash %d", i), err, time.Second, time.Second)
				busy.Add(1)
			}
		}()
	}
	wg.Wait()
	if peak.Load() != 1 || busy.Load() < 6 {
		t.Errorf("peak %d hashes at once (want 1), %d refused (want at least 6)", peak.Load(), busy.Load())
	}
	// A refused login counts as no failure.
	g := limitedFixture(t, LoginLimits{InFlightPerAddr: 1})
	g.svc.lim.addrs["10.1.1.1"] = &record{inFlight: 1}
	_, err := g.svc.LoginFrom(t.Context(), "alice", testPassword, "10.1.1.1:5")
	wantRetry(t, "a second login in flight", err, time.Second, time.Second)
	g.svc.lim.addrs["10.1.1.1"].inFlight = 0
	if _, err := g.svc.LoginFrom(t.Context(), "alice", testPassword, "10.1.1.1:5"); err != nil {
		t.Errorf("after the first ended: %v", err)
	}
}

func TestTrackedIsBounded(t *testing.T) {
	f := limitedFixture(t, LoginLimits{MaxTracked: 50})
	for i := range 200 {
		f.svc.LoginFrom(t.Context(), fmt.Sprintf("u%d", i), "wrong password!", fmt.Sprintf("10.2.%d.%d:1", i/256, i%256))
	}
	l := f.svc.lim
	if len(l.addrs) > 50 || len(l.users) > 50 || len(l.pairs) > 50 {
		t.Errorf("tracked %d addresses, %d users, %d pairs; want at most 50 each", len(l.addrs), len(l.users), len(l.pairs))
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: %v, want %v", what, err, target)
	}
}

// A freed hashing slot goes to a quiet address's login before those of an
// address that floods, whenever they started waiting.
func TestQuietAddressesGoFirst(t *testing.T) {
	f := limitedFixture(t, LoginLimits{HashSlots: 1, HashWait: 5 * time.Second, FirstHashWait: 5 * time.Second})
	lm := f.svc.lim
	lm.addrs["10.6.6.6"] = &record{busy: 2} // refused twice: flooding
	hold := make(chan struct{})
	started := make(chan struct{})
	go lm.hash(t.Context(), "", func() { close(started); <-hold })
	<-started
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enter := func(addr string) {
		defer wg.Done()
		if err := lm.hash(t.Context(), addr, func() { mu.Lock(); order = append(order, addr); mu.Unlock() }); err != nil {
			t.Errorf("hash from %s: %v", addr, err)
		}
	}
	for range 3 {
		wg.Add(1)
		go enter("10.6.6.6")
	}
	time.Sleep(50 * time.Millisecond) // the flood waits first
	wg.Add(1)
	go enter("192.168.1.5")
	time.Sleep(50 * time.Millisecond)
	close(hold)
	wg.Wait()
	if len(order) != 4 || order[0] != "192.168.1.5" {
		t.Errorf("slots went to %v; want the quiet address first", order)
	}
}
