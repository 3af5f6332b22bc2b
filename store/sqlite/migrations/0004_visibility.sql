-- Team mode's private data: who made a profile, result, run or schedule
-- (a user ID; '' for data made in single-user mode or by the CLI), and
-- whether only its owner and admins may see it.

ALTER TABLE profiles ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
ALTER TABLE profiles ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
ALTER TABLE results ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
ALTER TABLE results ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
ALTER TABLE schedules ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
