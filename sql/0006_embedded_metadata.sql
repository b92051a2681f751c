-- What analysts ask of an image beyond EXIF (issue 29): captions and rights (XMP, IPTC), the ICC profile, whether
-- it is labelled AI-generated (IPTC digital source type, a C2PA manifest found in its first bytes: present, not
-- verified) and what its uploader claimed (key extension, Content-Type, user metadata) against its bytes.
--
-- ADD COLUMN appends each column after the existing ones, which is where s3shift_core::schema::IMAGES lists them
-- (COPY maps the staged Parquet's columns by position). Rows loaded before this migration keep NULL in every new
-- column; a backfill of a window that is still in the bucket fills them. ALTER TABLE holds the table's lock until
-- this file's transaction commits ("ALTER TABLE": only external tables refuse a transaction block), so a load
-- waits rather than staging the old shape against the new table.
ALTER TABLE s3shift.images ADD COLUMN taken_at_source VARCHAR(8);
ALTER TABLE s3shift.images ADD COLUMN title VARCHAR(512);
ALTER TABLE s3shift.images ADD COLUMN caption VARCHAR(2000);
ALTER TABLE s3shift.images ADD COLUMN keywords VARCHAR(2000);
ALTER TABLE s3shift.images ADD COLUMN creator VARCHAR(256);
ALTER TABLE s3shift.images ADD COLUMN rights VARCHAR(512);
ALTER TABLE s3shift.images ADD COLUMN rating DOUBLE PRECISION;
ALTER TABLE s3shift.images ADD COLUMN city VARCHAR(128);
ALTER TABLE s3shift.images ADD COLUMN country VARCHAR(128);
ALTER TABLE s3shift.images ADD COLUMN icc_profile VARCHAR(256);
ALTER TABLE s3shift.images ADD COLUMN icc_color_space VARCHAR(8);
ALTER TABLE s3shift.images ADD COLUMN digital_source_type VARCHAR(128);
ALTER TABLE s3shift.images ADD COLUMN c2pa_manifest_present BOOLEAN;
ALTER TABLE s3shift.images ADD COLUMN c2pa_claim_generator VARCHAR(256);
ALTER TABLE s3shift.images ADD COLUMN c2pa_digital_source_type VARCHAR(128);
ALTER TABLE s3shift.images ADD COLUMN key_extension VARCHAR(16);
ALTER TABLE s3shift.images ADD COLUMN extension_matches BOOLEAN;
ALTER TABLE s3shift.images ADD COLUMN content_type_matches BOOLEAN;
ALTER TABLE s3shift.images ADD COLUMN claim_signal VARCHAR(32);
ALTER TABLE s3shift.images ADD COLUMN user_metadata VARCHAR(2048);
ALTER TABLE s3shift.images ADD COLUMN checksum_algorithm VARCHAR(16);
ALTER TABLE s3shift.images ADD COLUMN checksum VARCHAR(64);
ALTER TABLE s3shift.images ADD COLUMN checksum_type VARCHAR(16);

-- analyst_images gains what is not personal. The creator is a person's name: like exact GPS, it stays out of the
-- analysts' view (s3shift_gps's view names it). City and country are coarser than the rounded coordinates the
-- view already shows. A view whose columns change is dropped and created again ("CREATE VIEW": a replacement must
-- generate the identical set of columns), and its grant given again, in this same transaction.
DROP VIEW s3shift.analyst_images;
-- Its columns keep the table's order (the rounded coordinates where the exact ones are), as 0003 made it.
CREATE VIEW s3shift.analyst_images AS
SELECT -- noqa: ST06
    source,
    bucket,
    object_key,
    version_id,
    etag,
    size_bytes,
    last_modified,
    expires_at,
    content_type,
    status,
    reason,
    format,
    mime_type,
    width,
    height,
    display_width,
    display_height,
    orientation,
    bit_depth,
    color_type,
    animated,
    camera_make,
    camera_model,
    lens_model,
    software,
    taken_at_local,
    taken_at_offset,
    taken_at_utc,
    ROUND(gps_latitude, 2) AS gps_latitude_approx,
    ROUND(gps_longitude, 2) AS gps_longitude_approx,
    exposure_time_s,
    f_number,
    iso,
    focal_length_mm,
    run_id,
    loaded_at,
    taken_at_source,
    title,
    caption,
    keywords,
    rights,
    rating,
    city,
    country,
    icc_profile,
    icc_color_space,
    digital_source_type,
    c2pa_manifest_present,
    c2pa_claim_generator,
    c2pa_digital_source_type,
    key_extension,
    extension_matches,
    content_type_matches,
    claim_signal,
    checksum_algorithm,
    checksum,
    checksum_type
FROM s3shift.images
WITH NO SCHEMA BINDING;
GRANT SELECT ON s3shift.analyst_images TO ROLE s3shift_analyst;

-- Images labelled as made by a generative model: by the IPTC digital source type in their XMP, by the actions of
-- a C2PA manifest found in their first bytes (claimed, never verified here), or both.
CREATE OR REPLACE VIEW s3shift.ai_labelled_images AS
SELECT
    source,
    bucket,
    object_key,
    etag,
    last_modified,
    format,
    digital_source_type,
    c2pa_manifest_present,
    c2pa_claim_generator,
    c2pa_digital_source_type,
    CASE
        WHEN
            digital_source_type IN ('trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia')
            AND c2pa_digital_source_type IN ('trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia')
            THEN 'both'
        WHEN digital_source_type IN ('trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia') THEN 'xmp'
        ELSE 'c2pa'
    END AS labelled_by
FROM s3shift.images
WHERE
    digital_source_type IN ('trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia')
    OR c2pa_digital_source_type IN ('trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia')
WITH NO SCHEMA BINDING;
GRANT SELECT ON s3shift.ai_labelled_images TO ROLE s3shift_analyst;

-- Uploads whose extension or Content-Type is not what their bytes are, and the security signals: an "image" that
-- is not one (HTML sent as image/png), an image that carries markup or script (a polyglot).
CREATE OR REPLACE VIEW s3shift.uploader_claim_mismatches AS
SELECT
    source,
    bucket,
    object_key,
    etag,
    last_modified,
    content_type,
    key_extension,
    format,
    mime_type,
    extension_matches,
    content_type_matches,
    claim_signal
FROM s3shift.images
WHERE
    extension_matches = FALSE
    OR content_type_matches = FALSE
    OR claim_signal IS NOT NULL
WITH NO SCHEMA BINDING;
GRANT SELECT ON s3shift.uploader_claim_mismatches TO ROLE s3shift_analyst;

-- The same bytes under more than one key (uploaded through both services, or twice): objects whose full-object
-- checksums agree, with the same algorithm. Needs `checksums = true` in the jobs' [limits]: a ranged GET carries no
-- checksum of the whole object, a HeadObject does ("Checking object integrity"). A composite checksum (of a
-- multipart upload's parts) depends on the part sizes, so it is left out.
CREATE OR REPLACE VIEW s3shift.duplicate_uploads AS
WITH shared AS (
    SELECT
        checksum_algorithm,
        checksum,
        COUNT(DISTINCT bucket || '/' || object_key) AS copies
    FROM s3shift.images
    WHERE checksum IS NOT NULL AND checksum_type = 'FULL_OBJECT'
    GROUP BY checksum_algorithm, checksum
    HAVING COUNT(DISTINCT bucket || '/' || object_key) > 1
)

SELECT
    i.checksum_algorithm,
    i.checksum,
    i.checksum_type,
    i.size_bytes,
    i.source,
    i.bucket,
    i.object_key,
    i.last_modified,
    shared.copies
FROM s3shift.images AS i
INNER JOIN shared ON i.checksum_algorithm = shared.checksum_algorithm AND i.checksum = shared.checksum
WHERE i.checksum_type = 'FULL_OBJECT'
WITH NO SCHEMA BINDING;
GRANT SELECT ON s3shift.duplicate_uploads TO ROLE s3shift_analyst;

-- The creator's name is personal, like exact coordinates: it is in the s3shift_gps role's view only.
CREATE OR REPLACE VIEW s3shift.image_creators AS
SELECT
    source,
    bucket,
    object_key,
    etag,
    creator,
    rights,
    taken_at_utc,
    taken_at_local
FROM s3shift.images
WHERE creator IS NOT NULL
WITH NO SCHEMA BINDING;
GRANT SELECT ON s3shift.image_creators TO ROLE s3shift_gps;
