"""What the conformance scripts share: one line per check, "N passed, 0 failed" at the end, exit 1 on the first
failure with what differed; the error code and status of a refused call; waiting for a Data API statement."""
import sys
import time

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


def done():
    print(f"{passed} passed, 0 failed")


def error_code(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, None


def wait(rd, sid, polls=4000):
    for _ in range(polls):
        d = rd.describe_statement(Id=sid)
        if d["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return d
        time.sleep(0.005)
    raise SystemExit(f"statement {sid} did not finish")
