"""Conformance of the Data API stand-in with boto3 and the AWS CLI: a second, independent client.

Usage: redshift_boto3.py ENDPOINT_URL (credentials and region from the environment). Prints one line per
check and "N passed, 0 failed" at the end; exits 1 on the first failure with what differed.
"""
import json
import os
import subprocess
import sys

import boto3
from botocore.exceptions import ClientError

from checks import check, done, wait

def main(endpoint):
    rd = boto3.client("redshift-data", endpoint_url=endpoint)
    out = rd.execute_statement(WorkgroupName="local", Database="dev",
                               Sql="CREATE TABLE t (id BIGINT, name VARCHAR(10), seen TIMESTAMP)")
    check("execute returns an id", len(out["Id"]) == 36, out)
    check("DDL finishes", wait(rd, out["Id"])["Status"] == "FINISHED")

    out = rd.execute_statement(WorkgroupName="local", Database="dev",
                               Sql="INSERT INTO t VALUES (:id::BIGINT, :name, '2026-01-02 03:04:05')",
                               Parameters=[{"name": "id", "value": "7"}, {"name": "name", "value": "o'brien"}])
    d = wait(rd, out["Id"])
    check("insert with parameters", d["Status"] == "FINISHED" and d["ResultRows"] == 1, d)

    out = rd.execute_statement(WorkgroupName="local", Database="dev", Sql="SELECT id, name, seen FROM t")
    d = wait(rd, out["Id"])
    check("select has a result set", d["HasResultSet"] is True and d["ResultRows"] == 1, d)
    res = rd.get_statement_result(Id=out["Id"])
    check("typed fields", res["Records"] == [[{"longValue": 7}, {"stringValue": "o'brien"},
                                               {"stringValue": "2026-01-02 03:04:05"}]], res["Records"])
    check("column metadata", [c["name"] for c in res["ColumnMetadata"]] == ["id", "name", "seen"], res)

    out = rd.batch_execute_statement(WorkgroupName="local", Database="dev",
                                     Sqls=["INSERT INTO t VALUES (8, 'x', NULL)", "SELECT count(*) FROM t"])
    d = wait(rd, out["Id"])
    check("batch finishes", d["Status"] == "FINISHED" and len(d["SubStatements"]) == 2, d)
    res = rd.get_statement_result(Id=out["Id"] + ":2")
    check("batch sub-statement result", res["Records"] == [[{"longValue": 2}]], res["Records"])

    out = rd.execute_statement(WorkgroupName="local", Database="dev", Sql="INSERT INTO t VALUES (9, 'far too long', NULL)")
    d = wait(rd, out["Id"])
    check("failed statement carries Redshift's error",
          d["Status"] == "FAILED" and d["Error"] == "ERROR: value too long for type character varying(10)", d)

    try:
        rd.describe_statement(Id="11111111-2222-4333-8444-555555555555")
        check("unknown id is ResourceNotFoundException", False)
    except ClientError as e:
        check("unknown id is ResourceNotFoundException", e.response["Error"]["Code"] == "ResourceNotFoundException", e)
    for bad in ({"WorkgroupName": "nope", "Database": "dev"}, {"WorkgroupName": "local", "Database": "nope"}):
        try:
            rd.execute_statement(Sql="SELECT 1", **bad)
            check(f"{bad} is refused, never run elsewhere", False)
        except ClientError as e:
            check(f"{bad} is refused, never run elsewhere", e.response["Error"]["Code"] == "ValidationException"
                  and "nope" in e.response["Error"]["Message"], e)
    try:
        rd.execute_statement(Database="dev", Sql="SELECT 1")
        check("no workgroup is ValidationException", False)
    except ClientError as e:
        check("no workgroup is ValidationException", e.response["Error"]["Code"] == "ValidationException", e)

    listed = rd.list_statements(MaxResults=3)
    check("list statements pages", len(listed["Statements"]) == 3 and "NextToken" in listed, listed)

    # The AWS CLI.
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    run = subprocess.run([aws, "--endpoint-url", endpoint, "redshift-data", "execute-statement",
                          "--workgroup-name", "local", "--database", "dev", "--sql", "SELECT 40 + 2 AS answer"],
                         capture_output=True, text=True, check=False)
    check("aws redshift-data execute-statement", run.returncode == 0, run.stderr)
    sid = json.loads(run.stdout)["Id"]
    wait(rd, sid)
    run = subprocess.run([aws, "--endpoint-url", endpoint, "redshift-data", "get-statement-result", "--id", sid],
                         capture_output=True, text=True, check=False)
    check("aws redshift-data get-statement-result",
          run.returncode == 0 and json.loads(run.stdout)["Records"] == [[{"longValue": 42}]], run.stdout + run.stderr)

    # Identities: botocore's own SigV4 signature is verified; a wrong secret, an unknown key and another
    # identity's privileges are refused with the service's error codes and Redshift's words.
    def client(key, secret):
        return boto3.client("redshift-data", endpoint_url=endpoint, aws_access_key_id=key,
                            aws_secret_access_key=secret)

    try:
        client(os.environ["AWS_ACCESS_KEY_ID"], "not-the-secret").list_statements()
        check("a wrong secret is InvalidSignatureException", False)
    except ClientError as e:
        check("a wrong secret is InvalidSignatureException",
              e.response["Error"]["Code"] == "InvalidSignatureException", e)
    try:
        client("no-such-key", "x").list_statements()
        check("an unknown key is UnrecognizedClientException", False)
    except ClientError as e:
        check("an unknown key is UnrecognizedClientException",
              e.response["Error"]["Code"] == "UnrecognizedClientException", e)
    analyst = client("s3shift-local-analyst", "s3shift-local-analyst-secret")
    out = analyst.execute_statement(WorkgroupName="local", Database="dev", Sql="SELECT current_user")
    res = analyst.get_statement_result(Id=wait(analyst, out["Id"])["Id"])
    check("a role's statements run as IAMR:<role>",
          res["Records"] == [[{"stringValue": "IAMR:s3shift-local-analyst"}]], res["Records"])
    out = analyst.execute_statement(WorkgroupName="local", Database="dev", Sql="DELETE FROM t")
    d = wait(analyst, out["Id"])
    check("another user's table is refused in Redshift's words",
          d["Status"] == "FAILED" and d["Error"] == "ERROR: permission denied for relation t", d)
    try:
        analyst.execute_statement(WorkgroupName="local", Database="dev", Sql="SELECT 1",
                                  SecretArn="arn:aws:secretsmanager:us-east-1:000000000000:secret:"
                                            "redshift!s3shift-local-admin-Ab12Cd")
        check("the admin secret needs GetSecretValue", False)
    except ClientError as e:
        check("the admin secret needs GetSecretValue", e.response["Error"]["Code"] == "AccessDeniedException", e)

    done()


if __name__ == "__main__":
    main(sys.argv[1])
