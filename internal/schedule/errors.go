package schedule

import "fmt"

// Kinds of spec, as SpecError.Kind names them.
const (
	KindCron  = "cron"
	KindMacro = "macro"
	KindEvery = "every"
)

// SpecError is a spec that Parse, ParseEvery or Every refused. Every error
// they return is a *SpecError, so a caller can tell a bad spec (the user's
// mistake) from anything else with errors.As.
type SpecError struct {
	Spec string // the spec as given
	// Kind is KindCron, KindMacro or KindEvery; empty when the spec is empty.
	Kind string
	// Field is the cron field at fault: minute, hour, day, month or weekday.
	// Empty when the error is not about one field.
	Field  string
	Reason string
}

func (e *SpecError) Error() string {
	switch {
	case e.Kind == KindMacro:
		return fmt.Sprintf("%s %q", e.Reason, e.Spec)
	case e.Kind == KindEvery:
		return "every: " + e.Reason
	case e.Kind == KindCron && e.Field != "":
		return fmt.Sprintf("cron %q: %s: %s", e.Spec, e.Field, e.Reason)
	case e.Kind == KindCron:
		return fmt.Sprintf("cron %q: %s", e.Spec, e.Reason)
	}
	return fmt.Sprintf("schedule %q: %s", e.Spec, e.Reason)
}

// TimezoneError is a time zone ParseIn does not know.
type TimezoneError struct {
	Name string // the zone as given
}

func (e *TimezoneError) Error() string {
	return fmt.Sprintf("timezone: unknown %q (want an IANA name such as Europe/Berlin)", e.Name)
}
