-- Views for analysts. Late-binding (WITH NO SCHEMA BINDING): they survive the tables being rebuilt and never
-- block a migration. Day boundaries are UTC: last_modified is cast to TIMESTAMP (UTC) before it is cut to a date.

CREATE OR REPLACE VIEW s3shift.images_per_day AS
SELECT
    source,
    CAST(CAST(last_modified AS TIMESTAMP) AS DATE) AS upload_day,
    COUNT(*) AS images,
    SUM(CASE WHEN status = 'ok' THEN 1 ELSE 0 END) AS images_ok,
    SUM(size_bytes) AS total_bytes
FROM s3shift.images
GROUP BY source, CAST(CAST(last_modified AS TIMESTAMP) AS DATE)
WITH NO SCHEMA BINDING;

CREATE OR REPLACE VIEW s3shift.camera_models AS
SELECT
    camera_make,
    camera_model,
    COUNT(*) AS images,
    MIN(taken_at_local) AS first_taken_local,
    MAX(taken_at_local) AS last_taken_local
FROM s3shift.images
WHERE camera_model IS NOT NULL
GROUP BY camera_make, camera_model
WITH NO SCHEMA BINDING;

CREATE OR REPLACE VIEW s3shift.gps_tagged_images AS
SELECT
    source,
    bucket,
    object_key,
    etag,
    taken_at_utc,
    taken_at_local,
    gps_latitude,
    gps_longitude,
    gps_altitude_m,
    camera_make,
    camera_model
FROM s3shift.images
WHERE gps_latitude IS NOT NULL AND gps_longitude IS NOT NULL
WITH NO SCHEMA BINDING;

CREATE OR REPLACE VIEW s3shift.quarantined_objects AS
SELECT
    source,
    bucket,
    object_key,
    etag,
    size_bytes,
    last_modified,
    status,
    reason,
    bytes_read,
    run_id,
    loaded_at
FROM s3shift.images
WHERE status NOT IN ('ok', 'unsupported')
WITH NO SCHEMA BINDING;
