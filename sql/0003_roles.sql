-- Who may do what in the warehouse: a database role per kind of user, applied by `s3shift migrate` as the admin.
--
-- Nobody signs in as a named database user. Each ECS task calls the Data API with its IAM role, so its statements
-- run as the database user IAMR:<role name>; the role's RedshiftDbRoles tag gives that user the database roles below
-- when it signs in ("Defining database roles to grant to federated users in Amazon Redshift Serverless"). Analysts
-- do the same with their own IAM role (GetCredentials) through the tunnel. deploy/ sets the tags.
--
-- s3shift_loader: what a run needs and nothing more. It reads and writes the three tables it owns no part of, and
-- creates nothing: its stage table is temporary (TEMP is PUBLIC's by default). DELETE and UPDATE also need SELECT
-- ("The SELECT privilege is also required to reference existing column values for UPDATE or DELETE operations",
-- GRANT).
CREATE ROLE s3shift_loader;
GRANT USAGE ON SCHEMA s3shift TO ROLE s3shift_loader;
GRANT SELECT, INSERT, DELETE ON s3shift.images TO ROLE s3shift_loader;
GRANT SELECT, INSERT, DELETE ON s3shift.loaded_objects TO ROLE s3shift_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON s3shift.runs TO ROLE s3shift_loader;
-- A table a later migration adds (as the admin, in this schema) is the loader's too. sqlfluff's Redshift grammar
-- lacks `TO ROLE` in ALTER DEFAULT PRIVILEGES, which the AWS page (ALTER DEFAULT PRIVILEGES) documents.
ALTER DEFAULT PRIVILEGES IN SCHEMA s3shift
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ROLE s3shift_loader; -- noqa: PRS, CP02

-- GPS coordinates are personal data: an analyst sees them rounded to two decimals (0.01 degree, about 1.1 km of
-- latitude) unless also granted s3shift_gps. The mechanism is views with grants, not dynamic data masking:
-- querying a late-binding view needs SELECT on the view only, the owner's rights reach the table ("CREATE VIEW"),
-- so analysts get no privilege on s3shift.images at all; and "Having privileges granted on a view doesn't imply
-- having privileges on the underlying tables" (GRANT, usage notes). A masking policy would instead follow each
-- querying user into every view ("Considerations when using dynamic data masking") and needs a policy per role;
-- views keep the rule in one place that every SQL client and the stand-in read the same way.
CREATE OR REPLACE VIEW s3shift.analyst_images AS
SELECT
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
    loaded_at
FROM s3shift.images
WITH NO SCHEMA BINDING;

-- s3shift_analyst: read-only, views only (and the runs table, which holds no personal data).
CREATE ROLE s3shift_analyst;
GRANT USAGE ON SCHEMA s3shift TO ROLE s3shift_analyst;
GRANT SELECT ON s3shift.analyst_images TO ROLE s3shift_analyst;
GRANT SELECT ON s3shift.images_per_day TO ROLE s3shift_analyst;
GRANT SELECT ON s3shift.camera_models TO ROLE s3shift_analyst;
GRANT SELECT ON s3shift.quarantined_objects TO ROLE s3shift_analyst;
GRANT SELECT ON s3shift.runs TO ROLE s3shift_analyst;

-- s3shift_gps: exact coordinates, for the few who need them; given on top of s3shift_analyst.
CREATE ROLE s3shift_gps;
GRANT USAGE ON SCHEMA s3shift TO ROLE s3shift_gps;
GRANT SELECT ON s3shift.gps_tagged_images TO ROLE s3shift_gps;
