-- Designs (internal/design): a named set of Kubernetes resources and chart
-- references, with every revision, like profiles. A revision's labels are
-- kept as a JSON object beside its body: listings filter them in Go, and
-- designs are few. Times are Unix nanoseconds.

CREATE TABLE designs (
	id         TEXT NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	revision   INTEGER NOT NULL, -- the latest
	owner_id   TEXT    NOT NULL DEFAULT '',
	private    INTEGER NOT NULL DEFAULT 0,
	created_ns INTEGER  NOT NULL,
	updated_ns INTEGER  NOT NULL
);

CREATE TABLE design_revisions (
	design_id  TEXT NOT NULL REFERENCES designs (id) ON DELETE CASCADE,
	revision   INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	labels     TEXT    NOT NULL,
	body       BLOB    NOT NULL,
	created_ns INTEGER  NOT NULL,
	PRIMARY KEY (design_id, revision)
);
