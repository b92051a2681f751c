"""Every IAM statement of deploy/*.yaml names a Resource its actions can match.

The Service Authorization Reference gives, for each action, its resource types. An action with none is
authorized against no ARN: a policy must name "*" for it, and a statement that scopes it to ARNs (a workgroup,
usagelimit/*, a stack) never allows it, so the call fails with AccessDenied in AWS, where no other test here can
see it. An action with resource types, the other way round, is scoped to this deployment's resources. The two
tables below hold the actions these templates use, with the page each row comes from; every action that a custom
resource's function or the bastion's role is granted must be in one of them, so a new one gets looked up.

The custom resources' functions are also read: every AWS call their inline code makes must be granted to their
role, and their role may grant nothing else (besides writing the function's own log stream).

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import re
import unittest

import cfn
from cfn import as_list

# Actions whose "Resource types" column is empty: the Resource must be "*". Action -> the page that says so.
NO_RESOURCE_TYPES = {
    "redshift-serverless:CreateUsageLimit": "Actions, resources, and condition keys for Amazon Redshift Serverless",
    "redshift-serverless:UpdateUsageLimit": "Actions, resources, and condition keys for Amazon Redshift Serverless",
    "redshift-serverless:DeleteUsageLimit": "Actions, resources, and condition keys for Amazon Redshift Serverless",
    "redshift-data:DescribeStatement": "Actions, resources, and condition keys for Amazon Redshift Data API",
    "redshift-data:GetStatementResult": "Actions, resources, and condition keys for Amazon Redshift Data API",
    "redshift-data:ListStatements": "Actions, resources, and condition keys for Amazon Redshift Data API",
    "ec2:DescribeManagedPrefixLists": "Actions, resources, and condition keys for Amazon EC2",
    # The job task roles' sign-in with database roles (iam.yaml WarehousePolicy).
    "tag:GetResources": "Actions, resources, and condition keys for AWS Resource Groups Tagging API",
    "tag:GetTagKeys": "Actions, resources, and condition keys for AWS Resource Groups Tagging API",
    "ssmmessages:CreateControlChannel": "Actions, resources, and condition keys for Amazon Message Gateway Service",
    "ssmmessages:CreateDataChannel": "Actions, resources, and condition keys for Amazon Message Gateway Service",
    "ssmmessages:OpenControlChannel": "Actions, resources, and condition keys for Amazon Message Gateway Service",
    "ssmmessages:OpenDataChannel": "Actions, resources, and condition keys for Amazon Message Gateway Service",
    "cloudformation:ValidateTemplate": "Actions, resources, and condition keys for AWS CloudFormation",
    "cloudformation:ListExports": "Actions, resources, and condition keys for AWS CloudFormation",
    "logs:DescribeLogGroups": "Actions, resources, and condition keys for Amazon CloudWatch Logs",
    "ecr:GetAuthorizationToken": "Actions, resources, and condition keys for Amazon Elastic Container Registry",
    "ecs:DeregisterTaskDefinition": "Actions, resources, and condition keys for Amazon Elastic Container Service",
    "ecs:DescribeTaskDefinition": "Actions, resources, and condition keys for Amazon Elastic Container Service",
    # The follower services' scaling (iam.yaml DeployRole).
    "application-autoscaling:DescribeScalableTargets": "Actions, resources, and condition keys for AWS Application "
                                                       "Auto Scaling",
    "application-autoscaling:DescribeScalingPolicies": "Actions, resources, and condition keys for AWS Application "
                                                       "Auto Scaling",
}

# Actions with a resource type: the Resource names this deployment's resources, never a bare "*".
# Action -> (resource type, the page that says so).
WITH_RESOURCE_TYPES = {
    "redshift-serverless:GetNamespace": ("namespace", "Actions, resources, and condition keys for Amazon Redshift Serverless"),
    "redshift-serverless:GetWorkgroup": ("workgroup", "Actions, resources, and condition keys for Amazon Redshift Serverless"),
    "redshift-serverless:GetCredentials": ("workgroup", "Actions, resources, and condition keys for Amazon Redshift Serverless"),
    "redshift-data:ExecuteStatement": ("workgroup", "Actions, resources, and condition keys for Amazon Redshift Data API"),
    "redshift-data:BatchExecuteStatement": ("workgroup", "Actions, resources, and condition keys for Amazon Redshift Data API"),
    "logs:CreateLogStream": ("log-stream", "Actions, resources, and condition keys for Amazon CloudWatch Logs"),
    "logs:PutLogEvents": ("log-stream", "Actions, resources, and condition keys for Amazon CloudWatch Logs"),
    "ssm:UpdateInstanceInformation": ("instance", "Actions, resources, and condition keys for AWS Systems Manager"),
    # The analysts' tunnel (iam.yaml AnalystRole).
    "ssm:StartSession": ("instance, document", "Actions, resources, and condition keys for AWS Systems Manager"),
    "ssm:TerminateSession": ("session", "Actions, resources, and condition keys for AWS Systems Manager"),
    "ssm:ResumeSession": ("session", "Actions, resources, and condition keys for AWS Systems Manager"),
    # The deploy role and the schedules' role (iam.yaml DeployRole, SchedulerRole). CreateCluster and
    # RegisterTaskDefinition take the cluster and task definition they create (resource types cluster* and
    # task-definition*), though older copies of the page listed none.
    "ecs:CreateCluster": ("cluster", "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    # The follower services' scaling: a scalable-target (its id made at registration, so scalable-target/*), as
    # recalled from that page (the stored copies found show its title, not its table).
    "application-autoscaling:RegisterScalableTarget": (
        "scalable-target", "Actions, resources, and condition keys for AWS Application Auto Scaling"),
    "application-autoscaling:DeregisterScalableTarget": (
        "scalable-target", "Actions, resources, and condition keys for AWS Application Auto Scaling"),
    "application-autoscaling:PutScalingPolicy": (
        "scalable-target", "Actions, resources, and condition keys for AWS Application Auto Scaling"),
    "application-autoscaling:DeleteScalingPolicy": (
        "scalable-target", "Actions, resources, and condition keys for AWS Application Auto Scaling"),
    "ecs:RegisterTaskDefinition": ("task-definition",
                                   "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    "ecs:RunTask": ("task-definition", "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    "ecs:TagResource": ("cluster, task-definition, ...",
                        "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    "iam:PassRole": ("role", "Actions, resources, and condition keys for AWS Identity and Access Management (IAM)"),
    "iam:GetRole": ("role", "Actions, resources, and condition keys for AWS Identity and Access Management (IAM)"),
    "iam:CreateServiceLinkedRole": ("role",
                                    "Actions, resources, and condition keys for AWS Identity and Access Management (IAM)"),
    "kms:DescribeKey": ("key", "Actions, resources, and condition keys for AWS Key Management Service"),
    "kms:CreateGrant": ("key", "Actions, resources, and condition keys for AWS Key Management Service"),
    "kms:RetireGrant": ("key", "Actions, resources, and condition keys for AWS Key Management Service"),
    # The build and pipeline roles' delivery permissions (iam.yaml BuildRole, PipelineRole).
    "ecr:StartImageScan": ("repository", "Actions, resources, and condition keys for Amazon Elastic Container Registry"),
    "s3:GetBucketAcl": ("bucket", "Actions, resources, and condition keys for Amazon S3"),
    "s3:GetBucketLocation": ("bucket", "Actions, resources, and condition keys for Amazon S3"),
    "codebuild:StartBuild": ("project", "Actions, resources, and condition keys for AWS CodeBuild"),
    "codebuild:BatchGetBuilds": ("project", "Actions, resources, and condition keys for AWS CodeBuild"),
    # Event-driven ingestion: the task roles on their own queues (iam.yaml ApiTaskRole, KafkaTaskRole), the deploy
    # role on the --follow services (DeployRole).
    "sqs:ReceiveMessage": ("queue", "Actions, resources, and condition keys for Amazon SQS"),
    "sqs:DeleteMessage": ("queue", "Actions, resources, and condition keys for Amazon SQS"),
    "sqs:ChangeMessageVisibility": ("queue", "Actions, resources, and condition keys for Amazon SQS"),
    "sqs:GetQueueAttributes": ("queue", "Actions, resources, and condition keys for Amazon SQS"),
    "sqs:GetQueueUrl": ("queue", "Actions, resources, and condition keys for Amazon SQS"),
    "s3:GetBucketNotification": ("bucket", "Actions, resources, and condition keys for Amazon S3"),
    "ecs:CreateService": ("service", "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    "ecs:DescribeServices": ("service", "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    "ecs:UpdateService": ("service", "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    "ecs:DeleteService": ("service", "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    "ecs:ListServiceDeployments": ("service",
                                   "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    "ecs:DescribeServiceDeployments": ("service, service-deployment",
                                       "Actions, resources, and condition keys for Amazon Elastic Container Service"),
    "ecs:StopServiceDeployment": ("service, service-deployment",
                                  "Actions, resources, and condition keys for Amazon Elastic Container Service"),
}

# The one kind of statement on "*" for actions that have resource types: the data key of the storage stack,
# which the iam stack deploys before and so names by its alias (kms:ResourceAliases) through S3 only
# (kms:ViaService), as key ARNs carry the key's id.
KMS_BY_ALIAS = {"kms:Decrypt", "kms:GenerateDataKey"}

# Every resource type that holds identity policies, and the property they are in. Resource-based policies (bucket,
# key, topic policies) have a Principal and are checked elsewhere.
IDENTITY_POLICY_TYPES = {
    "AWS::IAM::Role": "Policies",
    "AWS::IAM::User": "Policies",
    "AWS::IAM::Group": "Policies",
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::IAM::RolePolicy": "PolicyDocument",
    "AWS::IAM::UserPolicy": "PolicyDocument",
    "AWS::IAM::GroupPolicy": "PolicyDocument",
}

# boto3 client name -> IAM service prefix, for the functions' inline code.
CLIENT_SERVICES = {"redshift-serverless": "redshift-serverless", "ec2": "ec2"}
OWN_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}


def policy_statements(stack, logical_id, resource):
    """(stack, logical id, statement) of every Allow statement an identity policy resource holds: the inline
    policies of a role, user or group, or the document of a policy resource (IDENTITY_POLICY_TYPES)."""
    props = resource.get("Properties", {})
    documents = []
    where = IDENTITY_POLICY_TYPES.get(resource["Type"])
    if where == "Policies":
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    elif where == "PolicyDocument":
        documents = [props["PolicyDocument"]]
    for document in documents:
        for statement in as_list(document["Statement"]):
            if statement["Effect"] == "Allow":
                yield stack, logical_id, statement


def role_actions(resources, role):
    return {
        a
        for _, _, st in policy_statements("", role, resources[role])
        for a in as_list(st["Action"])
    }


def function_calls(code):
    """IAM actions of the AWS calls the inline code makes: `client.<operation>(` with the boto3 client it makes."""
    (client,) = set(re.findall(r'boto3\.client\("([a-z0-9-]+)"\)', code))
    prefix = CLIENT_SERVICES[client]
    return {
        f"{prefix}:" + "".join(part.capitalize() for part in op.split("_"))
        for op in re.findall(r"\bclient\.([a-z_]+)\(", code)
        if op != "exceptions"
    }


class ResourcesMatchTheirActions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stacks = cfn.templates()
        cls.statements = [
            found
            for stack, template in cls.stacks.items()
            for logical_id, resource in template["Resources"].items()
            for found in policy_statements(stack, logical_id, resource)
        ]
        cls.owners = {
            (stack, resource["Type"])
            for stack, template in cls.stacks.items()
            for logical_id, resource in template["Resources"].items()
            if list(policy_statements(stack, logical_id, resource))
        }

    def test_the_tables_do_not_overlap(self):
        self.assertEqual(set(NO_RESOURCE_TYPES) & set(WITH_RESOURCE_TYPES), set())
        self.assertEqual(KMS_BY_ALIAS & set(NO_RESOURCE_TYPES), set())

    def test_every_identity_policy_is_read(self):
        # An IAM resource with a policy document of a type the scan does not know would escape every test here.
        for stack, template in self.stacks.items():
            for logical_id, resource in template["Resources"].items():
                props = resource.get("Properties", {})
                if resource["Type"].startswith("AWS::IAM::") and ("PolicyDocument" in props or "Policies" in props):
                    with self.subTest(stack=stack, resource=logical_id):
                        self.assertIn(resource["Type"], IDENTITY_POLICY_TYPES)
        kinds = {kind for _, kind in self.owners}
        self.assertLessEqual({"AWS::IAM::Role", "AWS::IAM::ManagedPolicy"}, kinds)

    def test_each_role_holds_its_own_permissions(self):
        # A policy resource of one stack attached to a role of another splits that role's permissions over two
        # stacks (and two deploys): every role's permissions are in the role, or next to it in its own stack.
        roles = {
            (stack, logical_id)
            for stack, template in self.stacks.items()
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::IAM::Role"
        }
        for stack, template in self.stacks.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] not in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                    continue
                props = resource["Properties"]
                named = as_list(props.get("RoleName", [])) + as_list(props.get("Roles", []))
                with self.subTest(stack=stack, resource=logical_id):
                    for role in named:
                        self.assertIsInstance(role, dict, f"{role}: name the role with !Ref, in its own stack")
                        (kind, target), = role.items()
                        self.assertEqual(kind, "Ref")
                        self.assertIn((stack, target), roles)

    def test_only_actions_without_resource_types_are_granted_on_everything(self):
        # The other way round from the next two tests: a bare "*" is there only because the action has no
        # resource type (or it is the data key by alias, KMS_BY_ALIAS).
        for stack, logical_id, statement in self.statements:
            if "*" not in as_list(statement["Resource"]):
                continue
            actions = set(as_list(statement["Action"]))
            with self.subTest(stack=stack, resource=logical_id, actions=sorted(actions)):
                if actions <= KMS_BY_ALIAS:
                    condition = statement["Condition"]
                    self.assertIn("kms:ViaService", condition["StringEquals"])
                    self.assertIn("kms:ResourceAliases", condition["ForAnyValue:StringEquals"])
                else:
                    self.assertEqual(sorted(actions - set(NO_RESOURCE_TYPES)), [],
                                     "look these up: scope the ones with resource types, list the others")

    def test_actions_without_resource_types_name_every_resource(self):
        seen = set()
        for stack, logical_id, statement in self.statements:
            for action in as_list(statement["Action"]):
                if action in NO_RESOURCE_TYPES:
                    seen.add(action)
                    with self.subTest(stack=stack, resource=logical_id, action=action):
                        self.assertEqual(
                            statement["Resource"], "*",
                            f"{action} has no resource types ({NO_RESOURCE_TYPES[action]}): a scoped Resource "
                            "never allows it")
        # The scan found the statements it is about.
        self.assertLessEqual({"redshift-serverless:CreateUsageLimit", "ec2:DescribeManagedPrefixLists",
                              "ssmmessages:OpenDataChannel"}, seen)

    def test_actions_with_resource_types_are_scoped(self):
        for stack, logical_id, statement in self.statements:
            for action in as_list(statement["Action"]):
                if action in WITH_RESOURCE_TYPES:
                    with self.subTest(stack=stack, resource=logical_id, action=action):
                        self.assertNotIn("*", as_list(statement["Resource"]),
                                         f"{action} takes a {WITH_RESOURCE_TYPES[action][0]}: scope it")

    def test_the_functions_and_the_bastion_use_only_looked_up_actions(self):
        known = set(NO_RESOURCE_TYPES) | set(WITH_RESOURCE_TYPES)
        roles = list(self.function_roles()) + [("bastion", "BastionRole")]
        self.assertGreaterEqual(len(roles), 4)
        for stack, role in roles:
            with self.subTest(stack=stack, role=role):
                actions = role_actions(self.stacks[stack]["Resources"], role)
                self.assertEqual(sorted(actions - known), [],
                                 "look these actions up in the Service Authorization Reference and list them")

    def test_each_function_may_make_exactly_the_calls_its_code_makes(self):
        for stack, template in self.stacks.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::Lambda::Function":
                    continue
                with self.subTest(stack=stack, function=logical_id):
                    calls = function_calls(resource["Properties"]["Code"]["ZipFile"])
                    self.assertTrue(calls, "the scan found no AWS call in the function's code")
                    (role, _) = resource["Properties"]["Role"]["Fn::GetAtt"]
                    granted = role_actions(template["Resources"], role)
                    self.assertEqual(sorted(calls - granted), [], f"{role} lacks calls the code makes")
                    self.assertEqual(sorted(granted - calls - OWN_LOGS), [], f"{role} allows calls the code never makes")

    def test_the_usage_limit_function_manages_limits_on_any_resource(self):
        # The case of issue 16: scoped to the workgroup and to usagelimit/*, every call was denied.
        resources = self.stacks["warehouse"]["Resources"]
        (role, _) = resources["UsageLimitFunction"]["Properties"]["Role"]["Fn::GetAtt"]
        for _, _, statement in policy_statements("warehouse", role, resources[role]):
            for action in as_list(statement["Action"]):
                if action.startswith("redshift-serverless:"):
                    self.assertEqual(statement["Resource"], "*", action)
        self.assertEqual(
            {a for a in role_actions(resources, role) if a.startswith("redshift-serverless:")},
            {"redshift-serverless:CreateUsageLimit", "redshift-serverless:UpdateUsageLimit",
             "redshift-serverless:DeleteUsageLimit"})

    def function_roles(self):
        for stack, template in self.stacks.items():
            for resource in template["Resources"].values():
                if resource["Type"] == "AWS::Lambda::Function":
                    yield stack, resource["Properties"]["Role"]["Fn::GetAtt"][0]


if __name__ == "__main__":
    unittest.main()
