package runs

import (
	"sync"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/store"
)

// Event is one message of a run's live stream: its state changed (Run, as
// it was then), or a second of it ended (Progress: its figures and the run
// so far, without the second's histograms), or a job's step ended (Step).
type Event struct {
	Run      *store.Run
	Progress *loadgen.Progress
	// Step is a step of a job's run (a capacity search's capacity.Step),
	// opaque to the service.
	Step any
}

// maxEvents bounds a run's kept history (an hour of seconds and its states).
const maxEvents = 4000

// hub keeps a run's events and hands them to subscribers: a late one first
// gets what already happened.
type hub struct {
	mu     sync.Mutex
	events []Event
	subs   map[chan Event]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[chan Event]struct{}{}} }

func (h *hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) < maxEvents || e.Run != nil {
		h.events = append(h.events, e)
	}
	for c := range h.subs {
		select {
		case c <- e:
		default: // a subscriber that cannot keep up misses a second, not the server
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.subs {
		close(c)
	}
	h.subs = map[chan Event]struct{}{}
}

// subscribe returns what happened so far and a channel of what follows
// (closed when the run ends); nil when the run has already ended.
func (h *hub) subscribe() ([]Event, chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	past := append([]Event(nil), h.events...)
	if h.closed {
		return past, nil
	}
	c := make(chan Event, 64)
	h.subs[c] = struct{}{}
	return past, c
}

func (h *hub) unsubscribe(c chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[c]; ok {
		delete(h.subs, c)
		close(c)
	}
}
