-- Times are Unix nanoseconds. Label and target tables are WITHOUT ROWID:
-- their primary key is the row.

CREATE TABLE profiles (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	revision   INTEGER NOT NULL, -- the latest
	created_ns INTEGER NOT NULL,
	updated_ns INTEGER NOT NULL
);

CREATE TABLE profile_revisions (
	profile_id TEXT    NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
	revision   INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	body       BLOB    NOT NULL,
	created_ns INTEGER NOT NULL,
	PRIMARY KEY (profile_id, revision)
);

CREATE TABLE profile_labels (
	profile_id TEXT    NOT NULL,
	revision   INTEGER NOT NULL,
	key        TEXT    NOT NULL,
	value      TEXT    NOT NULL,
	PRIMARY KEY (profile_id, revision, key),
	FOREIGN KEY (profile_id, revision) REFERENCES profile_revisions (profile_id, revision) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX profile_labels_key_value ON profile_labels (key, value);

-- No foreign key to profiles: results outlive the profiles they ran.
CREATE TABLE results (
	id               TEXT    NOT NULL PRIMARY KEY,
	name             TEXT    NOT NULL,
	profile_id       TEXT    NOT NULL,
	profile_revision INTEGER NOT NULL,
	generator        TEXT    NOT NULL,
	target           TEXT    NOT NULL,
	start_ns         INTEGER NOT NULL,
	end_ns           INTEGER NOT NULL,
	requested_rps    REAL    NOT NULL,
	achieved_rps     REAL    NOT NULL,
	requests         INTEGER NOT NULL,
	errors           INTEGER NOT NULL,
	error_rate       REAL    NOT NULL,
	p50_ms           REAL    NOT NULL,
	p90_ms           REAL    NOT NULL,
	p99_ms           REAL    NOT NULL,
	interrupted      INTEGER NOT NULL,
	saved_ns         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX results_start ON results (start_ns, id);
CREATE INDEX results_profile ON results (profile_id, start_ns, id);
CREATE INDEX results_generator ON results (generator, start_ns, id);

CREATE TABLE result_labels (
	result_id TEXT NOT NULL REFERENCES results (id) ON DELETE CASCADE,
	key       TEXT NOT NULL,
	value     TEXT NOT NULL,
	PRIMARY KEY (result_id, key)
) WITHOUT ROWID;
CREATE INDEX result_labels_key_value ON result_labels (key, value);

CREATE TABLE result_targets (
	result_id TEXT    NOT NULL REFERENCES results (id) ON DELETE CASCADE,
	position  INTEGER NOT NULL,
	target    TEXT    NOT NULL,
	PRIMARY KEY (result_id, position)
) WITHOUT ROWID;
CREATE INDEX result_targets_target ON result_targets (target);

-- Bodies are large: a rowid table, read only by GetResult.
CREATE TABLE result_bodies (
	result_id TEXT NOT NULL PRIMARY KEY REFERENCES results (id) ON DELETE CASCADE,
	body      BLOB NOT NULL
);
