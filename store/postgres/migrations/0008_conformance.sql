-- Conformance results (meshperf conformance run): one row per run of a
-- conformance profile, with the columns a listing and the mesh x test
-- matrix filter on, and the whole result (tests, messages, the official
-- ConformanceReport YAML) as JSON in body. Times are Unix nanoseconds.

CREATE TABLE conformance_results (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	kind          TEXT    NOT NULL,
	profile       TEXT    NOT NULL,
	suite_version TEXT    NOT NULL,
	mesh          TEXT    NOT NULL,
	mesh_version  TEXT    NOT NULL,
	outcome       TEXT    NOT NULL,
	passed        INTEGER NOT NULL,
	failed        INTEGER NOT NULL,
	skipped       INTEGER NOT NULL,
	not_run       INTEGER NOT NULL,
	started_ns    BIGINT  NOT NULL,
	finished_ns   BIGINT  NOT NULL,
	body          BYTEA   NOT NULL
);
CREATE INDEX conformance_results_started ON conformance_results (started_ns, id);
CREATE INDEX conformance_results_mesh ON conformance_results (mesh, mesh_version, started_ns);
