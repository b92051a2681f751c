"""S3 event notifications from the S3 stand-in to the SQS stand-in, as boto3 configures and reads them: the
test event, one message per matching put, copy, completed multipart upload and delete in S3's event format,
prefix and suffix filters, and refused destinations.

Usage: events_boto3.py S3_ENDPOINT_URL SQS_ENDPOINT_URL. Prints one line per check and "N passed, 0 failed".
"""
import io
import json
import sys
import urllib.parse

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from checks import check, done, error_code


def drain(sqs, url):
    """Every message now in the queue, deleted as read."""
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        for m in got:
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def main(s3_endpoint, sqs_endpoint):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, config=Config(s3={"addressing_style": "path"}))
    sqs = boto3.client("sqs", endpoint_url=sqs_endpoint)
    s3.create_bucket(Bucket="uploads")
    url = sqs.create_queue(QueueName="uploads-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    code, _ = error_code(lambda: s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn.replace("uploads-events", "nope"), "Events": ["s3:ObjectCreated:*"]}]}))
    check("a queue that does not exist is refused", code == "InvalidArgument", code)
    s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
        "QueueConfigurations": [{"Id": "new-images", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "img/"},
                                                                     {"Name": "suffix", "Value": ".jpg"}]}}}]})
    got = s3.get_bucket_notification_configuration(Bucket="uploads")["QueueConfigurations"]
    check("the configuration reads back", got[0]["QueueArn"] == arn and got[0]["Id"] == "new-images", got)
    test = drain(sqs, url)
    check("saving it sends s3:TestEvent", [t.get("Event") for t in test] == ["s3:TestEvent"], test)

    put = s3.put_object(Bucket="uploads", Key="img/a b.jpg", Body=b"12345")
    s3.put_object(Bucket="uploads", Key="img/skip.png", Body=b"x")
    s3.put_object(Bucket="uploads", Key="other/c.jpg", Body=b"x")
    s3.copy_object(Bucket="uploads", Key="img/copy.jpg", CopySource={"Bucket": "uploads", "Key": "img/a b.jpg"})
    s3.upload_fileobj(io.BytesIO(b"m" * (5 * 1024 * 1024 + 1)), "uploads", "img/multi.jpg",
                      Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
    s3.delete_object(Bucket="uploads", Key="img/copy.jpg")
    records = [r for body in drain(sqs, url) for r in body["Records"]]
    names = [(r["eventName"], urllib.parse.unquote_plus(r["s3"]["object"]["key"])) for r in records]
    check("one record per matching creation, none for deletes (not configured) or filtered keys", names == [
        ("ObjectCreated:Put", "img/a b.jpg"), ("ObjectCreated:Copy", "img/copy.jpg"),
        ("ObjectCreated:CompleteMultipartUpload", "img/multi.jpg")], names)
    first = records[0]
    check("S3's event format", first["eventVersion"] == "2.1" and first["eventSource"] == "aws:s3"
          and first["s3"]["bucket"]["name"] == "uploads" and first["s3"]["configurationId"] == "new-images"
          and first["s3"]["object"]["size"] == 5 and first["s3"]["object"]["eTag"] == put["ETag"].strip('"')
          and first["s3"]["object"]["key"] == "img/a+b.jpg", first)
    check("sequencers are hexadecimal and grow", all(int(r["s3"]["object"]["sequencer"], 16) for r in records)
          and records[0]["s3"]["object"]["sequencer"] < records[1]["s3"]["object"]["sequencer"], records)
    check("the multipart object's size", records[2]["s3"]["object"]["size"] == 5 * 1024 * 1024 + 1, records[2])

    s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}]})
    drain(sqs, url)
    s3.delete_object(Bucket="uploads", Key="img/a b.jpg")
    s3.put_object(Bucket="uploads", Key="img/later.jpg", Body=b"x")
    names = [r["eventName"] for body in drain(sqs, url) for r in body["Records"]]
    check("a configuration replaces the last one", names == ["ObjectRemoved:Delete"], names)
    code, _ = error_code(lambda: s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
        "TopicConfigurations": [{"TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Events": ["s3:ObjectCreated:*"]}]}))
    check("SNS destinations are refused, not ignored", code == "NotImplemented", code)
    done()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
