"""The stacks' custom resources, run as CloudFormation would run them: the function's inline code loaded
from the template, a stubbed AWS client (Redshift Serverless; EC2 for the network stack's prefix list lookup),
and a loopback server standing in for the pre-signed response URL."""
import http.server
import json
import threading
import types
import unittest

import boto3
from botocore.stub import Stubber

import cfn


class ResponseUrl:
    """A loopback HTTP server standing in for CloudFormation's pre-signed S3 response URL."""

    def __init__(self):
        answers = self.answers = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                length = int(self.headers["Content-Length"])
                answers.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/response?X-Amz-Signature=x"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Context:
    log_stream_name = "2026/11/28/[$LATEST]0123456789abcdef"


def load_function(resource, stack="warehouse"):
    """The inline code (ZipFile) of the Lambda function `resource` of deploy/<stack>.yaml, as a module."""
    source = cfn.load(stack)["Resources"][resource]["Properties"]["Code"]["ZipFile"]
    module = types.ModuleType(resource)
    exec(compile(source, f"deploy/{stack}.yaml#{resource}", "exec"), module.__dict__)
    return module


class FunctionTest(unittest.TestCase):
    """A test of the function named by FUNCTION, with `self.function`, `self.response_url`, `self.client` and its
    `self.stub` ready."""

    FUNCTION = ""
    STACK = "warehouse"
    SERVICE = "redshift-serverless"

    def setUp(self):
        self.function = load_function(self.FUNCTION, self.STACK)
        self.response_url = ResponseUrl()
        self.addCleanup(self.response_url.close)
        self.client = boto3.client(self.SERVICE, region_name="eu-west-1",
                                   aws_access_key_id="test", aws_secret_access_key="test")
        self.stub = Stubber(self.client)
        self.stub.activate()
        self.addCleanup(self.stub.deactivate)
