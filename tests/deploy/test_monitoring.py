"""deploy/monitoring.yaml watches every scheduled job: an alarm when objects near expiry are still unloaded, and
one when the job finished no run for too long, both on the job's own metrics, both sent to a topic CloudWatch
can publish to. The metric names and namespace are checked against what the binary emits by its unit tests
(crates/s3shift-cli/src/main.rs); here, the alarms against the jobs and the topic against its key.

The alarms watch the binary's metrics (namespace s3shift, dimension job) and nothing else, with one exception:
with EventIngestion=on, per job, SQS's depth of the job's event dead-letter queue (namespace AWS/SQS), the queue
that receives what the job's follower could not delete. The conditions are evaluated for both values
(cfn.deployed); that queue is found from the compute stack's follower, through its queue's redrive policy in the
storage stack, and compared with the name the alarm imports.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import copy
import unittest

import cfn

ON = {"EventIngestion": "on"}
# Each job's alarms on the binary's own metrics.
BINARY_METRICS = ("s3shift_expiry_warnings_count", "s3shift_run_duration_seconds")
# The one SQS metric an alarm may watch, and only on an event dead-letter queue ("Available CloudWatch metrics for
# Amazon SQS": namespace AWS/SQS, dimension QueueName).
DEAD_LETTER_METRIC = ("AWS/SQS", "ApproximateNumberOfMessagesVisible")


def alarms(template, values=None):
    """{logical id: properties} of the alarms CloudFormation makes of `template` for the parameters `values`."""
    return {
        logical_id: r["Properties"]
        for logical_id, r in cfn.deployed(template, values).items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


class Monitoring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deployment = cfn.Deployment()
        cls.template = cls.deployment.stacks["monitoring"]
        cls.monitoring = cls.template["Resources"]
        cls.alarms_off = alarms(cls.template)
        cls.alarms_on = alarms(cls.template, ON)
        compute = cls.deployment.stacks["compute"]["Resources"]
        # The jobs' tasks (`run <job>`, scheduled or, with event-driven ingestion, following their queue and
        # scanning), not the one-off migrate task.
        cls.jobs = sorted({
            r["Properties"]["ContainerDefinitions"][0]["Command"][1]
            for r in compute.values()
            if r["Type"] == "AWS::ECS::TaskDefinition" and r["Properties"]["ContainerDefinitions"][0]["Command"][0] == "run"
        })
        cls.dead_letter_queues = cls.dead_letter_queue_of_each_job()

    @classmethod
    def dead_letter_queue_of_each_job(cls):
        """job -> name of the dead-letter queue of the queue its follower reads (EventIngestion=on)."""
        d = cls.deployment
        storage = cfn.deployed(d.stacks["storage"], ON)
        compute = cfn.deployed(d.stacks["compute"], ON)
        queues = {k: r for k, r in storage.items() if r["Type"] == "AWS::SQS::Queue"}
        by_url = {d.resolve("storage", {"Ref": k}): k for k in queues}
        by_arn = {d.resolve("storage", {"Fn::GetAtt": [k, "Arn"]}): k for k in queues}
        found = {}
        for r in compute.values():
            if r["Type"] != "AWS::ECS::TaskDefinition":
                continue
            (container,) = r["Properties"]["ContainerDefinitions"]
            if container["Command"][0] != "run" or "--follow" not in container["Command"]:
                continue
            env = {pair["Name"]: pair["Value"] for pair in container["Environment"]}
            queue = queues[by_url[d.resolve("compute", env["S3SHIFT_QUEUE_URL"])]]
            dead_letter = queues[by_arn[d.resolve("storage", queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])]]
            found[container["Command"][1]] = d.resolve("storage", dead_letter["Properties"]["QueueName"])
        return found

    def watched(self, alarm):
        """What `alarm` watches: (job, metric) for one of the binary's metrics of a job (namespace s3shift,
        dimension job), (job, "dead-letter queue") for SQS's depth of a job's event dead-letter queue. Anything
        else is refused."""
        self.assertEqual(len(alarm["Dimensions"]), 1, alarm)
        (dimension,) = alarm["Dimensions"]
        if alarm["Namespace"] == "s3shift":
            self.assertEqual(dimension["Name"], "job", alarm)
            self.assertIn(dimension["Value"], self.jobs, alarm)
            return dimension["Value"], alarm["MetricName"]
        self.assertEqual((alarm["Namespace"], alarm["MetricName"]), DEAD_LETTER_METRIC,
                         "an alarm on neither the binary's metrics nor an event dead-letter queue's depth")
        self.assertEqual(dimension["Name"], "QueueName", alarm)
        queue = self.deployment.resolve("monitoring", dimension["Value"])
        jobs = [job for job, name in self.dead_letter_queues.items() if name == queue]
        self.assertEqual(len(jobs), 1, f"{queue} is no job's event dead-letter queue")
        return jobs[0], "dead-letter queue"

    def alarm(self, alarms, job, metric):
        found = [
            a
            for a in alarms.values()
            if a["MetricName"] == metric and a["Dimensions"] == [{"Name": "job", "Value": job}]
        ]
        self.assertEqual(len(found), 1, f"{job}: one alarm on {metric}")
        return found[0]

    def test_the_dead_letter_queues_are_found(self):
        # Every job has one with the option on, each its own: otherwise the comparisons below prove nothing.
        self.assertEqual(sorted(self.dead_letter_queues), self.jobs)
        self.assertEqual(len(set(self.dead_letter_queues.values())), len(self.jobs))

    def test_every_job_has_its_alarms_and_nothing_else_is_watched(self):
        binary = [(job, metric) for job in self.jobs for metric in BINARY_METRICS]
        for name, found, expected in (
            ("off", self.alarms_off, binary),
            ("on", self.alarms_on, binary + [(job, "dead-letter queue") for job in self.jobs]),
        ):
            with self.subTest(EventIngestion=name):
                self.assertEqual(sorted(self.watched(a) for a in found.values()), sorted(expected))

    def test_the_binarys_metrics_alarm_as_before_whatever_the_option(self):
        for name, found in (("off", self.alarms_off), ("on", self.alarms_on)):
            for job in self.jobs:
                with self.subTest(EventIngestion=name, job=job):
                    expiry = self.alarm(found, job, "s3shift_expiry_warnings_count")
                    self.assertEqual(
                        (expiry["Statistic"], expiry["ComparisonOperator"], expiry["Threshold"], expiry["TreatMissingData"]),
                        ("Maximum", "GreaterThanOrEqualToThreshold", 1, "notBreaching"),
                    )
                    # No finished run: no sample at all must alarm, so missing data breaches.
                    no_run = self.alarm(found, job, "s3shift_run_duration_seconds")
                    self.assertEqual(
                        (no_run["Statistic"], no_run["ComparisonOperator"], no_run["Threshold"], no_run["TreatMissingData"]),
                        ("SampleCount", "LessThanThreshold", 1, "breaching"),
                    )
                    for alarm in (expiry, no_run):
                        self.assertEqual(alarm["Namespace"], "s3shift")
                        self.assertIn(job, self.deployment.resolve("monitoring", alarm["AlarmName"]))
                        self.assertEqual(alarm["AlarmActions"], [{"Ref": "AlarmTopic"}])
                        self.assertEqual(alarm["OKActions"], [{"Ref": "AlarmTopic"}])

    def test_with_event_ingestion_each_job_alarms_on_its_own_dead_letter_queue(self):
        for job in self.jobs:
            with self.subTest(job=job):
                (logical_id,) = [k for k, a in self.alarms_on.items() if self.watched(a) == (job, "dead-letter queue")]
                alarm = self.alarms_on[logical_id]
                (dimension,) = alarm["Dimensions"]
                self.assertEqual(self.deployment.resolve("monitoring", dimension["Value"]), self.dead_letter_queues[job])
                # Passed as the storage stack's export, not a name written twice.
                self.assertEqual(list(dimension["Value"]), ["Fn::ImportValue"])
                self.assertEqual(
                    (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"], alarm["ComparisonOperator"],
                     alarm["Threshold"], alarm["TreatMissingData"]),
                    ("Maximum", 300, 1, "GreaterThanThreshold", 0, "notBreaching"),
                )
                self.assertNotIn("DatapointsToAlarm", alarm)
                self.assertIn(job, self.deployment.resolve("monitoring", alarm["AlarmName"]))
                self.assertEqual(alarm["AlarmActions"], [{"Ref": "AlarmTopic"}])
                self.assertEqual(alarm["OKActions"], [{"Ref": "AlarmTopic"}])
                self.assertEqual(self.monitoring[logical_id]["Condition"], "EventsOn")

    def test_without_event_ingestion_no_alarm_watches_a_queue(self):
        self.assertEqual([a for a in self.alarms_off.values() if a["Namespace"] != "s3shift"], [])
        # Nothing the off stacks lack is imported: the storage stack exports the queues' names only when on.
        for logical_id, alarm in self.alarms_off.items():
            with self.subTest(alarm=logical_id):
                self.assertNotIn("Fn::ImportValue", str(alarm))
        for output_id in ("ApiEventsDeadLetterQueueName", "KafkaEventsDeadLetterQueueName"):
            self.assertEqual(self.deployment.stacks["storage"]["Outputs"][output_id]["Condition"], "EventsOn")
        parameter = self.template["Parameters"]["EventIngestion"]
        self.assertEqual((parameter["Default"], parameter["AllowedValues"]), ("off", ["off", "on"]))
        self.assertEqual(self.template["Conditions"]["EventsOn"], {"Fn::Equals": [{"Ref": "EventIngestion"}, "on"]})

    def test_the_rule_refuses_any_other_alarm(self):
        """The exception for AWS/SQS is only the depth of an event dead-letter queue."""
        (dead_letter,) = [a for a in self.alarms_on.values()
                          if a["Namespace"] == "AWS/SQS" and self.watched(a)[0] == self.jobs[0]]
        (binary,) = [a for a in self.alarms_on.values()
                     if a["Namespace"] == "s3shift" and self.watched(a) == (self.jobs[0], BINARY_METRICS[0])]
        storage = self.deployment.stacks["storage"]
        events_queue = next(
            r["Properties"]["QueueName"] for r in storage["Resources"].values()
            if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]
        )

        def changed(alarm, **properties):
            alarm = copy.deepcopy(alarm)
            alarm.update(properties)
            return alarm

        refused = {
            "the event queue itself, not its dead-letter queue": changed(
                dead_letter, Dimensions=[{"Name": "QueueName", "Value": events_queue}]),
            "another queue": changed(dead_letter, Dimensions=[{"Name": "QueueName", "Value": "prod-other-dlq"}]),
            "another SQS metric": changed(dead_letter, MetricName="ApproximateAgeOfOldestMessage"),
            "another dimension too": changed(
                dead_letter, Dimensions=dead_letter["Dimensions"] + [{"Name": "job", "Value": self.jobs[0]}]),
            "another AWS namespace": changed(dead_letter, Namespace="AWS/ECS"),
            "the SQS metric in the binary's namespace": changed(dead_letter, Namespace="s3shift"),
            "a job that does not exist": changed(binary, Dimensions=[{"Name": "job", "Value": "no-such-job"}]),
        }
        for reason, alarm in refused.items():
            with self.subTest(reason):
                with self.assertRaises(AssertionError):
                    self.watched(alarm)

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
