-- The server's runs: what was queued, and how it ended. Times are Unix
-- nanoseconds; started_ns and finished_ns are NULL until then. Labels are a
-- JSON object ('' when none): runs are not filtered on them.

CREATE TABLE runs (
	id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	state            TEXT    NOT NULL,
	profile_id       TEXT COLLATE "C" NOT NULL,
	profile_revision INTEGER NOT NULL,
	name             TEXT    NOT NULL,
	labels           TEXT    NOT NULL,
	profile          BYTEA   NOT NULL,
	result_id        TEXT COLLATE "C" NOT NULL,
	error            TEXT    NOT NULL,
	created_ns       BIGINT  NOT NULL,
	started_ns       BIGINT,
	finished_ns      BIGINT
);
CREATE INDEX runs_created ON runs (created_ns, id);
CREATE INDEX runs_state ON runs (state, created_ns, id);
