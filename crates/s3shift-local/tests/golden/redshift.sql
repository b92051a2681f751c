# Golden cases for the Data API stand-in: Redshift SQL in, the outcome out (rows, a count, or the exact error).
# Each case: "-- case: NAME", the statement, "-- expect", the outcome. Cases run in order in one session.
# Regenerate the expectations with S3SHIFT_BLESS=1 cargo test -p s3shift-local --test redshift_golden, then
# review the diff.

-- case: schema
CREATE SCHEMA IF NOT EXISTS s3shift
-- expect
OK

-- case: table with Redshift-only DDL
CREATE TABLE s3shift.images (
  source VARCHAR(64) NOT NULL ENCODE zstd,
  object_key VARCHAR(1024) NOT NULL ENCODE zstd,
  etag VARCHAR(128) NOT NULL,
  size_bytes BIGINT NOT NULL ENCODE az64,
  last_modified TIMESTAMPTZ NOT NULL ENCODE az64,
  taken_at_local TIMESTAMP,
  gps_latitude DOUBLE PRECISION,
  animated BOOLEAN,
  PRIMARY KEY (source, object_key, etag)
) DISTSTYLE KEY DISTKEY (object_key) COMPOUND SORTKEY (last_modified, source) BACKUP YES
-- expect
OK

-- case: insert
INSERT INTO s3shift.images VALUES
  ('api', 'a.jpg', 'e1', 100, '2026-11-01 10:00:00+00', '2026-10-31 09:00:00', 48.85, false),
  ('api', 'b.jpg', 'e2', 200, '2026-11-02 10:00:00+00', NULL, NULL, true)
-- expect
OK rows=2

-- case: select with types
SELECT object_key, size_bytes, last_modified, taken_at_local, gps_latitude, animated FROM s3shift.images ORDER BY object_key
-- expect
object_key | size_bytes | last_modified | taken_at_local | gps_latitude | animated
a.jpg | 100 | 2026-11-01 10:00:00+00 | 2026-10-31 09:00:00 | 48.85 | false
b.jpg | 200 | 2026-11-02 10:00:00+00 | NULL | NULL | true

-- case: varchar limits are bytes
INSERT INTO s3shift.images (source, object_key, etag, size_bytes, last_modified) VALUES ('ééééééééééééééééééééééééééééééééé', 'x', 'e', 1, getdate())
-- expect
ERROR: value too long for type character varying(64)

-- case: not null
INSERT INTO s3shift.images (source, object_key, etag, size_bytes, last_modified) VALUES ('api', NULL, 'e', 1, getdate())
-- expect
ERROR: Cannot insert a NULL value into column object_key

-- case: temp table like the curated one
CREATE TEMP TABLE stage (LIKE s3shift.images)
-- expect
OK

-- case: stage rows
INSERT INTO stage VALUES ('api', 'b.jpg', 'e2', 250, '2026-11-02 10:00:00+00', NULL, 1.5, true), ('api', 'c.jpg', 'e3', 300, '2026-11-03 10:00:00+00', NULL, NULL, false)
-- expect
OK rows=2

-- case: temp table keeps the length checks
INSERT INTO stage (source, object_key, etag, size_bytes, last_modified) VALUES ('api', 'k', repeat('x', 129), 1, getdate())
-- expect
ERROR: value too long for type character varying(128)

-- case: merge on the object identity
MERGE INTO s3shift.images USING stage ON s3shift.images.object_key = stage.object_key AND s3shift.images.etag = stage.etag
WHEN MATCHED THEN UPDATE SET size_bytes = stage.size_bytes, gps_latitude = stage.gps_latitude
WHEN NOT MATCHED THEN INSERT VALUES (stage.source, stage.object_key, stage.etag, stage.size_bytes, stage.last_modified, stage.taken_at_local, stage.gps_latitude, stage.animated)
-- expect
OK rows=2

-- case: merged
SELECT object_key, size_bytes, gps_latitude FROM s3shift.images ORDER BY object_key
-- expect
object_key | size_bytes | gps_latitude
a.jpg | 100 | 48.85
b.jpg | 250 | 1.5
c.jpg | 300 | NULL

-- case: delete using
DELETE FROM s3shift.images USING stage WHERE s3shift.images.object_key = stage.object_key AND stage.size_bytes > 260
-- expect
OK rows=1

-- case: late-binding view
CREATE OR REPLACE VIEW s3shift.images_per_source AS SELECT source, count(*) AS images FROM s3shift.images GROUP BY source WITH NO SCHEMA BINDING
-- expect
OK

-- case: view
SELECT * FROM s3shift.images_per_source
-- expect
source | images
api | 2

-- case: cast and date functions
SELECT CAST('2026-11-28 12:34:56' AS TIMESTAMP) + INTERVAL '1 day' AS tomorrow, DATE_TRUNC('month', TIMESTAMP '2026-11-28 12:00:00') AS month, 7::BIGINT / 2 AS half
-- expect
tomorrow | month | half
2026-11-29 12:34:56 | 2026-11-01 00:00:00 | 3.5

-- case: missing relation
SELECT * FROM s3shift.nothing
-- expect
ERROR: relation "s3shift.nothing" does not exist

-- case: sort key on a missing column
CREATE TABLE s3shift.bad (a INT) SORTKEY (b)
-- expect
ERROR: column "b" named in SORTKEY does not exist

-- case: unknown encoding
CREATE TABLE s3shift.bad (a INT ENCODE gzipish)
-- expect
ERROR: type "gzipish" does not exist (ENCODE of column "a")

-- case: identity columns are not supported
CREATE TABLE s3shift.bad (id BIGINT IDENTITY(1, 1))
-- expect
ERROR: s3shift-local does not support IDENTITY columns (column "id")

-- case: unload is not supported
UNLOAD ('SELECT 1') TO 's3://bucket/prefix' IAM_ROLE default
-- expect
ERROR: s3shift-local does not support UNLOAD

-- case: copy needs parquet
COPY s3shift.images FROM 's3://staging/x' IAM_ROLE default CSV
-- expect
ERROR: COPY option CSV is not supported with FORMAT AS PARQUET

-- case: copy needs a role
COPY s3shift.images FROM 's3://staging/x' FORMAT AS PARQUET
-- expect
ERROR: COPY needs IAM_ROLE (default or a role ARN) or CREDENTIALS

-- case: maintenance commands are accepted
VACUUM s3shift.images
-- expect
OK

-- case: unterminated literal
SELECT 'abc
-- expect
ERROR: unterminated string literal starting at character 8
