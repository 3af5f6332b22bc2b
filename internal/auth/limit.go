package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"
)

// ErrRateLimited refuses a login that comes too often: from an address or
// for a user locked out after failures, too many at once from one address,
// or while every password hashing slot is busy. Errors carrying it are
// *RetryError, which say when to try again.
var ErrRateLimited = errors.New("too many login attempts")

// RetryError is ErrRateLimited with the time to wait, for a Retry-After
// header.
type RetryError struct {
	After  time.Duration
	Reason string
	// Tarpit is set when the refusal is the caller's own doing (its
	// address locked out or flooding): the server may hold the answer
	// back (see TarpitDelay), so a flood costs it a request a second per
	// connection rather than as many as the client can send.
	Tarpit bool
}

// MaxTarpit bounds how long a refused login's answer is held back.
const MaxTarpit = time.Second

// TarpitDelay is how long to hold back the answer to a login refused with
// err: up to MaxTarpit for a refusal the caller brought on itself, else 0.
func TarpitDelay(err error) time.Duration {
	var re *RetryError
	if !errors.As(err, &re) || !re.Tarpit {
		return 0
	}
	return min(re.After, MaxTarpit)
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("%s: %s; try again in %d s", ErrRateLimited, e.Reason, retrySeconds(e.After))
}

func (e *RetryError) Unwrap() error { return ErrRateLimited }

// RetryAfter returns the whole seconds to wait (at least 1) that err, an
// ErrRateLimited, asks for; 0 for other errors.
func RetryAfter(err error) int {
	var re *RetryError
	if !errors.As(err, &re) {
		return 0
	}
	return retrySeconds(re.After)
}

func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// LoginLimits bound password guessing and the CPU that bcrypt costs. A
// failed login counts against its client address and against the user
// name it tried. After AddrFailures failures an address is locked out,
// and after UserFailures a user name, each failure beyond the limit
// doubling the lockout from one second up to AddrMaxLockout or
// UserMaxLockout. An address locked out gets no answer but 429. A user
// locked out is refused only to addresses that failed to log in as that
// user: from any other address the right password still logs in, so a
// flood of bad passwords cannot lock an admin out. A success clears the
// user's record (and its address's failures for that user, but not the
// address's count: logging in as oneself does not buy guesses at others);
// failures are forgotten Forget after the last one.
type LoginLimits struct {
	AddrFailures   int
	AddrMaxLockout time.Duration
	UserFailures   int
	UserMaxLockout time.Duration
	Forget         time.Duration
	// InFlightPerAddr is how many logins of one address may be checked at
	// once; more are refused.
	InFlightPerAddr int
	// HashSlots is how many bcrypt computations (logins, new users) may
	// run at once; a login finding them busy waits up to HashWait, then
	// is refused with a one-second Retry-After. A login of a quiet address
	// (see limiter.quiet), served first, waits up to FirstHashWait: only
	// for the computations under way, unless the machine is starved of CPU.
	HashSlots     int
	HashWait      time.Duration
	FirstHashWait time.Duration
	// MaxTracked bounds the addresses and the user names remembered (each).
	MaxTracked int
}

// DefaultLoginLimits returns the limits New uses: 5 failures per address
// (lockout up to 2 minutes), 10 per user name (up to 1 minute), forgotten
// after 15 minutes; 2 logins in flight per address; a hashing slot per
// two CPUs (at least one), waited for up to 1 s (5 s by quiet addresses,
// served first). Half the CPUs: a bcrypt hash holds its CPU for tens of
// milliseconds, and with a slot per CPU a login flood took every CPU from
// the API (the team benchmark's API p99 went over 100 ms on 2 cores).
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{
		AddrFailures:    5,
		AddrMaxLockout:  2 * time.Minute,
		UserFailures:    10,
		UserMaxLockout:  time.Minute,
		Forget:          15 * time.Minute,
		InFlightPerAddr: 2,
		HashSlots:       max(1, runtime.GOMAXPROCS(0)/2),
		HashWait:        time.Second,
		FirstHashWait:   5 * time.Second,
		MaxTracked:      1 << 16,
	}
}

// WithLoginLimits sets the login limits (default DefaultLoginLimits).
// Zero fields take their default.
func WithLoginLimits(l LoginLimits) Option {
	return func(s *Service) {
		d := DefaultLoginLimits()
		for _, f := range []struct{ got, def *int }{{&l.AddrFailures, &d.AddrFailures}, {&l.UserFailures, &d.UserFailures},
			{&l.InFlightPerAddr, &d.InFlightPerAddr}, {&l.HashSlots, &d.HashSlots}, {&l.MaxTracked, &d.MaxTracked}} {
			if *f.got <= 0 {
				*f.got = *f.def
			}
		}
		for _, f := range []struct{ got, def *time.Duration }{{&l.AddrMaxLockout, &d.AddrMaxLockout}, {&l.UserMaxLockout, &d.UserMaxLockout},
			{&l.Forget, &d.Forget}, {&l.HashWait, &d.HashWait}, {&l.FirstHashWait, &d.FirstHashWait}} {
			if *f.got <= 0 {
				*f.got = *f.def
			}
		}
		s.limits = l
	}
}

// record is what the limiter remembers of an address or a user name.
type record struct {
	failures int
	busy     int       // logins refused for want of a hashing slot since the last success
	lastFail time.Time // of the last failure or busy refusal
	until    time.Time // locked out until then
	inFlight int
}

// limiter keeps the records of LoginLimits and the hashing slots.
type limiter struct {
	l     LoginLimits
	mu    sync.Mutex
	addrs map[string]*record
	users map[string]*record
	pairs map[string]*record // address + "\x00" + user
	slots *slots
}

func newLimiter(l LoginLimits) *limiter {
	lm := &limiter{l: l, addrs: map[string]*record{}, users: map[string]*record{}, pairs: map[string]*record{},
		slots: &slots{free: l.HashSlots}}
	lm.slots.quiet = lm.quiet
	return lm
}

// clientKey is the address a login counts against: the IP of a host:port
// (or bare IP), IPv6 addresses by their /64, as one host usually has the
// whole prefix. "" when there is none.
func clientKey(remote string) string {
	if remote == "" {
		return ""
	}
	ap, err := netip.ParseAddrPort(remote)
	addr := ap.Addr()
	if err != nil {
		if addr, err = netip.ParseAddr(remote); err != nil {
			return remote // not an IP (a unix socket, a test): as it is
		}
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// get returns the record of key in m, making it (within MaxTracked) if
// create is set; nil otherwise.
func (lm *limiter) get(m map[string]*record, key string, now time.Time, create bool) *record {
	r := m[key]
	if r != nil && r.inFlight == 0 && r.failures+r.busy > 0 && now.Sub(r.lastFail) >= lm.l.Forget && !now.Before(r.until) {
		delete(m, key)
		r = nil
	}
	if r != nil || !create {
		return r
	}
	if len(m) >= lm.l.MaxTracked {
		for k, o := range m { // forget the idle ones, then any (map order is random)
			if o.inFlight == 0 && !now.Before(o.until) && now.Sub(o.lastFail) >= lm.l.Forget {
				delete(m, k)
			}
		}
		for k, o := range m {
			if len(m) < lm.l.MaxTracked {
				break
			}
			if o.inFlight == 0 {
				delete(m, k)
			}
		}
	}
	r = &record{}
	m[key] = r
	return r
}

// begin admits a login of user from addr, or refuses it with a
// *RetryError. An admitted login must be ended with end.
func (lm *limiter) begin(addr, user string, now time.Time) error {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	var a *record
	if addr != "" {
		a = lm.get(lm.addrs, addr, now, true)
		if now.Before(a.until) {
			return &RetryError{After: a.until.Sub(now), Reason: "this address is locked out after failed logins", Tarpit: true}
		}
		if a.inFlight >= lm.l.InFlightPerAddr {
			a.busy++ // people do not log in many times at once: a flood
			a.lastFail = now
			return &RetryError{After: time.Second, Reason: "too many logins at once from this address", Tarpit: true}
		}
	}
	// A user locked out is refused to the addresses that failed as that
	// user (an unknown address, "", is not tracked: never refused).
	if u := lm.get(lm.users, user, now, false); u != nil && now.Before(u.until) && addr != "" {
		if p := lm.get(lm.pairs, addr+"\x00"+user, now, false); p != nil && p.failures > 0 {
			return &RetryError{After: u.until.Sub(now), Reason: "this user is locked out after failed logins from this address", Tarpit: true}
		}
	}
	if a != nil {
		a.inFlight++
	}
	return nil
}

// quiet reports whether addr behaves as a person logging in: no failures,
// at most one login in flight (the one asking), at most one refused for
// busy slots or too many at once since its last success. Quiet addresses
// get the hashing slots first, so a login from one stays quick during a
// flood from others. It is asked when a slot is handed out, so an address
// that starts flooding loses its place at once.
func (lm *limiter) quiet(addr string) bool {
	if addr == "" {
		return true
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	a := lm.addrs[addr]
	return a == nil || a.failures == 0 && a.busy < 2 && a.inFlight <= 1
}

// Outcomes of a login, for end.
const (
	loginError  = iota // the store failed, the client left: not counted
	loginBusy          // no hashing slot in time: not a failure; two take the address's priority until a success
	loginFailed        // wrong password or unknown user
	loginOK
)

// end records the outcome of a login begin admitted. It returns the
// lockouts the login started (zero if none).
func (lm *limiter) end(addr, user string, now time.Time, outcome int) (addrLock, userLock time.Duration) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	var a *record
	if addr != "" {
		if a = lm.addrs[addr]; a != nil {
			a.inFlight--
		}
	}
	switch outcome {
	case loginError:
	case loginBusy:
		if a != nil {
			a.busy++
			a.lastFail = now
		}
	case loginOK:
		if a != nil {
			a.busy = 0
		}
		delete(lm.users, user)
		delete(lm.pairs, addr+"\x00"+user)
	default:
		if a != nil {
			addrLock = fail(a, now, lm.l.AddrFailures, lm.l.AddrMaxLockout)
			fail(lm.get(lm.pairs, addr+"\x00"+user, now, true), now, math.MaxInt, 0)
		}
		userLock = fail(lm.get(lm.users, user, now, true), now, lm.l.UserFailures, lm.l.UserMaxLockout)
	}
	if a != nil && a.inFlight == 0 && a.failures == 0 && a.busy == 0 {
		delete(lm.addrs, addr) // nothing to remember
	}
	return addrLock, userLock
}

// fail counts a failure, locking out from the limit-th on: 1 s, then
// doubling up to maxLock. It returns the lockout it set, if any.
func fail(r *record, now time.Time, limit int, maxLock time.Duration) time.Duration {
	r.failures++
	r.lastFail = now
	over := r.failures - limit
	if over < 0 {
		return 0
	}
	lock := maxLock
	if over < 30 {
		lock = min(maxLock, time.Second<<over)
	}
	r.until = now.Add(lock)
	return lock
}

// hash runs f in a hashing slot for a login from addr, waiting up to
// HashWait for one (FirstHashWait if addr is quiet).
func (lm *limiter) hash(ctx context.Context, addr string, f func()) error {
	wait := lm.l.HashWait
	if lm.quiet(addr) {
		wait = max(wait, lm.l.FirstHashWait)
	}
	if err := lm.slots.acquire(ctx, addr, wait); err != nil {
		return err
	}
	defer lm.slots.release()
	f()
	return nil
}

// maxWaiting bounds the logins waiting for a hashing slot; more are
// refused at once.
const maxWaiting = 1024

// slots is a counting semaphore whose freed slots go to the longest
// waiting login of a quiet address (limiter.quiet), if any, else to the
// longest waiting one.
type slots struct {
	mu    sync.Mutex
	free  int
	queue []*waiter
	quiet func(addr string) bool // called with mu held; must not take it
}

type waiter struct {
	ch   chan struct{}
	addr string
}

func (s *slots) acquire(ctx context.Context, addr string, wait time.Duration) error {
	busy := &RetryError{After: time.Second, Reason: "the server is busy checking other passwords"}
	s.mu.Lock()
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	if len(s.queue) >= maxWaiting {
		s.mu.Unlock()
		return busy
	}
	w := &waiter{ch: make(chan struct{}, 1), addr: addr}
	s.queue = append(s.queue, w)
	s.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	var err error
	select {
	case <-w.ch:
		return nil
	case <-t.C:
		err = busy
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.mu.Lock()
	i := slices.Index(s.queue, w)
	if i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
	}
	s.mu.Unlock()
	if i < 0 { // handed a slot meanwhile: pass it on
		<-w.ch
		s.release()
	}
	return err
}

func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		s.free++
		return
	}
	next := 0
	for i, w := range s.queue {
		if s.quiet(w.addr) {
			next = i
			break
		}
	}
	w := s.queue[next]
	s.queue = slices.Delete(s.queue, next, next+1)
	w.ch <- struct{}{}
}
