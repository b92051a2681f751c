# Golden cases for the Data API stand-in: Redshift SQL in, the outcome out (rows, a count, or the exact error).
# Each case: "-- case: NAME", optionally "-- as: IDENTITY" (a name of s3shift_local::identity::standard; the
# admin otherwise), the statement, "-- expect", the outcome. Cases run in order, one session per identity.
# Regenerate the expectations with S3SHIFT_BLESS=1 cargo test -p s3shift-local --test redshift_golden, then
# review the diff.
# The pq_* cases COPY from files the runner writes first: s3://golden/pq/<name>.parquet, one nullable column v
# of one row, ZSTD unless named otherwise: string, string-long (two rows, the second 9 bytes), string-snappy,
# string-uncompressed, string-v2-pages (version 2
# data pages), binary (BYTE_ARRAY without STRING), int16 (INT32 with INT(16)), int32, int64, float, double,
# boolean, date, timestamp (INT64 TIMESTAMP(MICROS, not adjusted to UTC)), timestamp-utc (adjusted to UTC),
# timestamp-millis, decimal-10-2; and s3://golden/pq/all-missing.manifest, a manifest of two optional files
# that do not exist.

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
2026-11-29 12:34:56 | 2026-11-01 00:00:00 | 3

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

-- case: privileges: an object is its owner's
CREATE SCHEMA acl
-- expect
OK

-- case: privileges: a table in it
CREATE TABLE acl.t (a INTEGER)
-- expect
OK

-- case: privileges: a row
INSERT INTO acl.t VALUES (1), (2)
-- expect
OK rows=2

-- case: privileges: a role
CREATE ROLE reader
-- expect
OK

-- case: privileges: who am I
-- as: nobody
SELECT current_user AS who
-- expect
who
IAMR:s3shift-local-nobody

-- case: privileges: no usage on the schema
-- as: nobody
SELECT * FROM acl.t
-- expect
ERROR: permission denied for schema acl

-- case: privileges: a role to a user
GRANT ROLE reader TO "IAMR:s3shift-local-nobody"
-- expect
OK

-- case: privileges: usage to the role
GRANT USAGE ON SCHEMA acl TO ROLE reader
-- expect
OK

-- case: privileges: usage is not select
-- as: nobody
SELECT * FROM acl.t
-- expect
ERROR: permission denied for relation t

-- case: privileges: select to the role
GRANT SELECT ON TABLE acl.t TO ROLE reader
-- expect
OK

-- case: privileges: select through the role
-- as: nobody
SELECT a FROM acl.t ORDER BY a
-- expect
a
1
2

-- case: privileges: select is not insert
-- as: nobody
INSERT INTO acl.t VALUES (3)
-- expect
ERROR: permission denied for relation t

-- case: privileges: select is not delete
-- as: nobody
DELETE FROM acl.t WHERE a = 1
-- expect
ERROR: permission denied for relation t

-- case: privileges: has_table_privilege
-- as: nobody
SELECT has_table_privilege('acl.t', 'select') AS s, has_table_privilege('acl.t', 'insert') AS i, has_schema_privilege('acl', 'usage') AS u, has_schema_privilege('acl', 'create') AS c
-- expect
s | i | u | c
true | false | true | false

-- case: privileges: has_table_privilege of another user
SELECT has_table_privilege('IAMR:s3shift-local-nobody', 'acl.t', 'select') AS s
-- expect
s
true

-- case: privileges: an unknown privilege
-- as: nobody
SELECT has_table_privilege('acl.t', 'fly') AS f
-- expect
ERROR: unrecognized privilege type: "fly"

-- case: privileges: no create in the schema
-- as: nobody
CREATE TABLE acl.mine (b INTEGER)
-- expect
ERROR: permission denied for schema acl

-- case: privileges: no schema without create on the database
-- as: nobody
CREATE SCHEMA mine
-- expect
ERROR: permission denied for database dev

-- case: privileges: temporary tables are everyone's
-- as: nobody
CREATE TEMP TABLE scratch (LIKE acl.t)
-- expect
OK

-- case: privileges: only the owner drops
-- as: nobody
DROP TABLE acl.t
-- expect
ERROR: must be owner of relation t

-- case: privileges: only the owner alters
-- as: nobody
ALTER TABLE acl.t ADD COLUMN c INTEGER
-- expect
ERROR: must be owner of relation t

-- case: privileges: only the owner grants
-- as: nobody
GRANT SELECT ON acl.t TO PUBLIC
-- expect
ERROR: permission denied for relation t

-- case: privileges: only a superuser creates roles
-- as: nobody
CREATE ROLE mine
-- expect
ERROR: permission denied to create role

-- case: privileges: only a superuser grants roles
-- as: nobody
GRANT ROLE reader TO "IAMR:s3shift-local-analyst"
-- expect
ERROR: permission denied to grant role

-- case: privileges: default privileges of another user
-- as: nobody
ALTER DEFAULT PRIVILEGES FOR USER "IAM:s3shift-local-admin" GRANT SELECT ON TABLES TO PUBLIC
-- expect
ERROR: permission denied: only a superuser may alter the default privileges of another user

-- case: privileges: default privileges for later tables
ALTER DEFAULT PRIVILEGES IN SCHEMA acl GRANT SELECT, INSERT ON TABLES TO ROLE reader
-- expect
OK

-- case: privileges: a later table
CREATE TABLE acl.later (b INTEGER)
-- expect
OK

-- case: privileges: the later table has them
-- as: nobody
INSERT INTO acl.later VALUES (7)
-- expect
OK rows=1

-- case: privileges: but not more
-- as: nobody
DELETE FROM acl.later
-- expect
ERROR: permission denied for relation later

-- case: privileges: a view and not its table
CREATE VIEW acl.v AS SELECT b FROM acl.later WITH NO SCHEMA BINDING
-- expect
OK

-- case: privileges: revoke from the role
REVOKE SELECT ON acl.t FROM ROLE reader
-- expect
OK

-- case: privileges: revoked
-- as: nobody
SELECT a FROM acl.t
-- expect
ERROR: permission denied for relation t

-- case: privileges: all tables in a schema
GRANT SELECT ON ALL TABLES IN SCHEMA acl TO ROLE reader
-- expect
OK

-- case: privileges: select on the view through all tables
-- as: nobody
SELECT COUNT(*) AS n FROM acl.v
-- expect
n
1

-- case: privileges: a role that does not exist
GRANT SELECT ON acl.t TO ROLE nosuch
-- expect
ERROR: role "nosuch" does not exist

-- case: privileges: a user that does not exist
GRANT SELECT ON acl.t TO "IAMR:never-signed-in"
-- expect
ERROR: user "IAMR:never-signed-in" does not exist

-- case: privileges: a role twice
CREATE ROLE reader
-- expect
ERROR: role "reader" already exists

-- case: privileges: column-level grants are not modelled
GRANT SELECT (a) ON acl.t TO ROLE reader
-- expect
ERROR: s3shift-local does not support column-level privileges

-- case: privileges: grant option is not modelled
GRANT SELECT ON acl.t TO "IAMR:s3shift-local-nobody" WITH GRANT OPTION
-- expect
ERROR: s3shift-local does not support WITH GRANT OPTION

-- case: privileges: users come from IAM
CREATE USER bob PASSWORD 'Abcdefgh1'
-- expect
ERROR: s3shift-local does not support CREATE USER: database users come from IAM identities (IAM:<user>, IAMR:<role>) or the admin secret

-- case: privileges: group grantees are not modelled
GRANT SELECT ON acl.t TO GROUP g
-- expect
ERROR: s3shift-local does not support GROUP grantees (use ROLE)

-- case: privileges: the privilege catalog is no one's
-- as: nobody
SELECT * FROM s3shift_acl.grants
-- expect
ERROR: permission denied for schema s3shift_acl

-- case: privileges: drop a role
DROP ROLE reader
-- expect
OK

-- case: privileges: and its grants went with it
-- as: nobody
SELECT b FROM acl.later
-- expect
ERROR: permission denied for schema acl

-- case: integers divide as integers
SELECT 7::BIGINT / 2 AS q, 7 / 2 AS r, -7 / 2 AS n, 7.0 / 2 AS f, CAST(7 AS DOUBLE PRECISION) / 2 AS d
-- expect
q | r | n | f | d
3 | 3 | -3 | 3.5 | 3.5

-- case: REGION is not a Parquet COPY option
COPY stage FROM 's3://stage/m.json' IAM_ROLE default FORMAT AS PARQUET MANIFEST REGION 'us-east-1'
-- expect
ERROR: COPY option REGION is not supported with FORMAT AS PARQUET

-- case: the public schema exists
CREATE TABLE public.pt (a INTEGER)
-- expect
OK

-- case: and is on the search path
INSERT INTO pt VALUES (7)
-- expect
OK rows=1

-- case: qualified or not, the same table
SELECT a FROM public.pt
-- expect
a
7

-- case: the catalog calls it public
SELECT table_schema, column_name FROM svv_columns WHERE table_name = 'pt'
-- expect
table_schema | column_name
public | a

-- case: everyone may create in public
-- as: nobody
CREATE TABLE public.np (b INTEGER)
-- expect
OK

-- case: but not read another user's table there
-- as: nobody
SELECT a FROM public.pt
-- expect
ERROR: permission denied for relation pt

-- case: public in the privilege functions
-- as: nobody
SELECT has_schema_privilege('public', 'create') AS c, has_table_privilege('public.np', 'insert') AS i
-- expect
c | i
true | true

-- case: grants on the public schema
GRANT USAGE ON SCHEMA public TO PUBLIC
-- expect
OK

-- case: pq_varchar table
CREATE TABLE pq_varchar (v VARCHAR(8))
-- expect
OK

-- case: pq_integer table
CREATE TABLE pq_integer (v INTEGER)
-- expect
OK

-- case: pq_bigint table
CREATE TABLE pq_bigint (v BIGINT)
-- expect
OK

-- case: pq_smallint table
CREATE TABLE pq_smallint (v SMALLINT)
-- expect
OK

-- case: pq_real table
CREATE TABLE pq_real (v REAL)
-- expect
OK

-- case: pq_double table
CREATE TABLE pq_double (v DOUBLE PRECISION)
-- expect
OK

-- case: pq_boolean table
CREATE TABLE pq_boolean (v BOOLEAN)
-- expect
OK

-- case: pq_date table
CREATE TABLE pq_date (v DATE)
-- expect
OK

-- case: pq_timestamp table
CREATE TABLE pq_timestamp (v TIMESTAMP)
-- expect
OK

-- case: pq_timestamptz table
CREATE TABLE pq_timestamptz (v TIMESTAMPTZ)
-- expect
OK

-- case: pq_decimal table
CREATE TABLE pq_decimal (v DECIMAL(10,2))
-- expect
OK

-- case: pq_decimal_wide table
CREATE TABLE pq_decimal_wide (v DECIMAL(12,2))
-- expect
OK

-- case: pq_varchar from string
COPY pq_varchar FROM 's3://golden/pq/string.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_varchar from string-snappy
COPY pq_varchar FROM 's3://golden/pq/string-snappy.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_varchar from string-uncompressed
COPY pq_varchar FROM 's3://golden/pq/string-uncompressed.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/string-uncompressed.parquet' column 'v' is compressed with UNCOMPRESSED: s3shift-local reads only the Parquet codecs AWS documents, SNAPPY and ZSTD (Data files for queries in Amazon Redshift Spectrum)

-- case: pq_varchar from string-v2-pages
COPY pq_varchar FROM 's3://golden/pq/string-v2-pages.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/string-v2-pages.parquet' column 'v' has version 2 data pages: AWS documents the Apache Parquet v1 data file format (Data files for queries in Amazon Redshift Spectrum)

-- case: pq_varchar from binary
COPY pq_varchar FROM 's3://golden/pq/binary.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/binary.parquet' has an incompatible Parquet schema for column 'v'. Column type: VARCHAR, Parquet schema:
optional byte_array v [i:0 d:1 r:0]

-- case: pq_varchar from int32
COPY pq_varchar FROM 's3://golden/pq/int32.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/int32.parquet' has an incompatible Parquet schema for column 'v'. Column type: VARCHAR, Parquet schema:
optional int32 v [i:0 d:1 r:0]

-- case: pq_integer from int32
COPY pq_integer FROM 's3://golden/pq/int32.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_integer from int16
COPY pq_integer FROM 's3://golden/pq/int16.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/int16.parquet' has an incompatible Parquet schema for column 'v'. Column type: INTEGER, Parquet schema:
optional int32 v (INTEGER(16,true)) [i:0 d:1 r:0]

-- case: pq_integer from int64
COPY pq_integer FROM 's3://golden/pq/int64.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/int64.parquet' has an incompatible Parquet schema for column 'v'. Column type: INTEGER, Parquet schema:
optional int64 v [i:0 d:1 r:0]

-- case: pq_bigint from int64
COPY pq_bigint FROM 's3://golden/pq/int64.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_bigint from int32
COPY pq_bigint FROM 's3://golden/pq/int32.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/int32.parquet' has an incompatible Parquet schema for column 'v'. Column type: BIGINT, Parquet schema:
optional int32 v [i:0 d:1 r:0]

-- case: pq_smallint from int16
COPY pq_smallint FROM 's3://golden/pq/int16.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/int16.parquet' has an incompatible Parquet schema for column 'v'. Column type: SMALLINT, Parquet schema:
optional int32 v (INTEGER(16,true)) [i:0 d:1 r:0]

-- case: pq_smallint from int32
COPY pq_smallint FROM 's3://golden/pq/int32.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/int32.parquet' has an incompatible Parquet schema for column 'v'. Column type: SMALLINT, Parquet schema:
optional int32 v [i:0 d:1 r:0]

-- case: pq_real from float
COPY pq_real FROM 's3://golden/pq/float.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_real from double
COPY pq_real FROM 's3://golden/pq/double.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/double.parquet' has an incompatible Parquet schema for column 'v'. Column type: REAL, Parquet schema:
optional double v [i:0 d:1 r:0]

-- case: pq_double from double
COPY pq_double FROM 's3://golden/pq/double.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_double from float
COPY pq_double FROM 's3://golden/pq/float.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/float.parquet' has an incompatible Parquet schema for column 'v'. Column type: DOUBLE PRECISION, Parquet schema:
optional float v [i:0 d:1 r:0]

-- case: pq_boolean from boolean
COPY pq_boolean FROM 's3://golden/pq/boolean.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_date from date
COPY pq_date FROM 's3://golden/pq/date.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_date from timestamp
COPY pq_date FROM 's3://golden/pq/timestamp.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/timestamp.parquet' has an incompatible Parquet schema for column 'v'. Column type: DATE, Parquet schema:
optional int64 v (TIMESTAMP(MICROS,false)) [i:0 d:1 r:0]

-- case: pq_timestamp from timestamp
COPY pq_timestamp FROM 's3://golden/pq/timestamp.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_timestamp from timestamp-utc
COPY pq_timestamp FROM 's3://golden/pq/timestamp-utc.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/timestamp-utc.parquet' has an incompatible Parquet schema for column 'v'. Column type: TIMESTAMP, Parquet schema:
optional int64 v (TIMESTAMP(MICROS,true)) [i:0 d:1 r:0]

-- case: pq_timestamp from timestamp-millis
COPY pq_timestamp FROM 's3://golden/pq/timestamp-millis.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/timestamp-millis.parquet' has an incompatible Parquet schema for column 'v'. Column type: TIMESTAMP, Parquet schema:
optional int64 v (TIMESTAMP(MILLIS,false)) [i:0 d:1 r:0]

-- case: pq_timestamptz from timestamp
COPY pq_timestamptz FROM 's3://golden/pq/timestamp.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/timestamp.parquet' has an incompatible Parquet schema for column 'v'. Column type: TIMESTAMPTZ, Parquet schema:
optional int64 v (TIMESTAMP(MICROS,false)) [i:0 d:1 r:0]

-- case: pq_timestamptz from timestamp-utc
COPY pq_timestamptz FROM 's3://golden/pq/timestamp-utc.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/timestamp-utc.parquet' has an incompatible Parquet schema for column 'v'. Column type: TIMESTAMPTZ, Parquet schema:
optional int64 v (TIMESTAMP(MICROS,true)) [i:0 d:1 r:0]

-- case: pq_decimal from decimal-10-2
COPY pq_decimal FROM 's3://golden/pq/decimal-10-2.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
OK rows=1

-- case: pq_decimal_wide from decimal-10-2
COPY pq_decimal_wide FROM 's3://golden/pq/decimal-10-2.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/decimal-10-2.parquet' has an incompatible Parquet schema for column 'v'. Column type: NUMERIC(12,2), Parquet schema:
optional int64 v (DECIMAL(10,2)) [i:0 d:1 r:0]

-- case: pq loaded values
SELECT (SELECT v FROM pq_varchar LIMIT 1) AS s, (SELECT v FROM pq_integer) AS i, (SELECT v FROM pq_bigint) AS b, (SELECT v FROM pq_real) AS r, (SELECT v FROM pq_double) AS d, (SELECT v FROM pq_boolean) AS t, (SELECT v FROM pq_date) AS day, (SELECT v FROM pq_timestamp) AS ts, (SELECT v FROM pq_decimal) AS n
-- expect
s | i | b | r | d | t | day | ts | n
a | 7 | 7 | 1.5 | 1.5 | true | 2026-01-01 | 2026-01-01 00:00:00 | 123.45

-- case: a staged timestamp read AT TIME ZONE 'UTC' is the instant
SELECT v AT TIME ZONE 'UTC' AS instant FROM pq_timestamp
-- expect
instant
2026-01-01 00:00:00+00

-- case: AT TIME ZONE 'UTC' of a TIMESTAMPTZ is its UTC wall-clock time
SELECT TIMESTAMPTZ '2001-02-16 20:38:40+00' AT TIME ZONE 'UTC' AS wall
-- expect
wall
2001-02-16 20:38:40

-- case: a staged integer cast to SMALLINT
SELECT CAST(v AS SMALLINT) AS small FROM pq_integer
-- expect
small
7

-- case: COPY's IAM_ROLE must be associated with the namespace
COPY pq_varchar FROM 's3://golden/pq/string.parquet' IAM_ROLE 'arn:aws:iam::123456789012:role/not-associated' FORMAT AS PARQUET
-- expect
ERROR: exception name : UnauthorizedException, error type : 135, message: Not authorized to get credentials of role arn:aws:iam::123456789012:role/not-associated, should retry : 0 (the role is not associated with the namespace)

-- case: AT TIME ZONE other than UTC is refused, not answered wrongly
SELECT v AT TIME ZONE 'MST' AS t FROM pq_timestamp
-- expect
ERROR: s3shift-local supports AT TIME ZONE 'UTC' only, not 'MST' (its DuckDB has no time zone database)

-- case: a view to replace
CREATE VIEW pq_view AS SELECT v FROM pq_integer
-- expect
OK

-- case: replacing a view with the same columns
CREATE OR REPLACE VIEW pq_view AS SELECT v FROM pq_integer WHERE v > 0
-- expect
OK

-- case: replacing a view may not rename a column
CREATE OR REPLACE VIEW pq_view AS SELECT v AS w FROM pq_integer
-- expect
ERROR: cannot change name of view column "v" to "w"

-- case: replacing a view may not add a column
CREATE OR REPLACE VIEW pq_view AS SELECT v, v AS w FROM pq_integer
-- expect
ERROR: cannot change number of columns in view

-- case: replacing a view may not change a column's type
CREATE OR REPLACE VIEW pq_view AS SELECT CAST(v AS BIGINT) AS v FROM pq_integer
-- expect
ERROR: cannot change data type of view column "v" from integer to bigint

-- case: the view is unchanged
SELECT v FROM pq_view
-- expect
v
7

-- case: a failed cast reads like Redshift's
SELECT CAST('12a' AS INTEGER) AS n
-- expect
ERROR: Invalid digit, Value 'a', Pos 2, Type: Integer

-- case: a failed cast of the row-count check's text
SELECT CAST('row count check failed: staged 2 rows, COPY loaded 4' AS INTEGER) AS row_count_check
-- expect
ERROR: Invalid digit, Value 'r', Pos 0, Type: Integer

-- case: an integer out of range
SELECT CAST('99999999999' AS INTEGER) AS n
-- expect
ERROR: Overflow (Integer valid range -2147483648 to 2147483647)

-- case: SUM of integers
SELECT SUM(v) AS total FROM pq_integer
-- expect
total
7

-- case: a Parquet COPY fails on its first bad value with Spectrum's error
COPY pq_varchar FROM 's3://golden/pq/string-long.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: Spectrum Scan Error. File 's3://golden/pq/string-long.parquet' row 2, column 'v': String length exceeds DDL length. Length: 9 bytes, limit: 8

-- case: and logs that one value, file_name blank-padded CHAR(256)
SELECT length(file_name) AS len, TRIM(file_name) AS file, line_number, TRIM(column_name) AS col, error_code FROM sys_load_error_detail ORDER BY start_time DESC LIMIT 5
-- expect
len | file | line_number | col | error_code
256 | s3://golden/pq/string-long.parquet | 2 | v | 1204

-- case: a manifest whose files are all missing fails the COPY
COPY pq_varchar FROM 's3://golden/pq/all-missing.manifest' IAM_ROLE default FORMAT AS PARQUET MANIFEST
-- expect
ERROR: Manifest file 's3://golden/pq/all-missing.manifest': none of the files it lists exists; COPY found no file to load

-- case: anyone may assume every associated role until a superuser revokes PUBLIC's ASSUMEROLE (GRANT)
-- as: nobody
SELECT has_assumerole_privilege('arn:aws:iam::000000000000:role/s3shift-local-copy', 'copy') AS may_copy, has_database_privilege('dev', 'temp') AS may_temp
-- expect
may_copy | may_temp
true | true

-- case: only a superuser grants ASSUMEROLE
-- as: nobody
GRANT ASSUMEROLE ON DEFAULT TO PUBLIC FOR COPY
-- expect
ERROR: permission denied: only a superuser may grant or revoke the ASSUMEROLE permission

-- case: ASSUMEROLE names what it is for
REVOKE ASSUMEROLE ON ALL FROM PUBLIC
-- expect
ERROR: syntax error at or near "end of input"

-- case: revoking PUBLIC's blanket permission
REVOKE ASSUMEROLE ON ALL FROM PUBLIC FOR ALL
-- expect
OK

-- case: a user who may insert into the table
GRANT INSERT ON pq_varchar TO PUBLIC
-- expect
OK

-- case: then a COPY by another user is refused in the GRANT page's words
-- as: nobody
COPY pq_varchar FROM 's3://golden/pq/string-long.parquet' IAM_ROLE default FORMAT AS PARQUET
-- expect
ERROR: User IAMR:s3shift-local-nobody does not have ASSUMEROLE permission on IAM role "arn:aws:iam::000000000000:role/s3shift-local-copy" for COPY

-- case: and HAS_ASSUMEROLE_PRIVILEGE says so
-- as: nobody
SELECT has_assumerole_privilege('arn:aws:iam::000000000000:role/s3shift-local-copy', 'copy') AS may_copy
-- expect
may_copy
false

-- case: a user can only view its own ASSUMEROLE privileges
-- as: nobody
SELECT has_assumerole_privilege('IAM:s3shift-local-admin', 'arn:aws:iam::000000000000:role/s3shift-local-copy', 'copy') AS may_copy
-- expect
ERROR: permission denied: a user can only view its own ASSUMEROLE privileges

-- case: PUBLIC's blanket permission back, for the cases after these
GRANT ASSUMEROLE ON ALL TO PUBLIC FOR ALL
-- expect
OK

-- case: and the table's insert taken back
REVOKE INSERT ON pq_varchar FROM PUBLIC
-- expect
OK
