"""Concurrency of the Data API stand-in, judged by boto3 from two sessions: what Redshift's pages say of LOCK and
of its two isolation levels.

- "LOCK": "obtains a table-level lock in ACCESS EXCLUSIVE mode, waiting if necessary for any conflicting locks
  to be released ... The lock is released when the transaction that contains the LOCK command completes."
- "Isolation levels in Amazon Redshift": a transaction's snapshot is taken at its first SELECT, DML or CREATE
  TABLE (LOCK is none of them), so a batch that waited on a lock sees what its holder committed.
- What's New (May 2022): under SNAPSHOT ISOLATION "concurrent modifications to different rows in the same table
  would complete successfully"; SERIALIZABLE refuses a transaction that cannot be serialized (error 1023,
  "Troubleshooting serializable isolation errors"). "CREATE or ALTER DATABASE ISOLATION LEVEL" switches them.

Usage: redshift_concurrency.py ENDPOINT_URL (credentials and region from the environment).
"""
import sys
import time

import boto3

from checks import check, done, wait

DB = {"WorkgroupName": "local", "Database": "dev"}


def main(endpoint):
    a = boto3.client("redshift-data", endpoint_url=endpoint)
    b = boto3.client("redshift-data", endpoint_url=endpoint)

    def run(client, sql, **kw):
        extra = kw if "SessionId" in kw else {**DB, **kw}
        out = client.execute_statement(Sql=sql, **extra)
        d = wait(client, out["Id"])
        check(f"{sql!r} finishes", d["Status"] == "FINISHED", d)
        return out

    def count(sql):
        out = run(a, sql)
        return a.get_statement_result(Id=out["Id"])["Records"][0][0]["longValue"]

    run(a, "CREATE TABLE c (k INTEGER)")
    run(a, "CREATE TABLE d (k INTEGER)")
    run(a, "INSERT INTO c VALUES (1)")

    # Session A holds a lock on c inside a transaction; B's batch waits on its own LOCK, then takes its snapshot
    # after A's commit: its DELETE sees A's row, so the table holds each key once.
    begin = a.execute_statement(Sql="BEGIN", SessionKeepAliveSeconds=60, **DB)
    wait(a, begin["Id"])
    session = begin["SessionId"]
    run(a, "LOCK c", SessionId=session)
    batch = b.batch_execute_statement(Sqls=["LOCK c", "DELETE FROM c WHERE k = 2", "INSERT INTO c VALUES (2)"],
                                      **DB)
    time.sleep(0.5)
    waiting = b.describe_statement(Id=batch["Id"])
    check("a batch waits on a table another session locked", waiting["Status"] in ("PICKED", "STARTED"), waiting)
    run(a, "INSERT INTO c VALUES (2)", SessionId=session)
    run(a, "COMMIT", SessionId=session)
    d = wait(b, batch["Id"])
    check("the waiting batch finishes once the lock's transaction commits", d["Status"] == "FINISHED", d)
    check("its snapshot was taken after that commit: it deleted the committed row",
          d["SubStatements"][1]["ResultRows"] == 1, d["SubStatements"])
    check("each key once", count("SELECT COUNT(*) FROM c WHERE k = 2") == 1)

    # A waiting batch can be cancelled; the holder's transaction is not disturbed.
    begin = a.execute_statement(Sql="BEGIN", SessionId=session)
    wait(a, begin["Id"])
    run(a, "LOCK c", SessionId=session)
    batch = b.batch_execute_statement(Sqls=["LOCK c", "INSERT INTO c VALUES (9)"], **DB)
    time.sleep(0.3)
    b.cancel_statement(Id=batch["Id"])
    d = wait(b, batch["Id"])
    check("a batch cancelled while it waits for a lock is ABORTED", d["Status"] == "ABORTED", d)
    run(a, "COMMIT", SessionId=session)
    check("nothing of it committed", count("SELECT COUNT(*) FROM c WHERE k = 9") == 0)

    # A LOCK outside a transaction block ends with its statement ("only meaningful when it is run inside a
    # transaction block"): it leaves nothing locked.
    run(a, "LOCK c")
    run(b, "INSERT INTO c VALUES (3)")

    # Two transactions that each read what the other writes: SNAPSHOT commits both, SERIALIZABLE refuses the
    # second with error 1023.
    def cycle():
        begin = a.execute_statement(Sql="BEGIN", SessionId=session)
        wait(a, begin["Id"])
        run(a, "SELECT COUNT(*) FROM c", SessionId=session)
        run(a, "INSERT INTO d VALUES (1)", SessionId=session)
        other = b.batch_execute_statement(Sqls=["SELECT COUNT(*) FROM d", "INSERT INTO c VALUES (4)"], **DB)
        check("the other transaction commits first", wait(b, other["Id"])["Status"] == "FINISHED")
        out = a.execute_statement(Sql="COMMIT", SessionId=session)
        return wait(a, out["Id"])

    d = cycle()
    check("SNAPSHOT: both commit", d["Status"] == "FINISHED", d)
    run(a, "ALTER DATABASE dev ISOLATION LEVEL SERIALIZABLE")
    d = cycle()
    check("SERIALIZABLE: the second is refused with error 1023",
          d["Status"] == "FAILED" and "1023" in d.get("Error", "")
          and "Serializable isolation violation" in d["Error"], d)
    check("and rolled back", count("SELECT COUNT(*) FROM d") == 1)
    run(a, "ALTER DATABASE dev ISOLATION LEVEL SNAPSHOT")

    done()


if __name__ == "__main__":
    main(sys.argv[1])
