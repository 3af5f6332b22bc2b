package native

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc/codes"
)

func TestDeadlineReset(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	reset := &h2ResetError{code: http2.ErrCodeCancel}
	other := errors.New("x")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		code int
		err  error
		took time.Duration
		want int
	}{
		{"reset CANCEL after the deadline", context.Background(), int(codes.Canceled), reset, 60 * time.Millisecond, int(codes.DeadlineExceeded)},
		{"reset CANCEL before the deadline", context.Background(), int(codes.Canceled), reset, 10 * time.Millisecond, int(codes.Canceled)},
		{"our own cancellation", cancelled, int(codes.Canceled), reset, 60 * time.Millisecond, int(codes.Canceled)},
		{"another reset code", context.Background(), int(codes.Canceled), &h2ResetError{code: http2.ErrCodeInternal}, time.Second, int(codes.Canceled)},
		{"not a reset", context.Background(), int(codes.Canceled), other, time.Second, int(codes.Canceled)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deadlineReset(tc.ctx, tc.code, tc.err, 50*time.Millisecond, tc.took)
			if got != tc.want {
				t.Errorf("code %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}
