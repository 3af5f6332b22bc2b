package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/meshperf/meshperf/internal/conformance/result"
)

// Exit codes, decided here and nowhere else.
const (
	ExitOK          = 0 // the command did what was asked
	ExitSLO         = 1 // the run finished but broke an objective (--slo)
	ExitUsage       = 2 // a wrong flag, argument or input file
	ExitFailed      = 3 // the command could not do its work (nothing answered, I/O failure)
	ExitDegraded    = 4 // a distributed run finished but lost part of its load (an agent dropped, failed or was refused)
	ExitInterrupted = 130
)

// UsageError is a mistake in how the command was called.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// SLOError reports broken objectives; the report was already printed.
type SLOError struct{ Broken []string }

func (e *SLOError) Error() string {
	s := "objective broken: "
	for i, b := range e.Broken {
		if i > 0 {
			s += "; "
		}
		s += b
	}
	return s
}

// DegradedError is a run that finished without part of its load; the
// report of the rest was already printed, and this is its warning line.
type DegradedError struct {
	Run    string
	Reason string
}

func (e *DegradedError) Error() string {
	return fmt.Sprintf("warning: run %s is degraded: %s", e.Run, e.Reason)
}

// errInterrupted marks a run ended by a signal after its report was printed.
// ConformanceError is a conformance run whose tests failed or could not
// run; the report was already written.
type ConformanceError struct {
	Outcome string
	Counts  result.Counts
	Reason  string
}

func (e *ConformanceError) Error() string {
	s := fmt.Sprintf("conformance %s: %d passed, %d failed, %d skipped, %d not run", e.Outcome, e.Counts.Passed, e.Counts.Failed, e.Counts.Skipped, e.Counts.NotRun)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

var errInterrupted = errors.New("interrupted")

// exitCode maps an error returned by a command to the process exit status.
func exitCode(err error) int {
	var ue *UsageError
	var se *SLOError
	var nf *NotFoundError
	var de *DegradedError
	var ce *ConformanceError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &de):
		return ExitDegraded
	case errors.As(err, &se), errors.As(err, &ce) && ce.Outcome == "failed":
		return ExitSLO
	case errors.As(err, &ue), errors.As(err, &nf):
		return ExitUsage
	case errors.Is(err, errInterrupted), errors.Is(err, context.Canceled):
		return ExitInterrupted
	default:
		return ExitFailed
	}
}
