-- Runs belong to the server instance that queued them: a starting server
-- interrupts only the runs of instances whose heartbeat is stale, so a
-- second server on the same database leaves the first one's runs alone.
-- Runs from before this migration have no instance ('') and count as
-- orphaned. Times are Unix nanoseconds.

ALTER TABLE runs ADD COLUMN instance_id TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE TABLE server_instances (
	id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	started_ns   BIGINT NOT NULL,
	heartbeat_ns BIGINT NOT NULL
);
