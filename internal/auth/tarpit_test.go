package auth

import (
	"errors"
	"testing"
	"time"
)

// A refusal the caller brought on itself (its address locked out after
// failures, or too many logins at once from it) is held back up to
// MaxTarpit; a wrong password or a login refused only because the hashing
// slots are busy is answered at once.
func TestTarpitDelay(t *testing.T) {
	lm := newLimiter(DefaultLoginLimits())
	now := time.Now()
	const addr, user = "192.0.2.7", "admin"
	for range lm.l.AddrFailures {
		if err := lm.begin(addr, user, now); err != nil {
			t.Fatalf("a login before the lockout: %v", err)
		}
		lm.end(addr, user, now, loginFailed)
	}
	locked := lm.begin(addr, user, now)
	if d := TarpitDelay(locked); d <= 0 || d > MaxTarpit {
		t.Errorf("an address locked out: delay %v (%v), want (0, %v]", d, locked, MaxTarpit)
	}

	other := "192.0.2.8"
	for range lm.l.InFlightPerAddr {
		if err := lm.begin(other, "u", now); err != nil {
			t.Fatalf("logins in flight: %v", err)
		}
	}
	if err := lm.begin(other, "u", now); TarpitDelay(err) != time.Second {
		t.Errorf("one login too many at once: delay %v (%v), want 1s", TarpitDelay(err), err)
	}

	for _, err := range []error{ErrInvalidCredentials, &RetryError{After: time.Second, Reason: "the server is busy checking other passwords"}, errors.New("store down")} {
		if d := TarpitDelay(err); d != 0 {
			t.Errorf("TarpitDelay(%v) = %v, want 0", err, d)
		}
	}
}
