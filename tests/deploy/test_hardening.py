"""Issue 28, item 7: the smaller holes.

- Redshift's log exports (useractivitylog holds SQL text with object keys) go to log groups this deployment makes,
  with retention and the logs key: /aws/redshift/<namespace>/<log type> ("Audit logging for Amazon Redshift
  Serverless": Redshift exports to a group of that name that exists, or makes one that never expires).
- The ECR lifecycle expires untagged images only, never a tag a stack may still run.
- The bastion's AMI is a resolved image id, not an SSM parameter CloudFormation resolves again on every update
  ("Systems Manager parameter types": "CloudFormation always fetches the latest values ... when it updates
  stacks"), which would replace the instance.
- Every VPC endpoint has a policy of its own.
- aws:SourceAccount appears only where an AWS page shows it (listed below with the page).

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import fnmatch
import json
import unittest

import cfn
from cfn import as_list

# (stack, logical id) -> the page that shows aws:SourceAccount in that kind of policy.
SOURCE_ACCOUNT_PAGES = {
    ("iam", "ApiTaskRole"): "Amazon ECS task IAM role",
    ("iam", "KafkaTaskRole"): "Amazon ECS task IAM role",
    ("iam", "MigrateTaskRole"): "Amazon ECS task IAM role",
    ("storage", "AccessLogBucketPolicy"): "Enabling Amazon S3 server access logging",
    ("storage", "ApiEventsQueuePolicy"): "Walkthrough: Configuring a bucket for notifications (SNS topic or SQS queue)",
    ("storage", "KafkaEventsQueuePolicy"): "Walkthrough: Configuring a bucket for notifications (SNS topic or SQS queue)",
}


def conditions_with(node, key):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield node
            else:
                yield from conditions_with(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from conditions_with(v, key)


class Hardening(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cfn.Deployment()
        cls.warehouse = cls.d.stacks["warehouse"]["Resources"]

    def test_redshift_log_exports_go_to_groups_with_retention_and_the_logs_key(self):
        d = self.d
        (ns_id, namespace), = [(k, r) for k, r in self.warehouse.items() if r["Type"] == "AWS::RedshiftServerless::Namespace"]
        name = d.resolve("warehouse", namespace["Properties"]["NamespaceName"])
        groups = {d.resolve("warehouse", r["Properties"]["LogGroupName"]): (k, r["Properties"])
                  for k, r in self.warehouse.items() if r["Type"] == "AWS::Logs::LogGroup"}
        key_stack, key_id = None, None
        for log_type in namespace["Properties"]["LogExports"]:
            with self.subTest(log_type=log_type):
                group = f"/aws/redshift/{name}/{log_type}"
                self.assertIn(group, groups)
                logical_id, props = groups[group]
                self.assertIn("RetentionInDays", props)
                key_stack, key_id = d.imported_resource("warehouse", props["KmsKeyId"])
                self.assertIn(logical_id, as_list(self.warehouse[ns_id].get("DependsOn", [])))
                # The key lets CloudWatch Logs use it for that group.
                policy = d.stacks[key_stack]["Resources"][key_id]["Properties"]["KeyPolicy"]
                arn = f"arn:aws:logs:{cfn.SAMPLE_PSEUDO['AWS::Region']}:{cfn.SAMPLE_PSEUDO['AWS::AccountId']}:log-group:{group}"
                allowed = [st for st in as_list(policy["Statement"])
                           if d.resolve(key_stack, st.get("Principal", {}).get("Service", "")).startswith("logs.")
                           and any(fnmatch.fnmatchcase(arn, d.resolve(key_stack, p))
                                   for p in as_list(st["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]))]
                self.assertTrue(allowed, group)

    def test_the_ecr_lifecycle_expires_untagged_images_only(self):
        repository = self.d.stacks["compute"]["Resources"]["Repository"]["Properties"]
        rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        self.assertTrue(rules)
        for rule in rules:
            self.assertEqual(rule["selection"]["tagStatus"], "untagged", rule)

    def test_the_bastion_image_is_a_resolved_id(self):
        parameter = self.d.stacks["bastion"]["Parameters"]["ImageId"]
        self.assertEqual(parameter["Type"], "AWS::EC2::Image::Id")
        readme = (cfn.ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
        self.assertIn("aws ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", readme)

    def test_every_vpc_endpoint_has_its_own_policy(self):
        network = cfn.deployed(self.d.stacks["network"], {"EventIngestion": "on"})
        endpoints = {k: r["Properties"] for k, r in network.items() if r["Type"] == "AWS::EC2::VPCEndpoint"}
        self.assertEqual(len(endpoints), 7)
        for logical_id, props in endpoints.items():
            with self.subTest(endpoint=logical_id):
                statements = as_list(props["PolicyDocument"]["Statement"])
                self.assertTrue(statements)
                for st in statements:
                    self.assertNotIn(st.get("Action"), ("*", ["*"]), st)
                    # Open to any principal only on named resources; on every resource only to this account's.
                    if st["Effect"] == "Allow" and st.get("Principal") == "*":
                        self.assertNotIn("*", as_list(st["Resource"]), st)

    def test_source_account_only_where_a_page_shows_it(self):
        found = set()
        for stack, template in self.d.stacks.items():
            for logical_id, resource in template["Resources"].items():
                if any(True for _ in conditions_with(resource.get("Properties", {}), "aws:SourceAccount")):
                    found.add((stack, logical_id))
        self.assertEqual(sorted(found - set(SOURCE_ACCOUNT_PAGES)), [], "aws:SourceAccount no listed page shows")
        self.assertEqual(sorted(set(SOURCE_ACCOUNT_PAGES) - found), [], "listed but gone: drop the entry")


if __name__ == "__main__":
    unittest.main()
