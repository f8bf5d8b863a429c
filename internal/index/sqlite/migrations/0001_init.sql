-- 0001: initial recordings index schema.
-- Times are int64 unix microseconds UTC; see docs/format/index.md.

CREATE TABLE sites (
	id         TEXT    PRIMARY KEY,
	name       TEXT    NOT NULL,
	region     TEXT    NOT NULL,
	created_us INTEGER NOT NULL,
	updated_us INTEGER NOT NULL
) STRICT;

CREATE TABLE cameras (
	id             TEXT    PRIMARY KEY,
	name           TEXT    NOT NULL,
	site           TEXT    REFERENCES sites (id) ON DELETE RESTRICT,
	source         TEXT    NOT NULL,
	transport      TEXT    NOT NULL,
	record         INTEGER NOT NULL,
	retention_days INTEGER NOT NULL,
	analytics      TEXT    NOT NULL,
	created_us     INTEGER NOT NULL,
	updated_us     INTEGER NOT NULL
) STRICT;

CREATE INDEX cameras_site ON cameras (site);

-- camera is deliberately not a foreign key: footage outlives its camera row
-- until retention removes it.
CREATE TABLE segments (
	id        INTEGER PRIMARY KEY,
	camera    TEXT    NOT NULL,
	start_us  INTEGER NOT NULL,
	end_us    INTEGER NOT NULL,
	bytes     INTEGER NOT NULL,
	path      TEXT    NOT NULL UNIQUE,
	state     INTEGER NOT NULL,
	init_size INTEGER NOT NULL,
	codecs    TEXT    NOT NULL,
	fragments BLOB    NOT NULL
) STRICT;

CREATE INDEX segments_camera_start ON segments (camera, start_us);
CREATE INDEX segments_start ON segments (start_us);
CREATE INDEX segments_open ON segments (id) WHERE state = 1;

-- segment_stats is a single row kept up to date by triggers: the sum of
-- segments.bytes (TotalBytes without a table scan) and the longest
-- end_us - start_us ever stored (the lower bound for range scans on
-- segments_camera_start). max_span_us never decreases.
CREATE TABLE segment_stats (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	total_bytes INTEGER NOT NULL,
	max_span_us INTEGER NOT NULL
) STRICT;

INSERT INTO segment_stats (id, total_bytes, max_span_us) VALUES (1, 0, 0);

CREATE TRIGGER segments_stats_insert AFTER INSERT ON segments BEGIN
	UPDATE segment_stats SET
		total_bytes = total_bytes + NEW.bytes,
		max_span_us = max(max_span_us, NEW.end_us - NEW.start_us)
	WHERE id = 1;
END;

CREATE TRIGGER segments_stats_update AFTER UPDATE OF bytes, start_us, end_us ON segments BEGIN
	UPDATE segment_stats SET
		total_bytes = total_bytes - OLD.bytes + NEW.bytes,
		max_span_us = max(max_span_us, NEW.end_us - NEW.start_us)
	WHERE id = 1;
END;

CREATE TRIGGER segments_stats_delete AFTER DELETE ON segments BEGIN
	UPDATE segment_stats SET total_bytes = total_bytes - OLD.bytes WHERE id = 1;
END;

CREATE TABLE gaps (
	id       INTEGER PRIMARY KEY,
	camera   TEXT    NOT NULL,
	start_us INTEGER NOT NULL,
	end_us   INTEGER NOT NULL,
	state    TEXT    NOT NULL,
	reason   TEXT    NOT NULL
) STRICT;

CREATE INDEX gaps_camera_end ON gaps (camera, end_us);
CREATE INDEX gaps_end ON gaps (end_us);

CREATE TABLE events (
	id       INTEGER PRIMARY KEY,
	camera   TEXT    NOT NULL,
	site     TEXT    NOT NULL,
	type     TEXT    NOT NULL,
	start_us INTEGER NOT NULL,
	end_us   INTEGER,
	data     TEXT    NOT NULL
) STRICT;

CREATE INDEX events_start ON events (start_us, id);
CREATE INDEX events_camera_start ON events (camera, start_us, id);
CREATE INDEX events_site_start ON events (site, start_us, id);
CREATE INDEX events_type_start ON events (type, start_us, id);
