"""The role CloudFormation uses when the pipeline deploys the compute stack (iam.yaml DeployRole, which holds all
its permissions: no other stack adds a policy to it) may do what the compute stack's resource types need, and
nothing else. The compute stack's schedules run as iam.yaml's SchedulerRole: compute.yaml has no IAM resource, so
the deploy role may pass roles but never create one or write a policy, and the schedules' role may start only the
scheduled task definitions, in the cluster, with the roles they name.

What a resource type needs is what its resource handlers call: the "handlers" section of the type's CloudFormation
resource provider schema lists the permissions of its create, read, update, delete and list handlers ("Resource
type schema", CloudFormation CLI user guide). cfn-lint's bundled schemas drop that section, so the table below
keeps the create, read, update and delete permissions of every type deploy/compute.yaml uses, each with where it
was read. A type not in the table fails the test: adding one to compute.yaml means adding its handler permissions
here, and to the role; a type compute.yaml stops using leaves the table (and the role). The list handler is left
out (stack operations do not call it).

A few handler permissions are not granted, each with its reason: not an IAM action, account-wide, or for a
property the compute stack does not set (the test checks that it still does not).

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import fnmatch
import unittest

import cfn
from cfn import as_list

CFN_LINT = "cfn-lint's copy of the us-east-1 provider schema, src/cfnlint/data/schemas/providers/us_east_1"
UNVERIFIED = (
    "not found in any offline copy: AWS's published registry schema as recalled; check with `aws cloudformation "
    "describe-type --type RESOURCE --type-name {type} --query Schema` in an account"
)

# type -> (source, {handler: [permissions]})
HANDLERS = {
    "AWS::ECR::Repository": (
        CFN_LINT + "/aws-ecr-repository.json (and aws-cloudformation-resource-providers-ecr)",
        {
            "create": ["ecr:CreateRepository", "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy", "ecr:TagResource",
                       "kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant"],
            "read": ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy",
                     "ecr:ListTagsForResource"],
            "update": ["ecr:DescribeRepositories", "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy",
                       "ecr:ListTagsForResource", "ecr:TagResource", "ecr:UntagResource", "ecr:DeleteLifecyclePolicy",
                       "ecr:DeleteRepositoryPolicy", "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability",
                       "kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant"],
            "delete": ["ecr:DeleteRepository", "kms:RetireGrant"],
        },
    ),
    "AWS::ECS::Cluster": (
        CFN_LINT + "/aws-ecs-cluster.json",
        {
            "create": ["ecs:CreateCluster", "ecs:DescribeClusters", "iam:CreateServiceLinkedRole"],
            "read": ["ecs:DescribeClusters"],
            "update": ["ecs:PutAccountSettingDefault", "ecs:DescribeClusters", "ecs:TagResource", "ecs:UntagResource",
                       "ecs:PutAccountSetting", "ecs:ListTagsForResource", "ecs:UpdateCluster",
                       "ecs:UpdateClusterSettings", "ecs:PutClusterCapacityProviders"],
            "delete": ["ecs:DeleteCluster", "ecs:DescribeClusters"],
        },
    ),
    "AWS::ECS::TaskDefinition": (
        CFN_LINT + "/aws-ecs-taskdefinition.json",
        {
            "create": ["ecs:RegisterTaskDefinition", "iam:GetRole", "iam:PassRole"],
            "read": ["ecs:DescribeTaskDefinition"],
            "update": ["ecs:TagResource", "ecs:UntagResource", "ecs:ListTagsForResource", "iam:GetRole",
                       "iam:PassRole"],
            "delete": ["ecs:DeregisterTaskDefinition", "iam:GetRole", "iam:PassRole"],
        },
    ),
    "AWS::Logs::LogGroup": (
        CFN_LINT + "/aws-logs-loggroup.json",
        {
            "create": ["logs:DescribeLogGroups", "logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource",
                       "logs:GetDataProtectionPolicy", "logs:PutDataProtectionPolicy", "logs:CreateLogDelivery",
                       "s3:REST.PUT.OBJECT", "firehose:TagDeliveryStream", "logs:PutResourcePolicy",
                       "logs:DescribeResourcePolicies"],
            "read": ["logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:GetDataProtectionPolicy"],
            "update": ["logs:DescribeLogGroups", "logs:AssociateKmsKey", "logs:DisassociateKmsKey",
                       "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource",
                       "logs:UntagResource", "logs:GetDataProtectionPolicy", "logs:PutDataProtectionPolicy",
                       "logs:CreateLogDelivery", "s3:REST.PUT.OBJECT", "firehose:TagDeliveryStream"],
            "delete": ["logs:DescribeLogGroups", "logs:DeleteLogGroup", "logs:DeleteDataProtectionPolicy"],
        },
    ),
    # The --follow services of event-driven ingestion (compute.yaml, EventIngestion=on).
    "AWS::ECS::Service": (
        "the registry schema's handlers as the Cloud Control docs generated from it list them (stackql-provider-awscc,"
        " website/docs/services/ecs/services/index.md, Permissions); not in cfn-lint's copy",
        {
            "create": ["ecs:CreateService", "ecs:DescribeServiceDeployments", "ecs:DescribeServices",
                       "ecs:ListServiceDeployments", "iam:PassRole", "ecs:TagResource"],
            "read": ["ecs:DescribeServices"],
            "update": ["ecs:DescribeServiceDeployments", "ecs:DescribeServices", "ecs:ListServiceDeployments",
                       "ecs:ListTagsForResource", "ecs:StopServiceDeployment", "ecs:TagResource",
                       "ecs:UntagResource", "ecs:UpdateService"],
            "delete": ["ecs:DeleteService", "ecs:DescribeServices"],
        },
    ),
    # The follower services' scaling (compute.yaml, EventIngestion=on).
    "AWS::ApplicationAutoScaling::ScalableTarget": (
        UNVERIFIED.format(type="AWS::ApplicationAutoScaling::ScalableTarget"),
        {
            "create": ["application-autoscaling:DescribeScalableTargets", "application-autoscaling:RegisterScalableTarget",
                       "application-autoscaling:DescribeScheduledActions", "application-autoscaling:PutScheduledAction",
                       "iam:PassRole", "iam:CreateServiceLinkedRole", "cloudwatch:PutMetricAlarm",
                       "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "lambda:GetProvisionedConcurrencyConfig",
                       "lambda:PutProvisionedConcurrencyConfig", "lambda:DeleteProvisionedConcurrencyConfig"],
            "read": ["application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScheduledActions"],
            "update": ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DescribeScalableTargets",
                       "application-autoscaling:DescribeScheduledActions", "application-autoscaling:DeleteScheduledAction",
                       "application-autoscaling:PutScheduledAction", "cloudwatch:PutMetricAlarm",
                       "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "lambda:GetProvisionedConcurrencyConfig",
                       "lambda:PutProvisionedConcurrencyConfig", "lambda:DeleteProvisionedConcurrencyConfig"],
            "delete": ["application-autoscaling:DeregisterScalableTarget"],
        },
    ),
    "AWS::ApplicationAutoScaling::ScalingPolicy": (
        UNVERIFIED.format(type="AWS::ApplicationAutoScaling::ScalingPolicy"),
        {
            "create": ["application-autoscaling:DescribeScalingPolicies", "application-autoscaling:PutScalingPolicy"],
            "read": ["application-autoscaling:DescribeScalingPolicies"],
            "update": ["application-autoscaling:DescribeScalingPolicies", "application-autoscaling:PutScalingPolicy"],
            "delete": ["application-autoscaling:DescribeScalingPolicies", "application-autoscaling:DeleteScalingPolicy"],
        },
    ),
    "AWS::Scheduler::Schedule": (
        UNVERIFIED.format(type="AWS::Scheduler::Schedule"),
        {
            "create": ["scheduler:CreateSchedule", "scheduler:GetSchedule", "iam:PassRole"],
            "read": ["scheduler:GetSchedule"],
            "update": ["scheduler:UpdateSchedule", "scheduler:GetSchedule", "iam:PassRole"],
            "delete": ["scheduler:DeleteSchedule", "scheduler:GetSchedule"],
        },
    ),
}

# (type, permission) -> (why it is not granted, the property whose use would need it, or None)
NOT_GRANTED = {
    ("AWS::Logs::LogGroup", "s3:REST.PUT.OBJECT"): ("not an IAM action (an S3 REST operation name)", None),
    ("AWS::Logs::LogGroup", "firehose:TagDeliveryStream"): ("findings delivery of a data protection policy",
                                                             "DataProtectionPolicy"),
    ("AWS::Logs::LogGroup", "logs:CreateLogDelivery"): ("findings delivery of a data protection policy",
                                                         "DataProtectionPolicy"),
    ("AWS::Logs::LogGroup", "logs:PutDataProtectionPolicy"): ("data protection policy", "DataProtectionPolicy"),
    ("AWS::Logs::LogGroup", "logs:DeleteDataProtectionPolicy"): ("data protection policy", "DataProtectionPolicy"),
    ("AWS::Logs::LogGroup", "logs:PutResourcePolicy"): ("account-wide CloudWatch Logs resource policies",
                                                         "ResourcePolicyDocument"),
    ("AWS::Logs::LogGroup", "logs:DescribeResourcePolicies"): ("account-wide CloudWatch Logs resource policies",
                                                               "ResourcePolicyDocument"),
    ("AWS::ECS::Cluster", "ecs:PutAccountSetting"): (
        "account-wide ECS settings: the cluster sets Container Insights for itself (ClusterSettings,"
        " UpdateClusterSettings); a deploy that needed it fails with AccessDenied rather than change the account",
        None),
    ("AWS::ECS::Cluster", "ecs:PutAccountSettingDefault"): ("account-wide ECS settings, as above", None),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "iam:PassRole"): (
        "a role of the target's own: the targets use Application Auto Scaling's service-linked role", "RoleARN"),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "application-autoscaling:PutScheduledAction"): (
        "scheduled scaling", "ScheduledActions"),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "application-autoscaling:DeleteScheduledAction"): (
        "scheduled scaling", "ScheduledActions"),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "application-autoscaling:DescribeScheduledActions"): (
        "scheduled scaling", "ScheduledActions"),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "lambda:GetProvisionedConcurrencyConfig"): (
        "Lambda provisioned concurrency targets; these are ECS services", None),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "lambda:PutProvisionedConcurrencyConfig"): (
        "Lambda provisioned concurrency targets, as above", None),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "lambda:DeleteProvisionedConcurrencyConfig"): (
        "Lambda provisioned concurrency targets, as above", None),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "cloudwatch:PutMetricAlarm"): (
        "target tracking's alarms are made by Application Auto Scaling's service-linked role for ECS "
        "(AWSApplicationAutoscalingECSServicePolicy), not by the caller", None),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "cloudwatch:DeleteAlarms"): ("the alarms, as above", None),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "cloudwatch:DescribeAlarms"): ("the alarms, as above", None),
}

# Granted though no handler lists it, with why.
EXTRA = {
    "cloudformation:ListExports": "the compute stack's !ImportValue names are read as the role",
}


def role_statements(deployment, role_name):
    """(stack, logical id, statement) of every Allow statement that applies to the role named `role_name`, from any
    stack: the role's own inline policies, and every AWS::IAM::RolePolicy, AWS::IAM::Policy or
    AWS::IAM::ManagedPolicy attached to it by name."""
    found = []
    created = False
    for stack, template in deployment.stacks.items():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            kind = resource["Type"]
            documents = []
            if kind == "AWS::IAM::Role" and deployment.resolve(stack, props.get("RoleName", "")) == role_name:
                created = True
                documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
                if props.get("ManagedPolicyArns"):
                    raise AssertionError(f"{role_name}: managed policies are not read by this test")
            elif kind == "AWS::IAM::RolePolicy" and deployment.resolve(stack, props["RoleName"]) == role_name:
                documents.append(props["PolicyDocument"])
            elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and role_name in [
                deployment.resolve(stack, r) for r in props.get("Roles", [])
            ]:
                documents.append(props["PolicyDocument"])
            for document in documents:
                for statement in as_list(document["Statement"]):
                    if statement["Effect"] == "Allow":
                        found.append((stack, logical_id, statement))
    if not created:
        raise AssertionError(f"no stack creates the role {role_name}")
    return found


def role_grants(deployment, role_name):
    """Every action an Allow statement grants the role named `role_name` (see role_statements)."""
    return {a for _, _, statement in role_statements(deployment, role_name) for a in as_list(statement["Action"])}


def passed_roles(deployment, stack, statements):
    """{role ARN: the service it may be passed to} of the iam:PassRole statements."""
    passed = {}
    for statement in statements:
        if "iam:PassRole" not in as_list(statement["Action"]):
            continue
        if as_list(statement["Action"]) != ["iam:PassRole"]:
            raise AssertionError(f"iam:PassRole shares a statement with other actions: {statement}")
        service = statement["Condition"]["StringEquals"]["iam:PassedToService"]
        for resource in as_list(statement["Resource"]):
            passed[deployment.resolve(stack, resource)] = service
    return passed


class DeployRole(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deployment = cfn.Deployment()
        iam = cls.deployment.stacks["iam"]["Resources"]
        cls.role_name = cls.deployment.resolve("iam", iam["DeployRole"]["Properties"]["RoleName"])
        cls.granted = role_grants(cls.deployment, cls.role_name)
        cls.compute = cls.deployment.stacks["compute"]["Resources"]
        cls.types = {r["Type"] for r in cls.compute.values()}

    def needed(self):
        needed = set()
        for kind in self.types:
            _, handlers = HANDLERS[kind]
            for handler in ("create", "read", "update", "delete"):
                needed.update(p for p in handlers[handler] if (kind, p) not in NOT_GRANTED)
        return needed

    def test_the_table_lists_only_types_compute_uses(self):
        # A type compute.yaml no longer uses leaves the table, with its exceptions.
        self.assertEqual(sorted(set(HANDLERS) - self.types), [], "HANDLERS rows for types compute.yaml does not use")
        self.assertEqual(sorted({kind for kind, _ in NOT_GRANTED} - self.types), [])

    def test_the_deploy_role_holds_all_its_permissions_itself(self):
        # One place: the role's own policies in the iam stack, no policy from another stack attached to it.
        owners = {(stack, logical_id) for stack, logical_id, _ in role_statements(self.deployment, self.role_name)}
        self.assertEqual(owners, {("iam", "DeployRole")})

    def test_the_deploy_role_creates_no_role_and_writes_no_policy(self):
        iam_actions = {a for a in self.granted if a.startswith("iam:")}
        self.assertEqual(iam_actions, {"iam:GetRole", "iam:PassRole", "iam:CreateServiceLinkedRole"})
        self.assertEqual([r for r in self.compute.values() if r["Type"].startswith("AWS::IAM::")], [],
                         "compute.yaml makes IAM resources again: the deploy role would need to write roles")

    def test_the_deploy_role_passes_exactly_the_roles_compute_uses(self):
        d = self.deployment
        wanted = {}
        for resource in self.compute.values():
            props = resource["Properties"]
            if resource["Type"] == "AWS::ECS::TaskDefinition":
                for key in ("ExecutionRoleArn", "TaskRoleArn"):
                    wanted[d.resolve("compute", props[key])] = "ecs-tasks.amazonaws.com"
            elif resource["Type"] == "AWS::Scheduler::Schedule":
                wanted[d.resolve("compute", props["Target"]["RoleArn"])] = "scheduler.amazonaws.com"
        statements = [st for _, _, st in role_statements(d, self.role_name)]
        self.assertEqual(passed_roles(d, "iam", statements), wanted)
        # Not the migrate task's role: that task is deploy/migrate.yaml's (tests/deploy/test_release_gate.py).
        self.assertEqual(len(wanted), 4, "the execution role, the two job task roles and the schedules' role")

    def test_every_compute_resource_type_has_its_handler_permissions_listed(self):
        missing = sorted(self.types - set(HANDLERS))
        self.assertEqual(
            missing, [], "compute.yaml uses resource types whose handler permissions this test does not list"
        )
        for kind in self.types:
            source, handlers = HANDLERS[kind]
            self.assertEqual(sorted(handlers), ["create", "delete", "read", "update"], kind)
            self.assertTrue(source, kind)

    def test_the_exceptions_are_handler_permissions_for_properties_compute_does_not_set(self):
        for (kind, permission), (reason, prop) in NOT_GRANTED.items():
            with self.subTest(type=kind, permission=permission):
                self.assertIn(permission, {p for ps in HANDLERS[kind][1].values() for p in ps}, reason)
                if prop is not None:
                    users = [
                        logical_id
                        for logical_id, r in self.compute.items()
                        if r["Type"] == kind and prop in r.get("Properties", {})
                    ]
                    self.assertEqual(users, [], f"{kind}.{prop} is set now: the role needs {permission}")

    def test_the_deploy_role_may_do_what_the_handlers_do(self):
        self.assertEqual(sorted(self.needed() - self.granted), [], f"{self.role_name} lacks handler permissions")

    def test_the_deploy_role_may_do_nothing_else(self):
        self.assertEqual(sorted(a for a in self.granted if "*" in a), [], "wildcard actions")
        extra = self.granted - self.needed() - set(EXTRA)
        self.assertEqual(sorted(extra), [], f"{self.role_name} grants what no handler of compute.yaml's types calls")
        for action in EXTRA:
            self.assertIn(action, self.granted, f"EXTRA lists {action}, which the role no longer has")


class SchedulerRole(unittest.TestCase):
    """The schedules' role (iam.yaml SchedulerRole): RunTask of the scheduled task definitions only, in the
    cluster only, passing only the roles those task definitions name."""

    @classmethod
    def setUpClass(cls):
        cls.deployment = cfn.Deployment()
        cls.compute = cls.deployment.stacks["compute"]["Resources"]
        cls.role = cls.deployment.stacks["iam"]["Resources"]["SchedulerRole"]
        cls.role_name = cls.deployment.resolve("iam", cls.role["Properties"]["RoleName"])
        cls.statements = [st for _, _, st in role_statements(cls.deployment, cls.role_name)]
        cls.schedules = [r["Properties"] for r in cls.compute.values() if r["Type"] == "AWS::Scheduler::Schedule"]
        cls.account, cls.region = cfn.SAMPLE_PSEUDO["AWS::AccountId"], cfn.SAMPLE_PSEUDO["AWS::Region"]

    def scheduled_task_definitions(self):
        found = []
        for schedule in self.schedules:
            (logical_id,) = schedule["Target"]["EcsParameters"]["TaskDefinitionArn"].values()
            found.append(self.compute[logical_id]["Properties"])
        return found

    def test_every_schedule_runs_as_the_iam_stacks_scheduler_role(self):
        # A schedule per job, and with EventIngestion=on its reconciliation scan's instead.
        self.assertEqual(len(self.schedules), 4)
        for schedule in self.schedules:
            self.assertEqual(self.deployment.imported_resource("compute", schedule["Target"]["RoleArn"]),
                             ("iam", "SchedulerRole"))
        (trust,) = as_list(self.role["Properties"]["AssumeRolePolicyDocument"]["Statement"])
        self.assertEqual(trust["Principal"], {"Service": "scheduler.amazonaws.com"})
        # No aws:SourceAccount: no page found shows it for this trust (tests/deploy/test_hardening.py).
        self.assertNotIn("Condition", trust)
        self.assertNotIn("ManagedPolicyArns", self.role["Properties"])

    def test_it_may_run_only_the_scheduled_task_definitions_in_the_cluster(self):
        d = self.deployment
        self.assertEqual(role_grants(d, self.role_name), {"ecs:RunTask", "iam:PassRole"})
        (run,) = [st for st in self.statements if "ecs:RunTask" in as_list(st["Action"])]
        self.assertEqual(as_list(run["Action"]), ["ecs:RunTask"])
        patterns = {d.resolve("iam", r) for r in as_list(run["Resource"])}
        prefix = f"arn:aws:ecs:{self.region}:{self.account}:task-definition/"
        families = {d.resolve("compute", td["Family"]) for td in self.scheduled_task_definitions()}
        # Any revision of the scheduled families ("RunTask", Amazon ECS API reference: family:*).
        self.assertEqual(patterns, {f"{prefix}{family}:*" for family in families})
        for resource in self.compute.values():
            if resource["Type"] == "AWS::ECS::TaskDefinition":
                family = d.resolve("compute", resource["Properties"]["Family"])
                runnable = any(fnmatch.fnmatchcase(f"{prefix}{family}:7", p) for p in patterns)
                self.assertEqual(runnable, family in families, family)
        cluster = self.compute["Cluster"]["Properties"]
        cluster_arn = f"arn:aws:ecs:{self.region}:{self.account}:cluster/{d.resolve('compute', cluster['ClusterName'])}"
        self.assertEqual(d.resolve("iam", run["Condition"]["ArnEquals"]["ecs:cluster"]), cluster_arn)
        for schedule in self.schedules:
            self.assertEqual(schedule["Target"]["Arn"], {"Fn::GetAtt": ["Cluster", "Arn"]})

    def test_it_may_pass_only_the_roles_of_the_scheduled_task_definitions(self):
        d = self.deployment
        wanted = {
            d.resolve("compute", td[key]): "ecs-tasks.amazonaws.com"
            for td in self.scheduled_task_definitions()
            for key in ("ExecutionRoleArn", "TaskRoleArn")
        }
        self.assertEqual(passed_roles(d, "iam", self.statements), wanted)
        migrate = d.resolve("iam", {"Fn::GetAtt": ["MigrateTaskRole", "Arn"]})
        self.assertNotIn(migrate, wanted)


if __name__ == "__main__":
    unittest.main()
