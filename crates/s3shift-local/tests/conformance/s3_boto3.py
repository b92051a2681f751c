"""Conformance of the S3 stand-in with boto3 and the AWS CLI: a second, independent client of our server.

Usage: s3_boto3.py ENDPOINT_URL (credentials and region come from the environment). Prints one line per check
and "N passed, 0 failed" at the end; exits 1 on the first failure with what differed.
"""
import datetime
import io
import json
import os
import subprocess
import sys

import boto3
import botocore.exceptions
import botocore.handlers
import botocore.httpchecksum
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from checks import check, done, error_code

def rules_id(s3):
    return s3.get_bucket_lifecycle_configuration(Bucket="boto-b1")["Rules"][0]["ID"]


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
    lease = s3.head_object(Bucket="boto-ingest", Key="lease")["ETag"]
    code, status = error_code(lambda: s3.put_object(Bucket="boto-ingest", Key="lease", Body=b"2", IfNoneMatch=lease))
    check("If-None-Match with an ETag on a write is refused, not ignored (S3 takes only '*')",
          code == "NotImplemented" and status == 501, (code, status))
    code, status = error_code(lambda: s3.put_object(Bucket="boto-ingest", Key="no-lease", Body=b"2", IfMatch=lease))
    check("If-Match on a missing key is 404 NoSuchKey", code == "NoSuchKey" and status == 404, (code, status))
    s3.put_object(Bucket="boto-ingest", Key="lease", Body=b"3", IfMatch=lease)
    check("If-Match with the current ETag writes", s3.get_object(Bucket="boto-ingest", Key="lease")["Body"].read() == b"3")

    # What every answer carries: a request id (header and error body) and S3's message for the code.
    meta = s3.head_bucket(Bucket="boto-ingest")["ResponseMetadata"]
    check("a success carries x-amz-request-id and x-amz-id-2",
          len(meta.get("RequestId", "")) == 16 and meta.get("HostId"), meta)
    try:
        s3.get_object(Bucket="boto-ingest", Key="no/such/key")
        raise SystemExit("a missing key was read")
    except botocore.exceptions.ClientError as e:
        err, meta = e.response["Error"], e.response["ResponseMetadata"]
        check("an error carries S3's message", err.get("Message") == "The specified key does not exist.", err)
        check("... and a request id", len(meta.get("RequestId", "")) == 16, meta)
    code, status = error_code(lambda: s3.create_bucket(Bucket="boto-ingest"))
    check("re-creating your own bucket in us-east-1 is 200 (S3's legacy answer there)", code is None, (code, status))
    west = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1",
                        config=Config(s3={"addressing_style": "path"}))
    code, status = error_code(lambda: west.create_bucket(
        Bucket="boto-ingest", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}))
    check("... and BucketAlreadyOwnedByYou in any other region", code == "BucketAlreadyOwnedByYou" and status == 409,
          (code, status))

    # Chunked uploads: the aws-chunked form S3 documents for a body of unknown length (Transfer-Encoding: chunked,
    # x-amz-decoded-content-length, no Content-Length), which botocore sends over TLS: made to send it here.
    real_urlparse = botocore.httpchecksum.urlparse
    botocore.httpchecksum.urlparse = lambda url: real_urlparse(url.replace("http://", "https://", 1))
    sent = {}
    seen = lambda request, **_: sent.update({k.lower(): v for k, v in request.headers.items()})
    s3.meta.events.register("before-send.s3.PutObject", seen)
    try:
        s3.put_object(Bucket="boto-ingest", Key="chunked.bin", Body=b"streamed in chunks")
    finally:
        botocore.httpchecksum.urlparse = real_urlparse
        s3.meta.events.unregister("before-send.s3.PutObject", seen)
    check("the upload was aws-chunked without Content-Length",
          sent.get("transfer-encoding") == b"chunked" and "content-length" not in sent, sent)
    check("... and reads back", s3.get_object(Bucket="boto-ingest", Key="chunked.bin")["Body"].read()
          == b"streamed in chunks")
    # A plain chunked body (no aws-chunked framing, no decoded length) states its length nowhere S3 documents:
    # refused as S3 refuses a missing length (MissingContentLength, 411), in S3's words.
    plain = lambda request, **_: request.headers.add_header("Transfer-Encoding", "chunked")
    s3.meta.events.register_first("before-sign.s3.PutObject", plain)
    try:
        s3.put_object(Bucket="boto-ingest", Key="plain.bin", Body=b"bar")
        raise SystemExit("a plain chunked body was stored")
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        check("a plain chunked body is MissingContentLength",
              err["Code"] == "MissingContentLength" and err["Message"] == "You must provide the Content-Length HTTP"
              " header.", err)
    finally:
        s3.meta.events.unregister("before-sign.s3.PutObject", plain)

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

    # No silent leniency: S3 never creates a bucket on a write, never deletes a bucket that holds objects.
    code, status = error_code(lambda: s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x"))
    check("PUT into a missing bucket is NoSuchBucket", code == "NoSuchBucket" and status == 404, (code, status))
    code, _ = error_code(lambda: s3.head_bucket(Bucket="no-such-bucket"))
    check("... and the bucket was not created", code in ("404", "NoSuchBucket"), code)
    code, status = error_code(lambda: s3.delete_bucket(Bucket="boto-ingest"))
    check("deleting a non-empty bucket is BucketNotEmpty", code == "BucketNotEmpty" and status == 409, (code, status))
    for name in ("boto-b1", "boto-b2", "boto-b3"):
        s3.create_bucket(Bucket=name)
    page = s3.list_buckets(MaxBuckets=2, Prefix="boto-b")
    check("MaxBuckets pages the buckets",
          [b["Name"] for b in page["Buckets"]] == ["boto-b1", "boto-b2"] and page.get("ContinuationToken"), page)
    rest = s3.list_buckets(MaxBuckets=2, Prefix="boto-b", ContinuationToken=page["ContinuationToken"])
    check("... and the next page has the rest", [b["Name"] for b in rest["Buckets"]] == ["boto-b3"], rest)
    s3.delete_bucket(Bucket="boto-b3")

    # Listing as fsspec lists: an empty delimiter is none; a prefix of '/' matches no key; url encoding.
    s3.put_object(Bucket="boto-b1", Key="2/a+b c.jpg", Body=b"x")
    s3.put_object(Bucket="boto-b1", Key="2/x/y.jpg", Body=b"x")
    out = s3.list_objects_v2(Bucket="boto-b1", Delimiter="")
    check("Delimiter='' lists every key, no common prefixes",
          [o["Key"] for o in out.get("Contents", [])] == ["2/a+b c.jpg", "2/x/y.jpg"]
          and not out.get("CommonPrefixes") and "Delimiter" not in out, out)
    out = s3.list_objects_v2(Bucket="boto-b1", Prefix="/")
    check("Prefix='/' matches nothing", out["KeyCount"] == 0 and not out.get("Contents"), out)
    out = s3.list_objects_v2(Bucket="boto-b1", Prefix="2/", Delimiter="/")
    check("keys with + and space survive botocore's url decoding",
          [o["Key"] for o in out["Contents"]] == ["2/a+b c.jpg"]
          and [p["Prefix"] for p in out["CommonPrefixes"]] == ["2/x/"], out)
    raw = boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
    raw.meta.events.unregister("before-parameter-build.s3.ListObjectsV2",
                               botocore.handlers.set_list_objects_encoding_type_url)
    out = raw.list_objects_v2(Bucket="boto-b1", Prefix="2/a", EncodingType="url")
    check("EncodingType=url encodes the keys (a space as %20) and says so",
          out.get("EncodingType") == "url" and out["Contents"][0]["Key"] == "2/a%2Bb%20c.jpg", out)
    # The S3 conformance suite's test_bucket_listv2_encoding_basic, as it runs against S3.
    for key in ("enc/foo+1/bar", "enc/foo/bar/xyzzy", "enc/quux ab/thud", "enc/asdf+b"):
        s3.put_object(Bucket="boto-b1", Key=key, Body=b"x")
    out = raw.list_objects_v2(Bucket="boto-b1", Prefix="enc/", Delimiter="/", EncodingType="url")
    check("the conformance suite's V2 encoding test",
          out["Delimiter"] == "/" and [o["Key"] for o in out["Contents"]] == ["enc/asdf%2Bb"]
          and [p["Prefix"] for p in out["CommonPrefixes"]] == ["enc/foo%2B1/", "enc/foo/", "enc/quux%20ab/"], out)
    # A key with every character XML 1.0 cannot carry but S3 allows in a key ("Creating object key names"),
    # next to XML's specials: botocore asks for the encoding, so it lists, and reads back byte for byte.
    odd = "odd/" + "".join(chr(c) for c in range(1, 32)) + "\x7f !\"#$%&'()*+,:;<=>?@[\\]^`{|}~é😀.jpg"
    s3.put_object(Bucket="boto-b1", Key=odd, Body=b"odd")
    out = s3.list_objects_v2(Bucket="boto-b1", Prefix="odd/")
    check("a key with control characters lists intact",
          [o["Key"] for o in out["Contents"]] == [odd], out)
    check("... and reads back", s3.get_object(Bucket="boto-b1", Key=odd)["Body"].read() == b"odd")
    s3.delete_object(Bucket="boto-b1", Key=odd)
    for key in ("enc/foo+1/bar", "enc/foo/bar/xyzzy", "enc/quux ab/thud", "enc/asdf+b"):
        s3.delete_object(Bucket="boto-b1", Key=key)
    out = s3.list_objects_v2(Bucket="boto-b1", FetchOwner=True)
    check("FetchOwner gives each object its owner", all(o.get("Owner", {}).get("ID") for o in out["Contents"]), out)

    # Conditional reads.
    head = s3.head_object(Bucket="boto-b1", Key="2/x/y.jpg")
    tag, modified = head["ETag"], head["LastModified"]
    later, earlier = modified + datetime.timedelta(seconds=5), modified - datetime.timedelta(days=1)
    code, status = error_code(lambda: s3.get_object(Bucket="boto-b1", Key="2/x/y.jpg", IfNoneMatch=tag))
    check("If-None-Match with the current ETag is 304", status == 304, (code, status))
    code, status = error_code(lambda: s3.head_object(Bucket="boto-b1", Key="2/x/y.jpg", IfModifiedSince=later))
    check("If-Modified-Since after the change is 304", status == 304, (code, status))
    code, status = error_code(lambda: s3.get_object(Bucket="boto-b1", Key="2/x/y.jpg", IfUnmodifiedSince=earlier))
    check("If-Unmodified-Since before the change is 412", code == "PreconditionFailed" and status == 412, (code, status))
    code, status = error_code(lambda: s3.get_object(Bucket="boto-b1", Key="2/x/y.jpg", IfMatch='"0000"'))
    check("If-Match with another ETag is 412", code == "PreconditionFailed" and status == 412, (code, status))
    got = s3.get_object(Bucket="boto-b1", Key="2/x/y.jpg", IfMatch=tag, IfModifiedSince=earlier)
    check("conditions that hold read the object", got["Body"].read() == b"x")
    code, status = error_code(lambda: s3.get_object(Bucket="boto-b1", Key="gone", IfMatch=tag))
    check("If-Match on a missing key is NoSuchKey", code == "NoSuchKey" and status == 404, (code, status))

    # Bucket configuration the product checks: default encryption and the bucket policy, stored as S3 does.
    enc = s3.get_bucket_encryption(Bucket="boto-b1")["ServerSideEncryptionConfiguration"]["Rules"][0]
    check("a new bucket has SSE-S3 by default",
          enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", enc)
    s3.put_bucket_encryption(Bucket="boto-b1", ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"},
        "BucketKeyEnabled": True}]})
    enc = s3.get_bucket_encryption(Bucket="boto-b1")["ServerSideEncryptionConfiguration"]["Rules"][0]
    check("SSE-KMS round trip", enc["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"} and enc["BucketKeyEnabled"] is True, enc)
    code, status = error_code(lambda: s3.put_bucket_encryption(Bucket="boto-b1", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}]}))
    check("a KMS key with AES256 is refused", status == 400, (code, status))
    s3.delete_bucket_encryption(Bucket="boto-b1")
    enc = s3.get_bucket_encryption(Bucket="boto-b1")["ServerSideEncryptionConfiguration"]["Rules"][0]
    check("deleting it resets to SSE-S3", enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", enc)
    code, status = error_code(lambda: s3.get_bucket_policy(Bucket="boto-b1"))
    check("no policy yet is NoSuchBucketPolicy", code == "NoSuchBucketPolicy" and status == 404, (code, status))
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::boto-b1/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    s3.put_bucket_policy(Bucket="boto-b1", Policy=policy)
    check("policy round trip", json.loads(s3.get_bucket_policy(Bucket="boto-b1")["Policy"]) == json.loads(policy))
    code, status = error_code(lambda: s3.put_bucket_policy(Bucket="boto-b1", Policy="not json"))
    check("a policy that is not JSON is MalformedPolicy", code == "MalformedPolicy" and status == 400, (code, status))
    code, status = error_code(lambda: s3.get_bucket_acl(Bucket="boto-b1"))
    check("what is not modelled is NotImplemented, naming the operation",
          code == "NotImplemented" and status == 501, (code, status))

    # Lifecycle validation, and x-amz-expiration on the objects a rule will expire.
    s3.put_bucket_lifecycle_configuration(Bucket="boto-b1", LifecycleConfiguration={"Rules": [
        {"Status": "Enabled", "Filter": {"Prefix": "2/"}, "Expiration": {"Days": 7}}]})
    rules = s3.get_bucket_lifecycle_configuration(Bucket="boto-b1")["Rules"]
    check("a rule without an ID is given one", len(rules[0].get("ID", "")) > 0, rules)
    bad = [
        ("a 256-character ID", [{"ID": "x" * 256, "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]),
        ("duplicate IDs", [{"ID": "a", "Status": "Enabled", "Filter": {"Prefix": "p"}, "Expiration": {"Days": 1}},
                           {"ID": "a", "Status": "Enabled", "Filter": {"Prefix": "q"}, "Expiration": {"Days": 1}}]),
        ("a Date not at midnight", [{"ID": "d", "Status": "Enabled", "Filter": {},
                                     "Expiration": {"Date": datetime.datetime(2030, 1, 1, 12, tzinfo=datetime.timezone.utc)}}]),
    ]
    for what, rules in bad:
        code, status = error_code(lambda: s3.put_bucket_lifecycle_configuration(
            Bucket="boto-b1", LifecycleConfiguration={"Rules": rules}))
        check(f"lifecycle with {what} is refused", status == 400, (code, status))
    put = s3.put_object(Bucket="boto-b1", Key="2/new.jpg", Body=b"x")
    head = s3.head_object(Bucket="boto-b1", Key="2/new.jpg")
    check("PUT and HEAD say when the rule expires the object",
          'expiry-date="' in put.get("Expiration", "") and head.get("Expiration") == put.get("Expiration")
          and head["Expiration"].endswith(f'rule-id="{rules_id(s3)}"'), (put.get("Expiration"), head.get("Expiration")))
    check("... not for objects no rule matches",
          "Expiration" not in s3.put_object(Bucket="boto-b1", Key="other.jpg", Body=b"x"))

    # Multipart integrity: parts are checked, completion is idempotent, an overwrite leaves no stale checksum.
    s3.put_object(Bucket="boto-b1", Key="mp.bin", Body=b"old", ChecksumAlgorithm="CRC32")
    up = s3.create_multipart_upload(Bucket="boto-b1", Key="mp.bin")["UploadId"]
    first = os.urandom(5 * 1024 * 1024)
    p1 = s3.upload_part(Bucket="boto-b1", Key="mp.bin", UploadId=up, PartNumber=1, Body=first)["ETag"]
    p2 = s3.upload_part(Bucket="boto-b1", Key="mp.bin", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    complete = lambda parts, **kw: s3.complete_multipart_upload(
        Bucket="boto-b1", Key="mp.bin", UploadId=kw.pop("upload", up), MultipartUpload={"Parts": parts}, **kw)
    good = [{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]
    code, status = error_code(lambda: complete([{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}, good[1]]))
    check("a wrong part ETag is InvalidPart", code == "InvalidPart" and status == 400, (code, status))
    code, status = error_code(lambda: complete([good[0], {"PartNumber": 3, "ETag": p2}]))
    check("a part never uploaded is InvalidPart", code == "InvalidPart" and status == 400, (code, status))
    code, status = error_code(lambda: complete([good[1], good[0]]))
    check("parts out of order are InvalidPartOrder", code == "InvalidPartOrder" and status == 400, (code, status))
    code, status = error_code(lambda: complete(good, IfNoneMatch="*"))
    check("If-None-Match: * over an existing key is 412", code == "PreconditionFailed" and status == 412,
          (code, status))
    completed = complete(good)
    again = complete(good)
    check("completing again answers the same", again["ETag"] == completed["ETag"] and completed["ETag"].endswith('-2"'),
          (completed["ETag"], again["ETag"]))
    code, status = error_code(lambda: complete(good, upload="2f0b3c2e-0000-4000-8000-000000000000"))
    check("an unknown upload id is NoSuchUpload", code == "NoSuchUpload" and status == 404, (code, status))
    head = s3.head_object(Bucket="boto-b1", Key="mp.bin", ChecksumMode="ENABLED")
    check("the overwritten object keeps no stale checksum", "ChecksumCRC32" not in head, head)
    whole = s3.get_object(Bucket="boto-b1", Key="mp.bin", ChecksumMode="ENABLED")["Body"].read()
    check("and reads back whole with checksum validation on", whole == first + b"tail")

    # S3 has no folders: a key may also be the folder of other keys, in either order, and may end in '/'.
    s3.create_bucket(Bucket="boto-folders")
    for key, content in [("foo/bar", b"file first"), ("foo/bar/xyzzy", b"then below it"),
                      ("baz/qux/deep", b"folder first"), ("baz/qux", b"then the folder's own key"),
                      ("asdf/", b"a key ending in a slash, with a body"), ("a//b", b"an empty segment"),
                      ("100%/../x", b"odd segments")]:
        s3.put_object(Bucket="boto-folders", Key=key, Body=content)
        check(f"PUT {key!r} then GET gives it back",
              s3.get_object(Bucket="boto-folders", Key=key)["Body"].read() == content)
    check("the file-first key survived its folder",
          s3.get_object(Bucket="boto-folders", Key="foo/bar")["Body"].read() == b"file first")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="boto-folders")["Contents"]]
    check("every such key lists, in order",
          listed == ["100%/../x", "a//b", "asdf/", "baz/qux", "baz/qux/deep", "foo/bar", "foo/bar/xyzzy"], listed)
    level = s3.list_objects_v2(Bucket="boto-folders", Prefix="foo/", Delimiter="/")
    check("at the delimiter a key and the folder of the same name both show",
          [o["Key"] for o in level.get("Contents", [])] == ["foo/bar"]
          and [c["Prefix"] for c in level.get("CommonPrefixes", [])] == ["foo/bar/"], level)
    v1 = s3.list_objects(Bucket="boto-folders", Prefix="baz/", Delimiter="/", MaxKeys=1)
    check("ListObjects (V1) pages with NextMarker at the delimiter",
          [o["Key"] for o in v1.get("Contents", [])] == ["baz/qux"] and v1["IsTruncated"]
          and v1.get("NextMarker") == "baz/qux", v1)
    s3.delete_object(Bucket="boto-folders", Key="foo/bar")
    code, _ = error_code(lambda: s3.head_object(Bucket="boto-folders", Key="foo/bar"))
    check("deleting the key leaves its folder's keys", code in ("404", "NoSuchKey")
          and s3.get_object(Bucket="boto-folders", Key="foo/bar/xyzzy")["Body"].read() == b"then below it", code)
    code, _ = error_code(lambda: s3.get_object(Bucket="boto-folders", Key="baz/"))
    check("a folder with no object of its own is no key", code == "NoSuchKey", code)
    s3.upload_fileobj(io.BytesIO(os.urandom(5 * 1024 * 1024 + 1)), "boto-folders", "baz/qux/deep/er",
                      Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
    check("a multipart upload below an object's key keeps that object",
          s3.get_object(Bucket="boto-folders", Key="baz/qux/deep")["Body"].read() == b"folder first")
    s3.copy_object(Bucket="boto-folders", Key="baz", CopySource={"Bucket": "boto-folders", "Key": "baz/qux"})
    check("CopyObject from and onto keys that are folders",
          s3.get_object(Bucket="boto-folders", Key="baz")["Body"].read() == b"then the folder's own key")

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

    done()


if __name__ == "__main__":
    main(sys.argv[1])
