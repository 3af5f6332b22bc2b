-- API tokens: the token each was minted with (an admin's API token; ''
-- for a token made from a login session), so that revoking a token
-- revokes what it minted; and names unique among a user's unrevoked
-- tokens. Duplicates an older meshperf allowed keep the oldest token's
-- name; the others get their ID appended.

ALTER TABLE api_tokens ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET name = name || ' (' || id || ')'
	WHERE revoked_ns IS NULL AND EXISTS (
		SELECT 1 FROM api_tokens o
		WHERE o.owner_id = api_tokens.owner_id AND o.name = api_tokens.name AND o.revoked_ns IS NULL
			AND (o.created_ns < api_tokens.created_ns OR (o.created_ns = api_tokens.created_ns AND o.id < api_tokens.id)));
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (owner_id, name) WHERE revoked_ns IS NULL;
CREATE INDEX api_tokens_parent ON api_tokens (parent_id);
