"""Event-driven ingestion (EventIngestion=on in the network, storage, compute, delivery and monitoring stacks): each
ingestion bucket sends its s3:ObjectCreated:* events straight to its job's SQS queue, which has a dead-letter queue; both
are encrypted with a customer key S3 may use and refuse requests without TLS; only the bucket may send, and only
the job's own task role may receive. Each job then runs as an ECS service of FollowerMinTasks to FollowerMaxTasks
followers, `s3shift run <job> --follow`, scaled on its queue's backlog per task (at most the job file's
`consumers`, the followers that may load at once), with the scheduled task's environment and its queue's URL,
and a reconciliation scan (`--scan`) replaces its
schedule, and the monitoring stack alarms on each dead-letter queue's depth (tests/deploy/test_monitoring.py). With
the option off (the default) none of it exists and the stacks are as before.

The conditions are evaluated (cfn.deployed) for both values; names and ARNs are resolved for the sample
deployment of all stacks (cfn.Deployment), the queue's ARN from the storage stack and the role's grants from the
iam stack, so a name that differs between them fails here rather than as AccessDenied in AWS.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import re
import unittest

import cfn
from cfn import as_list

# Job -> (its ingestion bucket, its queue, its dead-letter queue, its task role), logical ids.
JOBS = {
    "api-images": ("ApiIngestionBucket", "ApiEventsQueue", "ApiEventsDeadLetterQueue", "ApiTaskRole"),
    "kafka-images": ("KafkaIngestionBucket", "KafkaEventsQueue", "KafkaEventsDeadLetterQueue", "KafkaTaskRole"),
}
STACKS_WITH_THE_OPTION = ("network", "storage", "compute", "delivery", "monitoring")
ON = {"EventIngestion": "on"}
# SQS's maximum retention ("CreateQueue", Amazon SQS API Reference: 60 to 1,209,600 seconds).
FOURTEEN_DAYS = 1209600


def statements(document):
    return as_list(document["Statement"])


class EventIngestion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cfn.Deployment()
        cls.templates = cls.d.stacks
        cls.storage_on = cfn.deployed(cls.templates["storage"], ON)
        cls.compute_on = cfn.deployed(cls.templates["compute"], ON)
        cls.iam = cls.templates["iam"]["Resources"]

    def arn(self, stack, logical_id):
        return self.d.resolve(stack, {"Fn::GetAtt": [logical_id, "Arn"]})

    def queue_policy(self, queue):
        (policy,) = [
            r["Properties"] for r in self.storage_on.values()
            if r["Type"] == "AWS::SQS::QueuePolicy" and r["Properties"]["Queues"] == [{"Ref": queue}]
        ]
        return policy["PolicyDocument"]

    # --- the option ---

    def test_the_option_is_one_parameter_off_by_default_in_every_stack_that_has_it(self):
        for stack, template in self.templates.items():
            with self.subTest(stack=stack):
                if stack not in STACKS_WITH_THE_OPTION:
                    self.assertNotIn("EventIngestion", template.get("Parameters", {}))
                    continue
                parameter = template["Parameters"]["EventIngestion"]
                self.assertEqual((parameter["Default"], parameter["AllowedValues"]), ("off", ["off", "on"]))
                if stack != "delivery":
                    self.assertEqual(template["Conditions"]["EventsOn"],
                                     {"Fn::Equals": [{"Ref": "EventIngestion"}, "on"]})

    def test_off_makes_nothing_of_it(self):
        new_types = {"AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "AWS::ECS::Service"}
        for stack, template in self.templates.items():
            off = cfn.deployed(template)
            on = cfn.deployed(template, ON)
            with self.subTest(stack=stack):
                self.assertEqual([k for k, r in off.items() if r["Type"] in new_types], [])
                added = set(on) - set(off)
                for logical_id in added:
                    self.assertEqual(template["Resources"][logical_id].get("Condition"), "EventsOn", logical_id)
                for output in template.get("Outputs", {}).values():
                    if re.search(r"Events(DeadLetter)?Queue", str(output["Value"])):
                        self.assertEqual(output.get("Condition"), "EventsOn")
        # What on adds, stack by stack.
        added = {
            stack: sorted(set(cfn.deployed(t, ON)) - set(cfn.deployed(t)))
            for stack, t in self.templates.items()
        }
        self.assertEqual(added["network"], ["SqsEndpoint"])
        self.assertEqual(added["storage"], sorted([
            "QueueKey", "QueueKeyAlias",
            "ApiEventsQueue", "ApiEventsDeadLetterQueue", "ApiEventsQueuePolicy", "ApiEventsDeadLetterQueuePolicy",
            "KafkaEventsQueue", "KafkaEventsDeadLetterQueue", "KafkaEventsQueuePolicy",
            "KafkaEventsDeadLetterQueuePolicy",
        ]))
        self.assertEqual(added["compute"], sorted([
            "ApiImagesFollowTask", "ApiImagesScanTask", "ApiImagesService", "ApiImagesReconcileSchedule",
            "ApiImagesScalableTarget", "ApiImagesBacklogScaling",
            "KafkaImagesFollowTask", "KafkaImagesScanTask", "KafkaImagesService", "KafkaImagesReconcileSchedule",
            "KafkaImagesScalableTarget", "KafkaImagesBacklogScaling",
        ]))
        self.assertEqual(added["monitoring"], ["ApiImagesEventsDeadLetterAlarm", "KafkaImagesEventsDeadLetterAlarm"])
        for stack in ("iam", "warehouse", "bastion", "delivery"):
            self.assertEqual(added[stack], [], stack)
        # Off, the buckets send no events and the jobs keep their schedules; on, the schedules give way.
        storage_off = cfn.deployed(self.templates["storage"])
        for bucket, *_ in JOBS.values():
            self.assertNotIn("NotificationConfiguration", storage_off[bucket]["Properties"])
        compute_off = cfn.deployed(self.templates["compute"])
        for schedule in ("ApiImagesSchedule", "KafkaImagesSchedule"):
            self.assertIn(schedule, compute_off)
            self.assertNotIn(schedule, self.compute_on)

    # --- queues ---

    def test_each_bucket_sends_its_object_created_events_to_its_own_queue_only(self):
        for job, (bucket, queue, _, _) in JOBS.items():
            with self.subTest(job=job):
                (config,) = self.storage_on[bucket]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
                self.assertEqual(config["Event"], "s3:ObjectCreated:*")
                self.assertNotIn("Filter", config)
                self.assertEqual(self.d.resolve("storage", config["Queue"]), self.arn("storage", queue))
                # The queue policy is created before the notification is put (S3 tests the destination then).
                first, (_, *ordering) = config["Queue"]["Fn::Select"]
                self.assertEqual((first, ordering), (0, [{"Ref": queue + "Policy"}]))
                self.assertNotIn("DependsOn", self.storage_on[bucket])

    def test_the_queue_policies_name_the_bucket_without_a_reference_to_it(self):
        # A !Ref or !GetAtt of the bucket in its destination's policy is the cycle "AWS::S3::Bucket
        # NotificationConfiguration" warns of: the bucket now waits for the policy.
        buckets = {bucket for bucket, *_ in JOBS.values()}

        def references(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "Ref":
                        yield value
                    elif key == "Fn::GetAtt":
                        yield value[0]
                    elif key == "Fn::Sub":
                        text = value if isinstance(value, str) else value[0]
                        yield from (name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
                        if not isinstance(value, str):
                            yield from references(value[1])
                    else:
                        yield from references(value)
            elif isinstance(node, list):
                for value in node:
                    yield from references(value)

        for logical_id, resource in self.storage_on.items():
            if resource["Type"] in ("AWS::SQS::QueuePolicy", "AWS::SQS::Queue", "AWS::KMS::Key"):
                with self.subTest(resource=logical_id):
                    self.assertEqual(set(references(resource)) & buckets, set())

    def test_each_queue_has_a_dead_letter_queue_kept_fourteen_days(self):
        params = cfn.defaults(self.templates["storage"])
        for job, (_, queue, dlq, _) in JOBS.items():
            with self.subTest(job=job):
                props = self.storage_on[queue]["Properties"]
                redrive = props["RedrivePolicy"]
                self.assertEqual(self.d.resolve("storage", redrive["deadLetterTargetArn"]), self.arn("storage", dlq))
                self.assertEqual(redrive["maxReceiveCount"], {"Ref": "EventMaxReceiveCount"})
                self.assertEqual(params["EventMaxReceiveCount"], "5")
                dead = self.storage_on[dlq]["Properties"]
                self.assertEqual(dead["MessageRetentionPeriod"], FOURTEEN_DAYS)
                self.assertNotIn("RedrivePolicy", dead)
                # "Setting-up dead-letter queue retention in Amazon SQS": the DLQ keeps messages longer than
                # its source queue, whose messages keep their first enqueue time when they move.
                self.assertLess(props["MessageRetentionPeriod"], FOURTEEN_DAYS)
                # No event outlives the object it names (the buckets' expiry).
                days = int(cfn.defaults(self.templates["storage"])["IngestionExpirationDays"])
                self.assertLessEqual(props["MessageRetentionPeriod"], days * 86400)
                self.assertEqual(props["VisibilityTimeout"], {"Ref": "EventVisibilityTimeoutSeconds"})
                self.assertNotIn("FifoQueue", props)  # S3 sends events to standard queues only

    def test_the_visibility_timeout_covers_a_run_and_fits_sqs(self):
        parameter = self.templates["storage"]["Parameters"]["EventVisibilityTimeoutSeconds"]
        # SQS: 0 to 43,200 seconds. At least the follower's drain and a load.
        self.assertLessEqual(parameter["MaxValue"], 43200)
        self.assertGreaterEqual(parameter["MinValue"], 60)
        stop = max(
            int(c["Command"][c["Command"].index("--stop-timeout-seconds") + 1])
            for r in self.compute_on.values() if r["Type"] == "AWS::ECS::TaskDefinition"
            for c in r["Properties"]["ContainerDefinitions"] if c["Command"][0] == "run"
        )
        self.assertGreater(int(parameter["Default"]), stop)

    def test_both_queues_are_encrypted_with_the_customer_key_s3_may_use(self):
        key = self.storage_on["QueueKey"]
        self.assertEqual((key.get("DeletionPolicy"), key["Properties"]["EnableKeyRotation"]), ("Retain", True))
        for job, (_, queue, dlq, _) in JOBS.items():
            for logical_id in (queue, dlq):
                with self.subTest(queue=logical_id):
                    props = self.storage_on[logical_id]["Properties"]
                    # Not aws/sqs (S3 cannot use it), not SSE-SQS: the customer key.
                    self.assertEqual(props["KmsMasterKeyId"], {"Fn::GetAtt": ["QueueKey", "Arn"]})
                    self.assertNotIn("SqsManagedSseEnabled", props)
        policy = statements(key["Properties"]["KeyPolicy"])
        by_service = [st for st in policy if st.get("Principal", {}).get("Service") == "s3.amazonaws.com"]
        (s3,) = by_service
        self.assertEqual((s3["Effect"], sorted(as_list(s3["Action"]))), ("Allow", ["kms:Decrypt", "kms:GenerateDataKey"]))
        # Nobody else but the account (administration) and the two task roles (Decrypt through SQS).
        (roles,) = [st for st in policy if st.get("Sid") == "TaskRolesReceiveEvents"]
        self.assertEqual(as_list(roles["Action"]), ["kms:Decrypt"])
        self.assertEqual(self.d.resolve("storage", roles["Condition"]["StringEquals"]["kms:ViaService"]),
                         f"sqs.{cfn.SAMPLE_PSEUDO['AWS::Region']}.amazonaws.com")
        principals = {self.d.resolve("storage", p) for p in as_list(roles["Principal"]["AWS"])}
        self.assertEqual(principals, {self.d.resolve("iam", {"Fn::GetAtt": [role, "Arn"]})
                                      for *_, role in JOBS.values()})
        self.assertEqual(len(policy), 3)

    def test_queue_policies_deny_plain_http_and_let_only_the_jobs_bucket_send(self):
        account = cfn.SAMPLE_PSEUDO["AWS::AccountId"]
        for job, (bucket, queue, dlq, _) in JOBS.items():
            for logical_id in (queue, dlq):
                with self.subTest(queue=logical_id):
                    document = self.queue_policy(logical_id)
                    (deny,) = [st for st in statements(document) if st["Effect"] == "Deny"]
                    self.assertEqual((deny["Principal"], deny["Action"]), ("*", "sqs:*"))
                    self.assertEqual(deny["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
                    self.assertEqual(self.d.resolve("storage", deny["Resource"]), self.arn("storage", logical_id))
                    allows = [st for st in statements(document) if st["Effect"] == "Allow"]
                    if logical_id == dlq:
                        self.assertEqual(allows, [], "only SQS moves messages into the dead-letter queue")
                        continue
                    (allow,) = allows
                    self.assertEqual((allow["Principal"], allow["Action"]),
                                     ({"Service": "s3.amazonaws.com"}, "sqs:SendMessage"))
                    self.assertEqual(self.d.resolve("storage", allow["Resource"]), self.arn("storage", queue))
                    condition = allow["Condition"]
                    self.assertEqual(set(condition), {"ArnEquals", "StringEquals"})
                    self.assertEqual(self.d.resolve("storage", condition["ArnEquals"]["aws:SourceArn"]),
                                     self.arn("storage", bucket))
                    self.assertEqual(self.d.resolve("storage", condition["StringEquals"]["aws:SourceAccount"]), account)

    # --- who may use the queues ---

    def sqs_grants(self, role):
        """action -> resolved resources of the role's Allow statements on sqs:*."""
        grants = {}
        for policy in self.iam[role]["Properties"]["Policies"]:
            for st in statements(policy["PolicyDocument"]):
                for action in as_list(st["Action"]):
                    if st["Effect"] == "Allow" and action.startswith("sqs:"):
                        grants.setdefault(action, set()).update(
                            self.d.resolve("iam", r) for r in as_list(st["Resource"]))
        return grants

    def test_each_task_role_uses_its_own_queues_only(self):
        for job, (_, queue, dlq, role) in JOBS.items():
            with self.subTest(job=job):
                own, dead = self.arn("storage", queue), self.arn("storage", dlq)
                self.assertEqual(self.sqs_grants(role), {
                    "sqs:ReceiveMessage": {own},
                    "sqs:DeleteMessage": {own},
                    "sqs:ChangeMessageVisibility": {own},
                    "sqs:GetQueueAttributes": {own, dead},
                    "sqs:GetQueueUrl": {dead},
                })
        # The api role cannot receive from the kafka queue (nor touch its DLQ), and the other way round.
        for job, (_, _, _, role) in JOBS.items():
            every = set().union(*self.sqs_grants(role).values())
            for other, (_, queue, dlq, _) in JOBS.items():
                if other != job:
                    with self.subTest(role=role, other=other):
                        self.assertEqual(every & {self.arn("storage", queue), self.arn("storage", dlq)}, set())
                        self.assertFalse([arn for arn in every if "*" in arn])

    def test_nobody_but_s3_may_send_to_a_queue(self):
        for stack, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                props = resource.get("Properties", {})
                documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
                if "PolicyDocument" in props and resource["Type"] != "AWS::SQS::QueuePolicy":
                    documents.append(props["PolicyDocument"])
                for document in documents:
                    for st in statements(document):
                        with self.subTest(stack=stack, resource=logical_id):
                            actions = as_list(st["Action"])
                            self.assertNotIn("sqs:SendMessage", actions)
                            self.assertFalse([a for a in actions if a.startswith("sqs:") and "*" in a])

    def test_the_task_roles_may_decrypt_through_sqs_with_the_queue_key_only(self):
        alias = self.d.resolve("storage", self.storage_on["QueueKeyAlias"]["Properties"]["AliasName"])
        for _, _, _, role in JOBS.values():
            with self.subTest(role=role):
                (st,) = [st for p in self.iam[role]["Properties"]["Policies"] for st in statements(p["PolicyDocument"])
                         if st.get("Sid") == "EventQueueKey"]
                self.assertEqual((st["Action"], st["Resource"]), ("kms:Decrypt", "*"))
                self.assertEqual(self.d.resolve("iam", st["Condition"]["StringEquals"]["kms:ViaService"]),
                                 f"sqs.{cfn.SAMPLE_PSEUDO['AWS::Region']}.amazonaws.com")
                self.assertEqual(
                    self.d.resolve("iam", st["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]), alias)

    def test_doctor_may_read_each_buckets_notification_configuration(self):
        for job, (bucket, _, _, role) in JOBS.items():
            with self.subTest(job=job):
                resources = {
                    self.d.resolve("iam", r)
                    for p in self.iam[role]["Properties"]["Policies"] for st in statements(p["PolicyDocument"])
                    if "s3:GetBucketNotification" in as_list(st["Action"]) for r in as_list(st["Resource"])
                }
                self.assertEqual(resources, {self.arn("storage", bucket)})

    # --- the services and the scans ---

    def container(self, logical_id):
        (container,) = self.compute_on[logical_id]["Properties"]["ContainerDefinitions"]
        return container

    def environment(self, container):
        return {pair["Name"]: pair["Value"] for pair in container["Environment"]}

    def test_each_followers_service_scales_on_its_own_queues_backlog_per_task(self):
        # "Create a target tracking scaling policy for Application Auto Scaling using metric math", example "Amazon
        # SQS queue backlog per task": visible messages / the service's RunningTaskCount (Container Insights).
        prefix = {"api-images": "ApiImages", "kafka-images": "KafkaImages"}
        params = self.templates["compute"]["Parameters"]
        cluster = self.templates["compute"]["Resources"]["Cluster"]["Properties"]
        self.assertIn({"Name": "containerInsights", "Value": "enabled"}, cluster["ClusterSettings"])
        for job, (_, queue, _, _) in JOBS.items():
            with self.subTest(job=job):
                target = self.compute_on[prefix[job] + "ScalableTarget"]["Properties"]
                self.assertEqual((target["ServiceNamespace"], target["ScalableDimension"]),
                                 ("ecs", "ecs:service:DesiredCount"))
                self.assertEqual(target["ResourceId"],
                                 {"Fn::Sub": "service/${Cluster}/${" + prefix[job] + "Service.Name}"})
                self.assertEqual((target["MinCapacity"], target["MaxCapacity"]),
                                 ({"Ref": "FollowerMinTasks"}, {"Ref": "FollowerMaxTasks"}))
                self.assertNotIn("RoleARN", target, "Application Auto Scaling's service-linked role")
                policy = self.compute_on[prefix[job] + "BacklogScaling"]["Properties"]
                self.assertEqual(policy["PolicyType"], "TargetTrackingScaling")
                self.assertEqual(policy["ScalingTargetId"], {"Ref": prefix[job] + "ScalableTarget"})
                tracking = policy["TargetTrackingScalingPolicyConfiguration"]
                self.assertEqual(tracking["TargetValue"], {"Ref": "FollowerBacklogPerTask"})
                metrics = {m["Id"]: m for m in tracking["CustomizedMetricSpecification"]["Metrics"]}
                self.assertEqual(metrics["backlog_per_task"]["Expression"], "messages / tasks")
                self.assertEqual([m["Id"] for m in metrics.values() if m["ReturnData"]], ["backlog_per_task"])
                visible = metrics["messages"]["MetricStat"]["Metric"]
                self.assertEqual((visible["Namespace"], visible["MetricName"]),
                                 ("AWS/SQS", "ApproximateNumberOfMessagesVisible"))
                (dimension,) = visible["Dimensions"]
                queue_name = self.templates["storage"]["Resources"][queue]["Properties"]["QueueName"]
                self.assertEqual(self.d.resolve("compute", dimension["Value"]), self.d.resolve("storage", queue_name))
                tasks = metrics["tasks"]["MetricStat"]["Metric"]
                self.assertEqual((tasks["Namespace"], tasks["MetricName"]),
                                 ("ECS/ContainerInsights", "RunningTaskCount"))
                self.assertEqual({d["Name"]: d["Value"] for d in tasks["Dimensions"]},
                                 {"ClusterName": {"Ref": "Cluster"},
                                  "ServiceName": {"Fn::GetAtt": [prefix[job] + "Service", "Name"]}})
                # No more followers than may load at once: the job file's consumers.
                text = open(f"jobs/{job}.toml", encoding="utf-8").read()
                consumers = int(re.search(r"^consumers = (\d+)", text, re.M).group(1))
                self.assertLessEqual(params["FollowerMaxTasks"]["MaxValue"], consumers)
                self.assertLessEqual(params["FollowerMinTasks"]["MaxValue"], params["FollowerMaxTasks"]["MaxValue"])

    def test_each_job_runs_as_followers_with_the_scheduled_environment_and_its_queue(self):
        prefix = {"api-images": "ApiImages", "kafka-images": "KafkaImages"}
        for job, (bucket, queue, _, _) in JOBS.items():
            with self.subTest(job=job):
                service = self.compute_on[prefix[job] + "Service"]["Properties"]
                self.assertEqual(service["DesiredCount"], {"Ref": "FollowerMinTasks"})
                self.assertEqual(service["LaunchType"], "FARGATE")
                self.assertEqual(service["Cluster"], {"Ref": "Cluster"})
                self.assertEqual(service["TaskDefinition"], {"Ref": prefix[job] + "FollowTask"})
                deployment = service["DeploymentConfiguration"]
                # A deploy drains the old followers before new ones start.
                self.assertEqual((deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]), (0, 100))
                self.assertEqual(deployment["DeploymentCircuitBreaker"], {"Enable": True, "Rollback": True})
                self.assertEqual(service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"], "DISABLED")
                # The same network as the scheduled task's.
                schedule = self.templates["compute"]["Resources"][prefix[job] + "Schedule"]["Properties"]
                self.assertEqual(
                    service["NetworkConfiguration"],
                    schedule["Target"]["EcsParameters"]["NetworkConfiguration"])

                follow = self.container(prefix[job] + "FollowTask")
                self.assertEqual(follow["Command"], ["run", job, "--follow", "--stop-timeout-seconds", "25"])
                # SIGTERM drains within 25 s; ECS sends SIGKILL after StopTimeout (Fargate: at most 120 s).
                self.assertTrue(25 < follow["StopTimeout"] <= 120)
                self.assertIs(follow["ReadonlyRootFilesystem"], True)
                scheduled = self.container(prefix[job] + "Task")
                env = self.environment(follow)
                self.assertEqual(set(env) - set(self.environment(scheduled)), {"S3SHIFT_QUEUE_URL"})
                for name, value in self.environment(scheduled).items():
                    self.assertEqual(env[name], value, name)
                self.assertEqual(self.d.resolve("compute", env["S3SHIFT_QUEUE_URL"]),
                                 self.d.resolve("storage", {"Ref": queue}))
                # The queue it follows is the one its own source bucket sends to.
                self.assertEqual(self.d.imported_resource("compute", env["S3SHIFT_SOURCE_BUCKET"]), ("storage", bucket))
                # The same roles, image and logs as the scheduled task.
                follow_td = self.compute_on[prefix[job] + "FollowTask"]["Properties"]
                scheduled_td = self.compute_on[prefix[job] + "Task"]["Properties"]
                for key in ("TaskRoleArn", "ExecutionRoleArn", "Cpu", "Memory", "RuntimePlatform"):
                    self.assertEqual(follow_td[key], scheduled_td[key], key)
                self.assertEqual(follow["Image"], scheduled["Image"])
                self.assertEqual(follow["LogConfiguration"]["Options"]["awslogs-group"], {"Ref": "TaskLogGroup"})

    def test_a_reconciliation_scan_replaces_each_jobs_schedule(self):
        compute = self.templates["compute"]
        prefix = {"api-images": "ApiImages", "kafka-images": "KafkaImages"}
        expressions = set()
        for job in JOBS:
            with self.subTest(job=job):
                schedule = self.compute_on[prefix[job] + "ReconcileSchedule"]["Properties"]
                self.assertEqual(schedule["Target"]["EcsParameters"]["TaskDefinitionArn"],
                                 {"Ref": prefix[job] + "ScanTask"})
                self.assertEqual(schedule["ScheduleExpressionTimezone"], "UTC")
                parameter = schedule["ScheduleExpression"]["Ref"]
                expressions.add(compute["Parameters"][parameter]["Default"])
                scan = self.container(prefix[job] + "ScanTask")
                self.assertEqual(scan["Command"], ["run", job, "--scan", "--stop-timeout-seconds", "25"])
                self.assertEqual(self.environment(scan), self.environment(self.container(prefix[job] + "FollowTask")))
                regular = compute["Resources"][prefix[job] + "Schedule"]
                self.assertEqual(regular["Condition"], "EventsOff")
                self.assertEqual(compute["Conditions"]["EventsOff"], {"Fn::Equals": [{"Ref": "EventIngestion"}, "off"]})
        self.assertEqual(expressions, {"cron(20 * * * ? *)", "cron(50 * * * ? *)"}, "hourly, at different minutes")

    def test_the_pipeline_keeps_the_option_as_the_compute_stack_has_it(self):
        delivery = self.templates["delivery"]["Parameters"]
        compute = self.templates["compute"]["Parameters"]
        for name in ("EventIngestion", "ApiImagesReconcileExpression", "KafkaImagesReconcileExpression"):
            with self.subTest(parameter=name):
                for key in ("Default", "AllowedValues", "AllowedPattern"):
                    self.assertEqual(delivery[name].get(key), compute[name].get(key), key)

    def test_the_readme_explains_the_option(self):
        readme = (cfn.ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
        self.assertTrue("\n## Event-driven ingestion\n" in readme, "deploy/README.md has no such section")
        section = readme.split("\n## Event-driven ingestion\n", 1)[1].split("\n## ", 1)[0]
        for needed in ("EventIngestion=on", "EventBridge", "aws/sqs", "dead-letter", "--scan", "--follow",
                       "(#what-the-cadence-costs-in-the-warehouse)", "MonthlyRpuHours"):
            self.assertTrue(needed in section, f"the section does not mention {needed}")
        self.assertTrue("### What the cadence costs in the warehouse\n" in readme, "the linked section is gone")


if __name__ == "__main__":
    unittest.main()
