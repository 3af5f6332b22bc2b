-- Capacity searches (internal/capacity through the server): one row per
-- search, with the columns a listing shows and filters on, the options as
-- requested, the judged steps so far (each naming its stored result, a
-- result labelled capacity=<id>) and the final report, as JSON. A search
-- interrupted by a shutdown is resumed from its steps by the next server,
-- under a new run (run_id). Times are Unix nanoseconds.

CREATE TABLE capacity_searches (
	id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name             TEXT    NOT NULL,
	state            TEXT    NOT NULL,
	error            TEXT    NOT NULL,
	run_id           TEXT    NOT NULL,
	profile_id       TEXT    NOT NULL,
	profile_revision INTEGER NOT NULL,
	outcome          TEXT    NOT NULL,
	sustained_rps    DOUBLE PRECISION NOT NULL,
	options          BYTEA   NOT NULL,
	steps            BYTEA   NOT NULL,
	report           BYTEA   NOT NULL,
	owner_id         TEXT    NOT NULL DEFAULT '',
	private          BOOLEAN NOT NULL DEFAULT FALSE,
	created_ns       BIGINT  NOT NULL,
	updated_ns       BIGINT  NOT NULL
);
CREATE INDEX capacity_searches_created ON capacity_searches (created_ns, id);
CREATE INDEX capacity_searches_profile ON capacity_searches (profile_id, created_ns);
CREATE INDEX capacity_searches_state ON capacity_searches (state);

-- A schedule that names a capacity search instead of a run: its search
-- options (JSON, as a capacity request without its profile). A schedule
-- without a row here queues runs. Deleted with its schedule.
CREATE TABLE capacity_schedules (
	schedule_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES schedules (id) ON DELETE CASCADE,
	options     BYTEA NOT NULL
);
