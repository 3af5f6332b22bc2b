-- The server's runs: what was queued, and how it ended. Times are Unix
-- nanoseconds; started_ns and finished_ns are NULL until then. Labels are a
-- JSON object ('' when none): runs are not filtered on them.

CREATE TABLE runs (
	id               TEXT    NOT NULL PRIMARY KEY,
	state            TEXT    NOT NULL,
	profile_id       TEXT    NOT NULL,
	profile_revision INTEGER NOT NULL,
	name             TEXT    NOT NULL,
	labels           TEXT    NOT NULL,
	profile          BLOB    NOT NULL,
	result_id        TEXT    NOT NULL,
	error            TEXT    NOT NULL,
	created_ns       INTEGER NOT NULL,
	started_ns       INTEGER,
	finished_ns      INTEGER
);
CREATE INDEX runs_created ON runs (created_ns, id);
CREATE INDEX runs_state ON runs (state, created_ns, id);
