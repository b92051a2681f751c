-- s3shift: the curated images table and the load ledger.
-- The column list of images must stay equal to s3shift_core::schema::IMAGES (COPY of Parquet maps columns by
-- position); a test compares the two, and every run checks the live table before reading any object.

CREATE SCHEMA IF NOT EXISTS s3shift;

-- One row per source object version (bucket, object_key, etag, version_id). Analysts filter on time ranges, so
-- rows are sorted by last_modified; the distribution key is object_key so that the loader's merge, which joins
-- the staged rows to this table on the object identity, stays on one slice.
CREATE TABLE IF NOT EXISTS s3shift.images (
    source VARCHAR(64) NOT NULL,
    bucket VARCHAR(63) NOT NULL,
    object_key VARCHAR(1024) NOT NULL,
    version_id VARCHAR(1024),
    etag VARCHAR(128) NOT NULL,
    size_bytes BIGINT NOT NULL,
    last_modified TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    content_type VARCHAR(256),
    status VARCHAR(16) NOT NULL,
    reason VARCHAR(1024),
    format VARCHAR(16),
    mime_type VARCHAR(64),
    width INTEGER,
    height INTEGER,
    display_width INTEGER,
    display_height INTEGER,
    orientation SMALLINT,
    bit_depth SMALLINT,
    color_type VARCHAR(32),
    animated BOOLEAN,
    camera_make VARCHAR(128),
    camera_model VARCHAR(128),
    lens_model VARCHAR(128),
    software VARCHAR(256),
    taken_at_local TIMESTAMP,
    taken_at_offset VARCHAR(8),
    taken_at_utc TIMESTAMPTZ,
    gps_latitude DOUBLE PRECISION,
    gps_longitude DOUBLE PRECISION,
    gps_altitude_m DOUBLE PRECISION,
    exposure_time_s DOUBLE PRECISION,
    f_number DOUBLE PRECISION,
    iso INTEGER,
    focal_length_mm DOUBLE PRECISION,
    bytes_read BIGINT NOT NULL,
    run_id VARCHAR(128) NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bucket, object_key, etag)
)
DISTSTYLE KEY
DISTKEY (object_key)
COMPOUND SORTKEY (last_modified, source);

-- The ledger: every object version a run loaded, committed in the same transaction as its images row.
CREATE TABLE IF NOT EXISTS s3shift.loaded_objects (
    source VARCHAR(64) NOT NULL,
    bucket VARCHAR(63) NOT NULL,
    object_key VARCHAR(1024) NOT NULL,
    version_id VARCHAR(1024),
    etag VARCHAR(128) NOT NULL,
    size_bytes BIGINT NOT NULL,
    last_modified TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    status VARCHAR(16) NOT NULL,
    run_id VARCHAR(128) NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bucket, object_key, etag)
)
DISTSTYLE KEY
DISTKEY (object_key)
COMPOUND SORTKEY (source, last_modified);

-- One row per run: written as 'loaded' by the load transaction, completed by the run's report.
CREATE TABLE IF NOT EXISTS s3shift.runs (
    run_id VARCHAR(128) NOT NULL,
    job VARCHAR(64) NOT NULL,
    source VARCHAR(64) NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    loaded_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    status VARCHAR(16) NOT NULL,
    objects_listed BIGINT,
    objects_already_loaded BIGINT,
    objects_too_young BIGINT,
    objects_deferred BIGINT,
    objects_staged BIGINT,
    objects_quarantined BIGINT,
    objects_vanished BIGINT,
    objects_failed BIGINT,
    files_staged BIGINT,
    bytes_read BIGINT,
    get_requests BIGINT,
    data_api_statements BIGINT,
    min_slack_hours DOUBLE PRECISION,
    slowest_stage VARCHAR(16),
    duration_s DOUBLE PRECISION,
    message VARCHAR(1024),
    PRIMARY KEY (run_id)
)
DISTSTYLE ALL
SORTKEY (started_at);
