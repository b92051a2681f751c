-- The load lock and the lease fences: what keeps loads exactly once when they overlap.
--
-- Every load batch starts with `LOCK s3shift.load_fences`, before any statement that takes its snapshot, so loads
-- into this schema run one after another and each one's snapshot holds the rows of the loads before it
-- ("Isolation levels in Amazon Redshift"; "LOCK"). It then checks the row of the lease its run holds: a batch
-- whose generation is older than the one recorded fails and commits nothing (a run that stalled past its lease's
-- TTL while another took over), else it records its own. One row per lease object; a handful of rows in all.
CREATE TABLE IF NOT EXISTS s3shift.load_fences (
    lease VARCHAR(1024) NOT NULL,
    generation BIGINT NOT NULL,
    run_id VARCHAR(128) NOT NULL,
    committed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (lease)
)
DISTSTYLE ALL;

-- The loader reads, replaces and locks the fences. LOCK's page names no privilege; the stand-in asks for DELETE,
-- as PostgreSQL's ACCESS EXCLUSIVE does (UPDATE, DELETE or TRUNCATE), which the loader holds here.
GRANT SELECT, INSERT, DELETE ON s3shift.load_fences TO ROLE s3shift_loader;
