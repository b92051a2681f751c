"""Issue 28, item 5: the usage limit's breach reaches a person, and deploy/README.md prices the followers against it.

The breach action only emits a metric ("emit-metric"); an alarm on it goes to the monitoring stack's alarm topic.
The metric is UsageLimitAvailable (namespace AWS/Redshift-Serverless, dimensions UsageLimitId, UsageType and
Workgroup, UsageType SERVERLESS_COMPUTE: "Audit logging for Amazon Redshift Serverless", Amazon Redshift Serverless
metrics), RPU-hours left in the limit's period.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import re
import unittest

import cfn


class UsageLimitAlarm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cfn.Deployment()
        cls.warehouse = cls.d.stacks["warehouse"]

    def test_the_breach_alarms_to_the_alarm_topic(self):
        alarms = [r["Properties"] for r in self.warehouse["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
        (alarm,) = [a for a in alarms if a["MetricName"] == "UsageLimitAvailable"]
        self.assertEqual(alarm["Namespace"], "AWS/Redshift-Serverless")
        dims = {x["Name"]: x["Value"] for x in alarm["Dimensions"]}
        self.assertEqual(dims, {"UsageLimitId": {"Fn::GetAtt": ["UsageLimit", "UsageLimitId"]},
                                "UsageType": "SERVERLESS_COMPUTE", "Workgroup": {"Ref": "Workgroup"}})
        self.assertEqual((alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]),
                         ("Minimum", "LessThanOrEqualToThreshold", 0))
        # The monitoring stack's topic, by the ARN its name gives (that stack deploys after this one).
        topic = self.d.stacks["monitoring"]["Resources"]["AlarmTopic"]["Properties"]
        name = self.d.resolve("monitoring", topic["TopicName"])
        arn = f"arn:aws:sns:{cfn.SAMPLE_PSEUDO['AWS::Region']}:{cfn.SAMPLE_PSEUDO['AWS::AccountId']}:{name}"
        for key in ("AlarmActions", "OKActions"):
            self.assertEqual([self.d.resolve("warehouse", a) for a in alarm[key]], [arn], key)

    def test_every_breach_action_allowed_emits_the_metric(self):
        # `log` only writes a system table: nothing would alarm.
        self.assertEqual(self.warehouse["Parameters"]["UsageLimitBreachAction"]["AllowedValues"],
                         ["emit-metric", "deactivate"])

    def test_the_readme_prices_the_followers_against_the_limit(self):
        readme = (cfn.ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
        section = readme[readme.index("**What it costs.**"):readme.index("## Who the database sees")]
        limit = int(self.warehouse["Parameters"]["MonthlyRpuHours"]["Default"])
        base = int(self.warehouse["Parameters"]["BaseCapacityRpus"]["Default"])
        self.assertIn(f"`MonthlyRpuHours` ({limit:,} by default)", section)
        # Per max_latency_seconds, both jobs' month with their hourly scans, and the day the default limit is reached.
        for latency in (60, 300, 900):
            month = round(2 * (86400 / latency + 24) * 60 * base / 3600 * 31)
            day = limit / (month / 31)
            text = f"| {latency} | {month:,} | " + (f"day {int(day) + 1} |" if month > limit else "not reached |")
            self.assertIn(text, section)


if __name__ == "__main__":
    unittest.main()
