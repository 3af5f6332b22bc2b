-- Team mode's users and tokens (internal/auth), schedules, and the schedule
-- of a run. Times are Unix nanoseconds; NULL for a zero time. Tokens are
-- stored as their hex SHA-256, never themselves.

CREATE TABLE users (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name          TEXT COLLATE "C" NOT NULL UNIQUE,
	admin         BOOLEAN NOT NULL,
	password_hash BYTEA   NOT NULL, -- bcrypt
	created_ns    BIGINT  NOT NULL
);

-- A family is the tokens of one login: revoking it sets revoked_ns on all.
CREATE TABLE refresh_tokens (
	hash        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	family_id   TEXT COLLATE "C" NOT NULL,
	parent_hash TEXT COLLATE "C" NOT NULL, -- '' for the token of the login
	user_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_ns  BIGINT NOT NULL,
	expires_ns  BIGINT NOT NULL,
	used_ns     BIGINT,
	revoked_ns  BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE api_tokens (
	id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	owner_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT   NOT NULL,
	hash         TEXT COLLATE "C" NOT NULL UNIQUE,
	created_ns   BIGINT NOT NULL,
	last_used_ns BIGINT,
	revoked_ns   BIGINT
);
CREATE INDEX api_tokens_owner ON api_tokens (owner_id, created_ns, id);

-- The spec and time zone are stored as given: the server validates them.
CREATE TABLE schedules (
	id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	profile_id  TEXT COLLATE "C" NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
	spec        TEXT    NOT NULL,
	timezone    TEXT    NOT NULL,
	enabled     BOOLEAN NOT NULL,
	created_ns  BIGINT  NOT NULL,
	last_due_ns BIGINT,
	last_run_id TEXT COLLATE "C" NOT NULL,
	next_due_ns BIGINT
);
CREATE INDEX schedules_profile ON schedules (profile_id, created_ns, id);
CREATE INDEX schedules_due ON schedules (next_due_ns, id) WHERE enabled;

-- No foreign key to schedules: runs outlive the schedules that started them.
ALTER TABLE runs ADD COLUMN schedule_id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN due_ns BIGINT;
