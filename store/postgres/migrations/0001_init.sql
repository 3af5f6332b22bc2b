-- Times are Unix nanoseconds (BIGINT), as on SQLite, so that both compare
-- and paginate alike. IDs and names use the "C" collation: byte order, the
-- order of SQLite and of ID prefix lookups.

CREATE TABLE profiles (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL UNIQUE,
	revision   INTEGER NOT NULL, -- the latest
	created_ns BIGINT  NOT NULL,
	updated_ns BIGINT  NOT NULL
);

CREATE TABLE profile_revisions (
	profile_id TEXT COLLATE "C" NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
	revision   INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	body       BYTEA   NOT NULL,
	created_ns BIGINT  NOT NULL,
	PRIMARY KEY (profile_id, revision)
);

CREATE TABLE profile_labels (
	profile_id TEXT COLLATE "C" NOT NULL,
	revision   INTEGER NOT NULL,
	key        TEXT    NOT NULL,
	value      TEXT    NOT NULL,
	PRIMARY KEY (profile_id, revision, key),
	FOREIGN KEY (profile_id, revision) REFERENCES profile_revisions (profile_id, revision) ON DELETE CASCADE
);
CREATE INDEX profile_labels_key_value ON profile_labels (key, value);

-- No foreign key to profiles: results outlive the profiles they ran.
CREATE TABLE results (
	id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name             TEXT    NOT NULL,
	profile_id       TEXT COLLATE "C" NOT NULL,
	profile_revision INTEGER NOT NULL,
	generator        TEXT    NOT NULL,
	target           TEXT    NOT NULL,
	start_ns         BIGINT  NOT NULL,
	end_ns           BIGINT  NOT NULL,
	requested_rps    DOUBLE PRECISION NOT NULL,
	achieved_rps     DOUBLE PRECISION NOT NULL,
	requests         BIGINT  NOT NULL,
	errors           BIGINT  NOT NULL,
	error_rate       DOUBLE PRECISION NOT NULL,
	p50_ms           DOUBLE PRECISION NOT NULL,
	p90_ms           DOUBLE PRECISION NOT NULL,
	p99_ms           DOUBLE PRECISION NOT NULL,
	interrupted      BOOLEAN NOT NULL,
	saved_ns         BIGINT  NOT NULL
);
CREATE INDEX results_start ON results (start_ns, id);
CREATE INDEX results_profile ON results (profile_id, start_ns, id);
CREATE INDEX results_generator ON results (generator, start_ns, id);

CREATE TABLE result_labels (
	result_id TEXT COLLATE "C" NOT NULL REFERENCES results (id) ON DELETE CASCADE,
	key       TEXT NOT NULL,
	value     TEXT NOT NULL,
	PRIMARY KEY (result_id, key)
);
CREATE INDEX result_labels_key_value ON result_labels (key, value);

CREATE TABLE result_targets (
	result_id TEXT COLLATE "C" NOT NULL REFERENCES results (id) ON DELETE CASCADE,
	position  INTEGER NOT NULL,
	target    TEXT    NOT NULL,
	PRIMARY KEY (result_id, position)
);
CREATE INDEX result_targets_target ON result_targets (target);

-- The body is stored as is: it is gzipped already.
CREATE TABLE result_bodies (
	result_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES results (id) ON DELETE CASCADE,
	body      BYTEA NOT NULL
);
ALTER TABLE result_bodies ALTER COLUMN body SET STORAGE EXTERNAL;
