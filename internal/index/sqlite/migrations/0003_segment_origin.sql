-- 0003: segments uploaded by a site gateway remember where they came from:
-- origin is the id of the gateway's spool ('' for footage the hub recorded),
-- first_seq the spool sequence number of the segment's first fragment, and
-- last_seq that of its last one (first_seq + fragment count - 1; 0 while it
-- has no fragments or when origin is ''), kept by the backend on every write
-- so that LastImported is one index lookup. See docs/format/index.md.
ALTER TABLE segments ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE segments ADD COLUMN first_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE segments ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;

CREATE INDEX segments_origin_seq ON segments (camera, origin, last_seq) WHERE origin != '';
