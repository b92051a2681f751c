"""The ECS task roles in deploy/iam.yaml allow exactly the AWS calls the binary makes: nothing it needs is
missing (a run would fail in AWS with AccessDenied, where no test here can see it), and nothing is allowed that
it never calls (least privilege).

What the binary calls is read from its source: every operation of the five AWS SDK crates it uses (the
operation folders of aws-sdk-s3, aws-sdk-redshiftdata, aws-sdk-redshiftserverless, aws-sdk-cloudwatchlogs and
aws-sdk-sqs, found through `cargo metadata`) that a non-test source file of a crate in the image invokes as `.operation()`.
The stand-ins (crates/s3shift-local) and the test kit (crates/s3shift-testkit) are not in the image and are not
read. Each operation becomes its IAM action (S3 names a few differently); the few actions AWS checks on our
behalf, and the few calls only `s3shift demo` makes against the embedded stand-ins, are listed below with their reasons, and each listed entry
must still be true, so the lists cannot go stale.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import json
import pathlib
import re
import subprocess
import unittest

import cfn
from cfn import ROOT, as_list

IAM = ROOT / "deploy" / "iam.yaml"

# SDK crate -> IAM service prefix.
SERVICES = {
    "aws-sdk-s3": "s3",
    "aws-sdk-redshiftdata": "redshift-data",
    "aws-sdk-redshiftserverless": "redshift-serverless",
    "aws-sdk-cloudwatchlogs": "logs",
    "aws-sdk-sqs": "sqs",
}

# Operations whose IAM action is not the operation's own name.
RENAMED = {
    "list_objects_v2": "s3:ListBucket",
    # HeadObject (Amazon S3 API Reference): "To use HEAD, you must have the s3:GetObject permission" (the
    # optional checksum read of `limits.checksums`; with checksum mode on an SSE-KMS object, kms:Decrypt too,
    # which IMPLIED already lists).
    "head_object": "s3:GetObject",
    "get_bucket_lifecycle_configuration": "s3:GetLifecycleConfiguration",
    "put_bucket_lifecycle_configuration": "s3:PutLifecycleConfiguration",
    "get_bucket_encryption": "s3:GetEncryptionConfiguration",
    # PutBucketEncryption (Amazon S3 API Reference): "you must have permission to perform the
    # s3:PutEncryptionConfiguration action".
    "put_bucket_encryption": "s3:PutEncryptionConfiguration",
    # The batch forms are authorized by the single actions ("Amazon SQS API permissions: Actions and resource
    # reference": DeleteMessageBatch needs sqs:DeleteMessage, ChangeMessageVisibilityBatch
    # sqs:ChangeMessageVisibility).
    "delete_message_batch": "sqs:DeleteMessage",
    "change_message_visibility_batch": "sqs:ChangeMessageVisibility",
    # GetBucketNotificationConfiguration and PutBucketNotificationConfiguration (Amazon S3 API Reference): "the
    # s3:GetBucketNotification permission", "the required s3:PutBucketNotification permission".
    "get_bucket_notification_configuration": "s3:GetBucketNotification",
    "put_bucket_notification_configuration": "s3:PutBucketNotification",
}

# Calls only `s3shift demo` makes, against the embedded stand-ins it starts; the task roles must not allow them.
# Action -> (the only files that may make the call, why).
DEMO_ONLY = {
    "s3:CreateBucket": (
        {"crates/s3shift-s3/src/lib.rs"},
        "S3Store::ensure_bucket, which only `s3shift demo` calls, for its local buckets",
    ),
    "s3:PutLifecycleConfiguration": (
        {"crates/s3shift-s3/src/lib.rs"},
        "S3Store::put_expiry_rule, which only `s3shift demo` calls, to give its local upload bucket the 7-day rule",
    ),
    "s3:PutEncryptionConfiguration": (
        {"crates/s3shift-cli/src/commands/demo.rs"},
        "`s3shift demo` gives its local buckets SSE-KMS default encryption, as deploy/storage.yaml does",
    ),
    "s3:PutBucketPolicy": (
        {"crates/s3shift-cli/src/commands/demo.rs"},
        "`s3shift demo` gives its local buckets the TLS-only policy deploy/storage.yaml gives",
    ),
    # Event-driven ingestion: the storage stack makes the queues and the bucket notifications in AWS; the demo
    # makes its own against the embedded stand-ins.
    "sqs:CreateQueue": (
        {"crates/s3shift-cli/src/commands/demo.rs"},
        "`s3shift demo` creates its local event queue and dead-letter queue",
    ),
    "sqs:SetQueueAttributes": (
        {"crates/s3shift-cli/src/commands/demo.rs"},
        "`s3shift demo` sets its local queue's redrive policy, as deploy/storage.yaml does",
    ),
    "s3:PutBucketNotification": (
        {"crates/s3shift-cli/src/commands/demo.rs"},
        "`s3shift demo` points its local upload bucket's ObjectCreated events at its local queue",
    ),
}

# Calls only an operator's command makes, with the operator's own credentials; the task roles must not allow them.
# Action -> (the only files that may make the call, why).
OPERATOR_ONLY = {
    "sqs:SendMessageBatch": (
        {"crates/s3shift-jobs/src/events/queue.rs"},
        "`s3shift backfill --enqueue` sends a backfill's work items to the job's queue; only S3 sends events to"
        " it otherwise, and the followers only receive (deploy/README, 'Backfills on the followers')",
    ),
}

# Actions AWS evaluates against the caller's identity on the binary's behalf, with no call of ours to see.
IMPLIED = {
    "redshift-serverless:GetCredentials": "the Data API asks it for database credentials when a statement names"
    " a workgroup and no secret (temporary credentials from the task's IAM identity)",
    "kms:Decrypt": "S3 calls it for GetObject on SSE-KMS buckets (the data key), and SQS for ReceiveMessage on"
    " the KMS-encrypted event queues",
    "kms:GenerateDataKey": "S3 calls it for PutObject on SSE-KMS buckets (the data key)",
    "tag:GetResources": "the sign-in reads the role's RedshiftDbRoles tag for the database user's roles"
    " (\"Defining database roles to grant to federated users in Amazon Redshift Serverless\")",
    "tag:GetTagKeys": "the same sign-in, as the same page asks",
}

TASK_ROLES = ["ApiTaskRole", "KafkaTaskRole"]

# The one-off migrate task's role (MigrateTaskRole): what `s3shift migrate` does through the Data API as the admin
# secret's user, and nothing of what `run` does (S3, the Serverless preflight, credentials for its own IAM
# identity, log shipping). Action -> why. Each Data API action must still be one the source calls.
MIGRATE = {
    "redshift-data:BatchExecuteStatement": "each migration, and the bootstrap, is one batch (one transaction)",
    "redshift-data:ExecuteStatement": "the query of s3shift.schema_migrations",
    "redshift-data:DescribeStatement": "waiting for each statement",
    "redshift-data:GetStatementResult": "reading the applied migrations",
    "secretsmanager:GetSecretValue": "the Data API reads the admin secret (SecretArn) with the caller's permission",
}




def sdk_operations():
    """{snake_case operation: {SDK crates that have it}}, from the SDK crates' `src/operation/<op>/` folders."""
    out = subprocess.run(
        ["cargo", "metadata", "--locked", "--format-version", "1", "--filter-platform", "x86_64-unknown-linux-gnu"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    ops = {}
    for package in json.loads(out)["packages"]:
        if package["name"] not in SERVICES:
            continue
        folder = pathlib.Path(package["manifest_path"]).parent / "src" / "operation"
        for op in folder.iterdir():
            if op.is_dir():
                ops.setdefault(op.name, set()).add(package["name"])
    found = set().union(*ops.values()) if ops else set()
    if found != set(SERVICES):
        raise AssertionError(f"SDK crates not found through cargo metadata: {sorted(set(SERVICES) - found)}")
    return ops


def strip_test_modules(source):
    """The file without its `#[cfg(test)]` module (kept at the end of a file, as everywhere in this repository)."""
    cut = re.search(r"^#\[cfg\(test\)\]\s*\nmod \w+ \{", source, re.MULTILINE)
    return source[: cut.start()] if cut else source


def called_operations(ops):
    """{IAM action: {operation: [files that call it]}} over the non-test sources of the crates in the image.

    An operation name several SDK crates share (PutResourcePolicy, ...) is given to the one crate the file uses.
    """
    calls = {}
    for path in sorted((ROOT / "crates").glob("*/src/**/*.rs")):
        # The stand-ins and the dev-only test kit are not in the image.
        if path.relative_to(ROOT / "crates").parts[0] in ("s3shift-local", "s3shift-testkit"):
            continue
        rel = str(path.relative_to(ROOT))
        source = strip_test_modules(path.read_text(encoding="utf-8"))
        for match in re.finditer(r"\.\s*([a-z0-9_]+)\(\)", source):
            op = match.group(1)
            crates = ops.get(op, set())
            if len(crates) > 1:
                crates = {c for c in crates if c.replace("-", "_") in source}
            if len(crates) > 1:
                raise AssertionError(f"{rel}: .{op}() could be a call of any of {sorted(crates)}")
            for crate in crates:
                calls.setdefault(iam_action(op, crate), {}).setdefault(op, []).append(rel)
    return calls


def iam_action(op, crate):
    if op in RENAMED:
        return RENAMED[op]
    return SERVICES[crate] + ":" + "".join(part.capitalize() for part in op.split("_"))


def role_actions(resources, name):
    """Every action an Allow statement grants role `name`, through its inline and its template-managed policies."""
    props = resources[name]["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    for arn in props.get("ManagedPolicyArns", []):
        arn = arn.get("Ref") if isinstance(arn, dict) else arn
        if arn not in resources:
            raise AssertionError(f"{name}: managed policy {arn} is not a resource of {IAM.name}")
        documents.append(resources[arn]["Properties"]["PolicyDocument"])
    actions = set()
    for document in documents:
        for statement in as_list(document["Statement"]):
            if statement["Effect"] == "Allow":
                actions.update(as_list(statement["Action"]))
    return actions


class TaskPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.calls = called_operations(sdk_operations())
        cls.resources = cfn.load("iam")["Resources"]

    def test_the_source_scan_sees_the_calls_it_must(self):
        # A scan that found nothing would make the comparison below vacuous.
        for action in ("s3:ListBucket", "s3:GetObject", "s3:PutObject", "redshift-data:ExecuteStatement",
                       "logs:PutLogEvents", "sqs:ReceiveMessage", "sqs:DeleteMessage"):
            self.assertIn(action, self.calls, f"the scan of crates/*/src no longer finds a call needing {action}")

    def test_the_listed_exceptions_are_still_true(self):
        for action, (files, _why) in {**DEMO_ONLY, **OPERATOR_ONLY}.items():
            self.assertIn(action, self.calls, f"DEMO_ONLY lists {action}, which no source needs any more")
            callers = {f for found in self.calls[action].values() for f in found}
            self.assertLessEqual(callers, files, f"{action} is needed outside the demo's files {sorted(files)}")
        for action in IMPLIED:
            self.assertNotIn(action, self.calls, f"{action} is called directly now; drop it from IMPLIED")

    def test_each_task_role_allows_exactly_what_the_binary_calls(self):
        needed = (set(self.calls) - set(DEMO_ONLY) - set(OPERATOR_ONLY)) | set(IMPLIED)
        for role in TASK_ROLES:
            with self.subTest(role=role):
                allowed = role_actions(self.resources, role)
                self.assertEqual(sorted(a for a in allowed if "*" in a), [], f"{role} allows wildcard actions")
                missing = [
                    f"{a} (for {', '.join(f'.{op}() in {files[0]}' for op, files in self.calls[a].items())})"
                    for a in sorted(needed - allowed)
                ]
                self.assertEqual(missing, [], f"{role} lacks actions the binary needs")
                self.assertEqual(sorted(allowed - needed), [], f"{role} allows actions the binary never calls")
                self.assertEqual(sorted(allowed & (set(DEMO_ONLY) | set(OPERATOR_ONLY))), [],
                                 f"{role} allows what only the demo or an operator needs")

    def test_the_migrate_role_allows_exactly_what_migrate_needs(self):
        allowed = role_actions(self.resources, "MigrateTaskRole")
        self.assertEqual(sorted(allowed), sorted(MIGRATE), "MigrateTaskRole")
        for action in MIGRATE:
            if action.startswith("redshift-data:"):
                self.assertIn(action, self.calls, f"MIGRATE lists {action}, which no source calls any more")
        # With a secret the Data API needs no temporary credentials for the caller's own database user.
        self.assertNotIn("redshift-serverless:GetCredentials", allowed)
        self.assertEqual(sorted(a for a in allowed if a.split(":")[0] in ("s3", "logs", "kms", "sqs")), [])

    def test_the_uploaders_only_put(self):
        for role in ("ApiUploaderRole", "KafkaUploaderRole"):
            with self.subTest(role=role):
                self.assertEqual(role_actions(self.resources, role), {"s3:PutObject", "kms:GenerateDataKey"})


if __name__ == "__main__":
    unittest.main()
