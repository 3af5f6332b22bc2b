-- Designs (internal/design): a named set of Kubernetes resources and chart
-- references, with every revision, like profiles. A revision's labels are
-- kept as a JSON object beside its body: listings filter them in Go, and
-- designs are few. Times are Unix nanoseconds.

CREATE TABLE designs (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	revision   INTEGER NOT NULL, -- the latest
	owner_id   TEXT    NOT NULL DEFAULT '',
	private    BOOLEAN NOT NULL DEFAULT FALSE,
	created_ns BIGINT  NOT NULL,
	updated_ns BIGINT  NOT NULL
);

CREATE TABLE design_revisions (
	design_id  TEXT COLLATE "C" NOT NULL REFERENCES designs (id) ON DELETE CASCADE,
	revision   INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	labels     TEXT    NOT NULL,
	body       BYTEA    NOT NULL,
	created_ns BIGINT  NOT NULL,
	PRIMARY KEY (design_id, revision)
);
