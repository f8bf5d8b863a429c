-- The credentials (userinfo) of a camera's source URL, sealed with the
-- hub's secrets key (see docs/format/index.md); the source column then
-- holds the URL without them. Empty when the URL has none, or when the
-- index is used without a key.
ALTER TABLE cameras ADD COLUMN source_secret TEXT NOT NULL DEFAULT '';
