package store

import "time"

// Experiment states. An experiment is running from its creation until its
// last cell is stored (done), a cell fails (failed), or it is stopped
// (interrupted). A process killed mid-way leaves it running; running it
// again resumes it.
const (
	ExperimentRunning     = "running"
	ExperimentDone        = "done"
	ExperimentFailed      = "failed"
	ExperimentInterrupted = "interrupted"
)

// MaxExperimentBody is the largest experiment definition a store accepts.
const MaxExperimentBody = 1 << 20

// Experiment is one run of an experiment file. Its cells are results
// labelled experiment=ID (see internal/experiment).
type Experiment struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	// Error says why a failed or interrupted experiment stopped.
	Error string `json:"error,omitempty"`
	// Body is the experiment definition (JSON), as the runner wrote it.
	Body []byte `json:"-"`
	// Cells is how many cells the experiment has; Done how many of them
	// are stored.
	Cells     int       `json:"cells"`
	Done      int       `json:"done"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
