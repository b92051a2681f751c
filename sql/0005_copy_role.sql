-- Who may use the COPY role: the loader, and nobody else (issue 28 item 1).
--
-- By default every database user may use every IAM role associated with the namespace ("Restricting access to IAM
-- roles"). The COPY role reads the staging bucket, whose Parquet files hold every column, exact GPS included, for
-- the staging lifecycle's days; so any user able to create a temporary table (TEMP is PUBLIC's) could copy them
-- past the views that round coordinates. GRANT, "Usage notes for granting the ASSUMEROLE permission": a superuser
-- revokes the blanket permission once, then grants the roles a user, role or group may assume, per command.
-- A superuser always keeps it (the admin, who runs migrations). sqlfluff's Redshift grammar lacks ASSUMEROLE,
-- which the GRANT and REVOKE pages document: hence the noqa.
REVOKE ASSUMEROLE ON ALL FROM PUBLIC FOR ALL; -- noqa: PRS

-- The loader's COPY names the namespace's default role (`copy_iam_role = "default"`); a job that names the role
-- by ARN gets that ARN granted by `s3shift migrate <job>` (the grant must name the role as COPY does).
GRANT ASSUMEROLE ON DEFAULT TO ROLE s3shift_loader FOR COPY; -- noqa: PRS
