-- Team mode's users and tokens (internal/auth), schedules, and the schedule
-- of a run. Times are Unix nanoseconds; NULL for a zero time. Tokens are
-- stored as their hex SHA-256, never themselves.

CREATE TABLE users (
	id            TEXT    NOT NULL PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE,
	admin         INTEGER NOT NULL,
	password_hash BLOB    NOT NULL, -- bcrypt
	created_ns    INTEGER NOT NULL
);

-- A family is the tokens of one login: revoking it sets revoked_ns on all.
CREATE TABLE refresh_tokens (
	hash        TEXT    NOT NULL PRIMARY KEY,
	family_id   TEXT    NOT NULL,
	parent_hash TEXT    NOT NULL, -- '' for the token of the login
	user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_ns  INTEGER NOT NULL,
	expires_ns  INTEGER NOT NULL,
	used_ns     INTEGER,
	revoked_ns  INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE api_tokens (
	id           TEXT    NOT NULL PRIMARY KEY,
	owner_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	hash         TEXT    NOT NULL UNIQUE,
	created_ns   INTEGER NOT NULL,
	last_used_ns INTEGER,
	revoked_ns   INTEGER
);
CREATE INDEX api_tokens_owner ON api_tokens (owner_id, created_ns, id);

-- The spec and time zone are stored as given: the server validates them.
CREATE TABLE schedules (
	id          TEXT    NOT NULL PRIMARY KEY,
	profile_id  TEXT    NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
	spec        TEXT    NOT NULL,
	timezone    TEXT    NOT NULL,
	enabled     INTEGER NOT NULL,
	created_ns  INTEGER NOT NULL,
	last_due_ns INTEGER,
	last_run_id TEXT    NOT NULL,
	next_due_ns INTEGER
);
CREATE INDEX schedules_profile ON schedules (profile_id, created_ns, id);
CREATE INDEX schedules_due ON schedules (next_due_ns, id) WHERE enabled;

-- No foreign key to schedules: runs outlive the schedules that started them.
ALTER TABLE runs ADD COLUMN schedule_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN due_ns INTEGER;
