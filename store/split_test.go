package store

import (
	"reflect"
	"testing"
)

// Store is only the sum of its concerns: every method but Close belongs to
// exactly one small interface, and none of them grows into a second
// switchboard.
func TestStoreIsSplitByConcern(t *testing.T) {
	concerns := []reflect.Type{
		reflect.TypeFor[ProfileStore](),
		reflect.TypeFor[ResultStore](),
		reflect.TypeFor[RunStore](),
		reflect.TypeFor[InstanceStore](),
		reflect.TypeFor[ScheduleStore](),
		reflect.TypeFor[ExperimentStore](),
		reflect.TypeFor[ConformanceStore](),
		reflect.TypeFor[DesignStore](),
		reflect.TypeFor[CapacityStore](),
	}
	owner := map[string]string{}
	for _, c := range concerns {
		if n := c.NumMethod(); n == 0 || n > 8 {
			t.Errorf("%s has %d methods, want 1 to 8", c.Name(), n)
		}
		for i := range c.NumMethod() {
			m := c.Method(i).Name
			if o, ok := owner[m]; ok {
				t.Errorf("%s is in both %s and %s", m, o, c.Name())
			}
			owner[m] = c.Name()
		}
	}
	st := reflect.TypeFor[Store]()
	for i := range st.NumMethod() {
		m := st.Method(i).Name
		if _, ok := owner[m]; !ok && m != "Close" {
			t.Errorf("Store.%s belongs to no concern: add it to one of the small interfaces", m)
		}
	}
	if got, want := st.NumMethod(), len(owner)+1; got != want {
		t.Errorf("Store has %d methods, its concerns and Close %d", got, want)
	}
}
