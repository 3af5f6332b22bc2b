package store

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers branch on, with errors.Is. Stores wrap them with what was
// missing, taken or wrong, e.g. `profile "smoke" not found`.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
)

// MinPrefix is the shortest ID prefix GetResult, DeleteResult and GetRun
// look up.
const MinPrefix = 6

// AmbiguousError is returned for an ID prefix that matches several results
// (or runs). It is also ErrInvalid.
type AmbiguousError struct {
	// Kind is what the IDs are of: "result" when empty, or "run".
	Kind   string
	Prefix string
	// IDs holds the first few matching IDs; More is set if there are others.
	IDs  []string
	More bool
}

func (e *AmbiguousError) Error() string {
	more := ""
	if e.More {
		more = " and more"
	}
	kind := e.Kind
	if kind == "" {
		kind = "result"
	}
	return fmt.Sprintf("%s ID prefix %q is ambiguous: it matches %s%s", kind, e.Prefix, strings.Join(e.IDs, ", "), more)
}

// Unwrap returns ErrInvalid.
func (e *AmbiguousError) Unwrap() error { return ErrInvalid }
