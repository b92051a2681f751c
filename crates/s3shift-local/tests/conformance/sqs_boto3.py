"""Conformance of the SQS stand-in with boto3 and the AWS CLI: queues, messages, visibility timeouts, long
polling, batches, dead-letter redrive and SQS's errors, as botocore parses them (JSON protocol, query-compatible
error codes).

Usage: sqs_boto3.py ENDPOINT_URL (credentials and region come from the environment). Prints one line per check
and "N passed, 0 failed" at the end; exits 1 on the first failure with what differed.
"""
import json
import os
import subprocess
import sys
import time

import boto3

from checks import check, done, error_code


def main(endpoint):
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    dlq_url = sqs.create_queue(QueueName="events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    check("the queue ARN names the queue", dlq_arn.endswith(":events-dlq"), dlq_arn)
    url = sqs.create_queue(QueueName="events", Attributes={
        "VisibilityTimeout": "1",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
    })["QueueUrl"]
    check("CreateQueue again with the same attributes gives the same URL",
          sqs.create_queue(QueueName="events", Attributes={"VisibilityTimeout": "1"})["QueueUrl"] == url)
    code, status = error_code(lambda: sqs.create_queue(QueueName="events", Attributes={"VisibilityTimeout": "5"}))
    check("... and with different ones is QueueNameExists", code == "QueueAlreadyExists" and status == 400,
          (code, status))
    check("GetQueueUrl", sqs.get_queue_url(QueueName="events")["QueueUrl"] == url)
    listed = sqs.list_queues(QueueNamePrefix="events")["QueueUrls"]
    check("ListQueues by prefix", sorted(listed) == sorted([url, dlq_url]), listed)
    code, status = error_code(lambda: sqs.get_queue_url(QueueName="nope"))
    check("a missing queue is QueueDoesNotExist", code == "AWS.SimpleQueueService.NonExistentQueue"
          and status == 400, (code, status))
    try:
        sqs.get_queue_url(QueueName="nope")
    except sqs.exceptions.QueueDoesNotExist as e:
        check("... which boto3 raises as QueueDoesNotExist", "does not exist" in str(e), str(e))

    # botocore checks MD5OfMessageBody against the body it sent and MD5OfBody against the body it received.
    sent = sqs.send_message(QueueUrl=url, MessageBody='{"Records": []}')
    check("SendMessage answers an id", len(sent["MessageId"]) == 36, sent)
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"body {i}"}
                                                          for i in range(3)])
    check("SendMessageBatch", len(batch["Successful"]) == 3 and not batch.get("Failed"), batch)
    code, _ = error_code(lambda: sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}] * 2))
    check("repeated batch ids are refused", code == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", code)
    code, _ = error_code(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={
        "k": {"DataType": "String", "StringValue": "v"}}))
    check("message attributes are refused, not ignored", code == "AWS.SimpleQueueService.UnsupportedOperation", code)

    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                              MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    check("ReceiveMessage returns the four, oldest first", [m["Body"] for m in got] ==
          ['{"Records": []}', "body 0", "body 1", "body 2"], [m["Body"] for m in got])
    check("... with their receive count", all(m["Attributes"]["ApproximateReceiveCount"] == "1" for m in got), got)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    check("in flight, not visible", (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"])
          == ("0", "4"), attrs)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "d1", "ReceiptHandle": got[1]["ReceiptHandle"]}])
    check("DeleteMessageBatch", [d["Id"] for d in deleted["Successful"]] == ["d1"], deleted)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[2]["ReceiptHandle"], VisibilityTimeout=0)
    back = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]
    check("ChangeMessageVisibility 0 makes it visible again", [m["Body"] for m in back] == ["body 1"], back)
    # ChangeMessageVisibilityBatch: each entry answered on its own; a handle no longer in flight fails alone.
    changed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "keep", "ReceiptHandle": got[3]["ReceiptHandle"], "VisibilityTimeout": 600},
        {"Id": "gone", "ReceiptHandle": got[1]["ReceiptHandle"], "VisibilityTimeout": 600}])
    check("ChangeMessageVisibilityBatch answers each entry",
          [c["Id"] for c in changed["Successful"]] == ["keep"] and [f["Id"] for f in changed["Failed"]] == ["gone"],
          changed)
    sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "now", "ReceiptHandle": got[3]["ReceiptHandle"], "VisibilityTimeout": 0}])
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]
    check("ChangeMessageVisibilityBatch 0 makes it visible again", [m["Body"] for m in again] == ["body 2"], again)
    code, _ = error_code(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle="not a handle"))
    check("a malformed receipt handle is ReceiptHandleIsInvalid", code == "ReceiptHandleIsInvalid", code)

    # Long polling: an empty queue answers after WaitTimeSeconds; a message sent meanwhile ends the wait.
    sqs.purge_queue(QueueUrl=url)
    start = time.monotonic()
    empty = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    waited = time.monotonic() - start
    check("an empty long poll waits, then answers no messages", "Messages" not in empty and 0.9 <= waited < 5, waited)
    code, _ = error_code(lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11))
    check("MaxNumberOfMessages above 10 is refused", code == "InvalidParameterValue", code)

    # Redrive: received maxReceiveCount (2) times without a delete, the message goes to the dead-letter queue.
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for n in range(2):
        m = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)["Messages"]
        check(f"poison delivered, receive {n + 1}", m[0]["Body"] == "poison", m)
    time.sleep(1.1)
    check("the third receive finds it gone", "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0))
    dead = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1,
                               MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    check("... and in the dead-letter queue, its count kept", dead[0]["Body"] == "poison"
          and dead[0]["Attributes"]["ApproximateReceiveCount"] == "3", dead)

    code, _ = error_code(lambda: sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"}))
    check("FIFO queues are refused, not faked", code == "AWS.SimpleQueueService.UnsupportedOperation", code)

    # The AWS CLI, as an operator would check a queue's depth.
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    out = subprocess.run([aws, "--endpoint-url", endpoint, "sqs", "get-queue-attributes", "--queue-url", dlq_url,
                          "--attribute-names", "ApproximateNumberOfMessagesNotVisible", "--output", "json"],
                         capture_output=True, text=True, check=False)
    check("aws sqs get-queue-attributes", out.returncode == 0 and
          json.loads(out.stdout)["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1", out.stdout + out.stderr)
    sqs.delete_queue(QueueUrl=url)
    code, _ = error_code(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
    check("a deleted queue is gone", code == "AWS.SimpleQueueService.NonExistentQueue", code)
    done()


if __name__ == "__main__":
    main(sys.argv[1])
