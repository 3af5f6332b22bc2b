-- The meshes a performance result's mesh context names (spec.Result.Mesh:
-- each mesh found in the cluster at the run's start, by its display name
-- lowercased, and its version), so that a conformance result and the
-- performance results of the same mesh version find each other. Results
-- stored before this migration have none.

CREATE TABLE result_meshes (
	result_id TEXT NOT NULL REFERENCES results (id) ON DELETE CASCADE,
	mesh      TEXT NOT NULL,
	version   TEXT NOT NULL,
	PRIMARY KEY (result_id, mesh)
);
CREATE INDEX result_meshes_mesh ON result_meshes (mesh, version);

CREATE INDEX conformance_results_lower_mesh ON conformance_results (lower(mesh), mesh_version, started_ns);
