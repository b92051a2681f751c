"""Conformance of the S3 stand-in with boto3 and the AWS CLI: a second, independent client of our server.

Usage: s3_boto3.py ENDPOINT_URL (credentials and region come from the environment). Prints one line per check
and "N passed, 0 failed" at the end; exits 1 on the first failure with what differed.
"""
import io
import os
import subprocess
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

passed = 0


def check(name, cond, detail=""):
    global passed
    if not cond:
        print(f"FAIL {name}: {detail}")
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print(f"ok   {name}")


def error_code(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, None


def main(endpoint):
    s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="boto-ingest")

    body = bytes(range(256)) * 40
    put = s3.put_object(Bucket="boto-ingest", Key="dir/img 1.jpg", Body=body, ContentType="image/jpeg",
                        Metadata={"uploader": "kafka"})
    etag = put["ETag"]
    check("put returns a quoted MD5 ETag", etag.startswith('"') and len(etag) == 34, etag)

    head = s3.head_object(Bucket="boto-ingest", Key="dir/img 1.jpg")
    check("head: size", head["ContentLength"] == len(body), head["ContentLength"])
    check("head: etag", head["ETag"] == etag, head["ETag"])
    check("head: user metadata", head["Metadata"].get("uploader") == "kafka", head["Metadata"])
    check("head: content type", head["ContentType"] == "image/jpeg", head["ContentType"])

    got = s3.get_object(Bucket="boto-ingest", Key="dir/img 1.jpg", Range="bytes=100-199")
    check("ranged get: bytes", got["Body"].read() == body[100:200])
    check("ranged get: content-range", got["ContentRange"] == f"bytes 100-199/{len(body)}", got["ContentRange"])
    got = s3.get_object(Bucket="boto-ingest", Key="dir/img 1.jpg", Range="bytes=-16")
    check("suffix range", got["Body"].read() == body[-16:])
    code, status = error_code(lambda: s3.get_object(Bucket="boto-ingest", Key="dir/img 1.jpg", Range="bytes=99999-"))
    check("range past the end is 416", status == 416, (code, status))

    for i in range(7):
        s3.put_object(Bucket="boto-ingest", Key=f"page/{i:02d}.jpg", Body=b"x")
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket="boto-ingest", Prefix="page/",
                                                              PaginationConfig={"PageSize": 3}))
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    check("paginated listing: 3 pages", len(pages) == 3, len(pages))
    check("paginated listing: every key once, in order", keys == [f"page/{i:02d}.jpg" for i in range(7)], keys)
    check("listing carries ETags", all(o.get("ETag") for p in pages for o in p["Contents"]))
    listed = s3.list_objects_v2(Bucket="boto-ingest", Delimiter="/")
    check("delimiter gives common prefixes",
          sorted(p["Prefix"] for p in listed.get("CommonPrefixes", [])) == ["dir/", "page/"], listed)

    s3.put_object(Bucket="boto-ingest", Key="lease", Body=b"1", IfNoneMatch="*")
    code, status = error_code(lambda: s3.put_object(Bucket="boto-ingest", Key="lease", Body=b"2", IfNoneMatch="*"))
    check("If-None-Match on an existing key is 412", status == 412, (code, status))

    code, _ = error_code(lambda: s3.get_bucket_lifecycle_configuration(Bucket="boto-ingest"))
    check("no lifecycle yet", code == "NoSuchLifecycleConfiguration", code)
    s3.put_bucket_lifecycle_configuration(Bucket="boto-ingest", LifecycleConfiguration={"Rules": [
        {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 7}}]})
    rules = s3.get_bucket_lifecycle_configuration(Bucket="boto-ingest")["Rules"]
    check("lifecycle round trip", rules[0]["Expiration"]["Days"] == 7 and rules[0]["ID"] == "expire", rules)

    big = os.urandom(6 * 1024 * 1024 + 123)
    s3.upload_fileobj(io.BytesIO(big), "boto-ingest", "multi.bin",
                      Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
    check("multipart upload reads back whole",
          s3.get_object(Bucket="boto-ingest", Key="multi.bin")["Body"].read() == big)

    code, status = error_code(lambda: s3.get_object(Bucket="boto-ingest", Key="nope"))
    check("missing key is NoSuchKey", code == "NoSuchKey" and status == 404, (code, status))
    s3.delete_object(Bucket="boto-ingest", Key="lease")
    code, _ = error_code(lambda: s3.head_object(Bucket="boto-ingest", Key="lease"))
    check("deleted key is gone", code in ("404", "NoSuchKey"), code)

    # The AWS CLI, as an analyst or operator would use it.
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    env = dict(os.environ)
    run = lambda *args: subprocess.run([aws, "--endpoint-url", endpoint, *args], env=env, capture_output=True,
                                       text=True, check=False)
    out = run("s3", "ls", "s3://boto-ingest/page/")
    check("aws s3 ls", out.returncode == 0 and out.stdout.count(".jpg") == 7, out.stdout + out.stderr)
    tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"s3shift-cli-{os.getpid()}.bin")
    out = run("s3api", "get-object", "--bucket", "boto-ingest", "--key", "dir/img 1.jpg", "--range", "bytes=0-9", tmp)
    with open(tmp, "rb") as f:
        check("aws s3api get-object --range", out.returncode == 0 and f.read() == body[:10], out.stderr)
    os.remove(tmp)

    print(f"{passed} passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1])
