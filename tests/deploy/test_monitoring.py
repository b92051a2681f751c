"""deploy/monitoring.yaml watches every scheduled job: an alarm when objects near expiry are still unloaded, and
one when the job finished no run for too long, both on the job's own metrics, both sent to a topic CloudWatch
can publish to. The metric names and namespace are checked against what the binary emits by its unit tests
(crates/s3shift-cli/src/main.rs); here, the alarms against the jobs and the topic against its key.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import unittest

import cfn


class Monitoring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deployment = cfn.Deployment()
        cls.monitoring = cls.deployment.stacks["monitoring"]["Resources"]
        cls.alarms = [r["Properties"] for r in cls.monitoring.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
        compute = cls.deployment.stacks["compute"]["Resources"]
        # The scheduled jobs' tasks (`run <job>`), not the one-off migrate task.
        cls.jobs = sorted(
            r["Properties"]["ContainerDefinitions"][0]["Command"][1]
            for r in compute.values()
            if r["Type"] == "AWS::ECS::TaskDefinition" and r["Properties"]["ContainerDefinitions"][0]["Command"][0] == "run"
        )

    def alarm(self, job, metric):
        found = [
            a
            for a in self.alarms
            if a["MetricName"] == metric and a["Dimensions"] == [{"Name": "job", "Value": job}]
        ]
        self.assertEqual(len(found), 1, f"{job}: one alarm on {metric}")
        return found[0]

    def test_every_scheduled_job_has_both_alarms_and_nothing_else_is_watched(self):
        self.assertEqual(len(self.alarms), 2 * len(self.jobs))
        for job in self.jobs:
            with self.subTest(job=job):
                expiry = self.alarm(job, "s3shift_expiry_warnings_count")
                self.assertEqual(
                    (expiry["Statistic"], expiry["ComparisonOperator"], expiry["Threshold"], expiry["TreatMissingData"]),
                    ("Maximum", "GreaterThanOrEqualToThreshold", 1, "notBreaching"),
                )
                # No finished run: no sample at all must alarm, so missing data breaches.
                no_run = self.alarm(job, "s3shift_run_duration_seconds")
                self.assertEqual(
                    (no_run["Statistic"], no_run["ComparisonOperator"], no_run["Threshold"], no_run["TreatMissingData"]),
                    ("SampleCount", "LessThanThreshold", 1, "breaching"),
                )
                for alarm in (expiry, no_run):
                    self.assertEqual(alarm["Namespace"], "s3shift")
                    self.assertIn(job, self.deployment.resolve("monitoring", alarm["AlarmName"]))
                    self.assertEqual(alarm["AlarmActions"], [{"Ref": "AlarmTopic"}])
                    self.assertEqual(alarm["OKActions"], [{"Ref": "AlarmTopic"}])

    def test_cloudwatch_may_publish_to_the_encrypted_topic(self):
        d = self.deployment
        topic = self.monitoring["AlarmTopic"]["Properties"]
        stack, key_id = d.imported_resource("monitoring", topic["KmsMasterKeyId"])
        statements = d.stacks[stack]["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
        granted = set()
        for st in statements:
            principal = st.get("Principal", {})
            if st["Effect"] == "Allow" and isinstance(principal, dict) and principal.get("Service") == "cloudwatch.amazonaws.com":
                granted.update(cfn.as_list(st["Action"]))
        self.assertTrue({"kms:Decrypt", "kms:GenerateDataKey*"} <= granted, granted)
        (policy,) = [r["Properties"] for r in self.monitoring.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
        (statement,) = cfn.as_list(policy["PolicyDocument"]["Statement"])
        self.assertEqual(
            (statement["Principal"], statement["Action"]), ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")
        )


if __name__ == "__main__":
    unittest.main()
