-- Experiments: an experiment file run cell by cell. Each cell is a result
-- labelled experiment=<id>; this row keeps the file (canonical JSON), how
-- many cells it has and how many are stored, so a listing needs no scan of
-- results and an interrupted experiment can be resumed. Times are Unix
-- nanoseconds.

CREATE TABLE experiments (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	error      TEXT    NOT NULL,
	body       BLOB    NOT NULL,
	cells      INTEGER NOT NULL,
	done       INTEGER NOT NULL,
	created_ns INTEGER NOT NULL,
	updated_ns INTEGER NOT NULL
);
CREATE INDEX experiments_created ON experiments (created_ns, id);
CREATE INDEX experiments_name ON experiments (name, created_ns);
