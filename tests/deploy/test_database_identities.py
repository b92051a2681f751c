"""Who the warehouse sees (deploy/README.md, "Who the database sees"): each ECS job task signs in as
IAMR:<its task role> with the database role `s3shift_loader` from its role's RedshiftDbRoles tag, analysts as
IAMR:<the analyst role> with `s3shift_analyst`, and only the one-off migrate task runs as the namespace's admin,
through the admin secret that Redshift manages and that no other role may read. Also: the migrate task
definition, the namespace's managed admin password and the custom resource that exports its secret's ARN (run
against a stubbed client, like the usage limit's), and the README's order stacks -> migrate -> first run.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import fnmatch
import re
import unittest

import cfn
from cfn import SAMPLE_PSEUDO, as_list
from custom_resource import Context, FunctionTest

TAG = "RedshiftDbRoles"
JOB_TASK_ROLES = ("ApiTaskRole", "KafkaTaskRole")

# AWS managed policies attached to roles of the stacks, with why none of them reads a secret. A new one must be
# reviewed and added here (the policy document is AWS's, not in the templates).
AWS_MANAGED = {
    "service-role/AmazonECSTaskExecutionRolePolicy": "ECR image pulls and CloudWatch Logs streams only",
}


def tags(resource):
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


def policy_documents(stack, logical_id, resource):
    """(owner, document) of every identity policy document a template resource holds."""
    props = resource["Properties"]
    kind = resource["Type"]
    if kind == "AWS::IAM::Role":
        for policy in props.get("Policies", []):
            yield (stack, logical_id, policy["PolicyName"]), policy["PolicyDocument"]
    elif kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
        yield (stack, logical_id), props["PolicyDocument"]


def grants(document, action):
    """The Allow statements of `document` whose actions cover `action` (IAM wildcards, case-insensitive)."""
    found = []
    for statement in as_list(document["Statement"]):
        if statement["Effect"] != "Allow":
            continue
        if "NotAction" in statement:
            raise AssertionError(f"an Allow with NotAction cannot be reviewed here: {statement}")
        if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"])):
            found.append(statement)
    return found


class Identities(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deployment = cfn.Deployment()
        cls.iam = cls.deployment.stacks["iam"]
        cls.roles = cls.iam["Resources"]
        cls.compute = cls.deployment.stacks["compute"]["Resources"]
        cls.migrate = cls.deployment.stacks["migrate"]["Resources"]
        cls.warehouse = cls.deployment.stacks["warehouse"]["Resources"]
        cls.namespace = next(r["Properties"] for r in cls.warehouse.values()
                             if r["Type"] == "AWS::RedshiftServerless::Namespace")

    def task_definitions(self, command):
        """(logical id, container) of the compute and migrate stacks' task definitions that run
        `s3shift <command>`."""
        return [
            (logical_id, r["Properties"]["ContainerDefinitions"][0])
            for logical_id, r in {**self.compute, **self.migrate}.items()
            if r["Type"] == "AWS::ECS::TaskDefinition"
            and r["Properties"]["ContainerDefinitions"][0]["Command"][0] == command
        ]

    def admin_secret_name(self):
        """The name Redshift gives the namespace's managed admin secret: redshift!<namespace>-<admin user>."""
        d = self.deployment
        return f"redshift!{d.resolve('warehouse', self.namespace['NamespaceName'])}-{self.namespace['AdminUsername']}"

    # --- database roles through RedshiftDbRoles ---

    def test_each_job_task_signs_in_as_a_loader(self):
        for role in JOB_TASK_ROLES:
            with self.subTest(role=role):
                self.assertEqual(tags(self.roles[role]).get(TAG), "s3shift_loader")
        # And these are the roles the jobs' tasks run with (scheduled, and with event-driven ingestion the
        # --follow services and the reconciliation scans).
        runs = self.task_definitions("run")
        self.assertEqual(len({container["Command"][1] for _, container in runs}), 2)
        for logical_id, _ in runs:
            stack, role = self.deployment.imported_resource(
                "compute", self.compute[logical_id]["Properties"]["TaskRoleArn"])
            self.assertEqual(stack, "iam")
            self.assertIn(role, JOB_TASK_ROLES, logical_id)

    def test_analysts_sign_in_as_analysts_with_credentials_and_the_tunnel_only(self):
        role = self.roles["AnalystRole"]
        self.assertEqual(tags(role).get(TAG), "s3shift_analyst")
        statements = [
            st
            for policy in role["Properties"]["Policies"]
            for st in as_list(policy["PolicyDocument"]["Statement"])
        ]
        self.assertEqual({st["Effect"] for st in statements}, {"Allow"})
        actions = {a for st in statements for a in as_list(st["Action"])}
        self.assertEqual(actions, {
            "redshift-serverless:GetCredentials",
            # Session Manager port forwarding through the bastion (deploy/README.md).
            "ssm:StartSession", "ssm:TerminateSession", "ssm:ResumeSession", "ssmmessages:OpenDataChannel",
        })
        self.assertEqual(role["Properties"].get("ManagedPolicyArns", []), [])
        # Assumed by the one principal the deployment names (no default), with MFA unless switched off.
        (trust,) = as_list(role["Properties"]["AssumeRolePolicyDocument"]["Statement"])
        self.assertEqual((trust["Effect"], trust["Action"]), ("Allow", "sts:AssumeRole"))
        self.assertEqual(trust["Principal"], {"AWS": {"Ref": "AnalystPrincipalArn"}})
        self.assertNotIn("Default", self.iam["Parameters"]["AnalystPrincipalArn"])
        condition, with_mfa, without = trust["Condition"]["Fn::If"]
        self.assertEqual(with_mfa, {"Bool": {"aws:MultiFactorAuthPresent": "true"}})
        self.assertEqual(without, {"Ref": "AWS::NoValue"})
        self.assertEqual(self.iam["Conditions"][condition], {"Fn::Equals": [{"Ref": "AnalystRequiresMfa"}, "true"]})
        self.assertEqual(self.iam["Parameters"]["AnalystRequiresMfa"]["Default"], "true")
        # Exported like the other roles.
        names = {self.deployment.resolve("iam", o["Export"]["Name"]): o["Value"] for o in self.iam["Outputs"].values()}
        self.assertEqual(names["prod-s3shift-analyst-role"], {"Fn::GetAtt": ["AnalystRole", "Arn"]})
        self.assertEqual(names["prod-s3shift-migrate-task-role"], {"Fn::GetAtt": ["MigrateTaskRole", "Arn"]})

    def test_analysts_may_forward_ports_through_the_bastion_and_nothing_else(self):
        d = self.deployment
        region, account = SAMPLE_PSEUDO["AWS::Region"], SAMPLE_PSEUDO["AWS::AccountId"]
        statements = [
            st
            for policy in self.roles["AnalystRole"]["Properties"]["Policies"]
            for st in as_list(policy["PolicyDocument"]["Statement"])
        ]

        def granting(action):
            return [st for st in statements if action in as_list(st["Action"])]

        # StartSession: instances by the bastion's Name tag, and the port-forwarding document only; the
        # document check on every StartSession statement, so that no document (the default shell) is refused.
        bastion_tags = {
            t["Key"]: d.resolve("bastion", t["Value"])
            for t in d.stacks["bastion"]["Resources"]["Bastion"]["Properties"]["Tags"]
        }
        start = granting("ssm:StartSession")
        self.assertEqual(len(start), 2)
        for st in start:
            self.assertEqual(as_list(st["Action"]), ["ssm:StartSession"])
            self.assertEqual(st["Condition"]["BoolIfExists"], {"ssm:SessionDocumentAccessCheck": "true"})
        resources = {d.resolve("iam", r): st for st in start for r in as_list(st["Resource"])}
        self.assertEqual(set(resources), {
            f"arn:aws:ec2:{region}:{account}:instance/*",
            f"arn:aws:ssm:{region}::document/AWS-StartPortForwardingSessionToRemoteHost",
        })
        on_instances = resources[f"arn:aws:ec2:{region}:{account}:instance/*"]["Condition"]
        self.assertEqual({k: d.resolve("iam", v) for k, v in on_instances["StringEquals"].items()},
                         {"ssm:resourceTag/Name": bastion_tags["Name"]})
        self.assertEqual(bastion_tags["Name"], "prod-s3shift-bastion")
        # The README's command uses that document.
        readme = (cfn.ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
        self.assertIn("--document-name AWS-StartPortForwardingSessionToRemoteHost", readme)

        # Terminate and resume: only the caller's own sessions, by session ID and by Session Manager's tag.
        end = granting("ssm:TerminateSession")
        self.assertEqual(end, granting("ssm:ResumeSession"))
        by_name = [st for st in end if "Condition" not in st]
        by_tag = [st for st in end if "Condition" in st]
        self.assertEqual(len(by_name), 1)
        self.assertEqual(len(by_tag), 1)
        self.assertEqual(d.resolve("iam", by_name[0]["Resource"]),
                         f"arn:aws:ssm:{region}:{account}:session/${{aws:userid}}-*")
        self.assertEqual(d.resolve("iam", by_tag[0]["Resource"]), f"arn:aws:ssm:{region}:{account}:session/*")
        self.assertEqual(by_tag[0]["Condition"],
                         {"StringLike": {"ssm:resourceTag/aws:ssmmessages:session-id": "${aws:userid}"}})

        # The client's data channel (no resource type: "*").
        (channel,) = granting("ssmmessages:OpenDataChannel")
        self.assertEqual((as_list(channel["Action"]), channel["Resource"]), (["ssmmessages:OpenDataChannel"], "*"))

    def test_migrate_has_no_database_role_of_its_own(self):
        role = self.roles["MigrateTaskRole"]["Properties"]
        self.assertNotIn(TAG, {t["Key"] for t in role.get("Tags", [])})
        (trust,) = as_list(role["AssumeRolePolicyDocument"]["Statement"])
        self.assertEqual(trust["Principal"], {"Service": "ecs-tasks.amazonaws.com"})
        self.assertEqual(trust["Condition"], {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}})
        self.assertEqual(role.get("ManagedPolicyArns", []), [])

    # --- the admin secret ---

    def test_only_the_migrate_role_may_read_a_secret(self):
        readers, owners = set(), set()
        for stack, template in self.deployment.stacks.items():
            for logical_id, resource in template["Resources"].items():
                for arn in resource.get("Properties", {}).get("ManagedPolicyArns", []):
                    if isinstance(arn, dict):
                        continue  # a policy of the template: read below as its own resource
                    name = self.deployment.resolve(stack, arn).split(":policy/", 1)[1]
                    self.assertIn(name, AWS_MANAGED, f"{stack} {logical_id}: review {name} and list it")
                for owner, document in policy_documents(stack, logical_id, resource):
                    owners.add(owner[:2])
                    if grants(document, "secretsmanager:GetSecretValue"):
                        readers.add(owner[:2])
        # The scan saw the roles that must not read it.
        for role in (*JOB_TASK_ROLES, "AnalystRole", "BuildRole", "DeployRole", "PipelineRole", "CopyRole",
                     "SchedulerRole"):
            self.assertIn(("iam", role), owners)
        self.assertEqual(readers, {("iam", "MigrateTaskRole")})

    def test_the_migrate_role_reads_exactly_the_admin_secret(self):
        (policy,) = self.roles["MigrateTaskRole"]["Properties"]["Policies"]
        (statement,) = grants(policy["PolicyDocument"], "secretsmanager:GetSecretValue")
        self.assertEqual(statement["Action"], "secretsmanager:GetSecretValue")
        (pattern,) = [self.deployment.resolve("iam", r) for r in as_list(statement["Resource"])]
        self.assertNotIn("*", pattern)
        region, account = SAMPLE_PSEUDO["AWS::Region"], SAMPLE_PSEUDO["AWS::AccountId"]
        arn = f"arn:aws:secretsmanager:{region}:{account}:secret:"
        name = self.admin_secret_name()
        self.assertEqual(name, "redshift!prod-s3shift-s3shift_admin")
        self.assertTrue(fnmatch.fnmatchcase(arn + name + "-AbC123", pattern), pattern)
        for other in (
            arn + name + "-AbC1234",  # not Secrets Manager's six characters
            arn + name + "-x-AbC123",  # a longer name starting with this one
            arn + "redshift!prod-s3shift-other-admin-AbC123",  # another namespace's admin
            arn + name.removeprefix("redshift!") + "-AbC123",  # a secret anyone could create
            f"arn:aws:secretsmanager:eu-west-1:{account}:secret:{name}-AbC123",
            f"arn:aws:secretsmanager:{region}:210987654321:secret:{name}-AbC123",
        ):
            self.assertFalse(fnmatch.fnmatchcase(other, pattern), other)

    def test_the_namespace_manages_its_admin_password_and_exports_the_secret(self):
        self.assertIs(self.namespace["ManageAdminPassword"], True)
        self.assertNotIn("AdminUserPassword", self.namespace)
        for name, parameter in self.deployment.stacks["warehouse"]["Parameters"].items():
            self.assertNotIn("password", name.lower())
            self.assertNotIn("NoEcho", parameter, name)
        outputs = self.deployment.stacks["warehouse"]["Outputs"]
        output = outputs["AdminPasswordSecretArn"]
        self.assertEqual(self.deployment.resolve("warehouse", output["Export"]["Name"]), "prod-s3shift-admin-secret")
        self.assertEqual(output["Value"], {"Fn::GetAtt": ["AdminSecret", "Arn"]})
        secret = self.warehouse["AdminSecret"]
        self.assertEqual(secret["Type"], "AWS::CloudFormation::CustomResource")
        self.assertEqual(secret["Properties"]["ServiceToken"], {"Fn::GetAtt": ["AdminSecretFunction", "Arn"]})
        self.assertEqual(secret["Properties"]["NamespaceName"], {"Ref": "Namespace"})
        # Its function may read this namespace and write its own logs, nothing else.
        function_role = self.warehouse["AdminSecretFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
        (policy,) = self.warehouse[function_role]["Properties"]["Policies"]
        allowed = {
            a: st["Resource"] for st in as_list(policy["PolicyDocument"]["Statement"]) for a in as_list(st["Action"])
        }
        self.assertEqual(set(allowed), {"redshift-serverless:GetNamespace", "logs:CreateLogStream", "logs:PutLogEvents"})
        self.assertEqual(allowed["redshift-serverless:GetNamespace"], {"Fn::GetAtt": ["Namespace", "Namespace.NamespaceArn"]})

    # --- the migrate task ---

    def test_the_migrate_task_runs_migrate_as_the_admin_and_is_never_scheduled(self):
        d = self.deployment
        (migrate,) = self.task_definitions("migrate")
        logical_id, container = migrate
        self.assertEqual(container["Command"], ["migrate", "api-images"])
        self.assertTrue((cfn.ROOT / "jobs" / "api-images.toml").is_file())
        env = {pair["Name"]: pair["Value"] for pair in container["Environment"]}
        stack, output = d.export(d.resolve("migrate", env["S3SHIFT_ADMIN_SECRET_ARN"]["Fn::ImportValue"]))
        self.assertEqual(stack, "warehouse")
        self.assertIs(output, d.stacks["warehouse"]["Outputs"]["AdminPasswordSecretArn"])
        properties = self.migrate[logical_id]["Properties"]
        self.assertEqual(d.imported_resource("migrate", properties["TaskRoleArn"]), ("iam", "MigrateTaskRole"))
        self.assertEqual(d.resolve("migrate", properties["Family"]), "prod-s3shift-migrate")
        # Nothing schedules it, and the scheduler may neither start it nor pass its role.
        for resource in self.compute.values():
            if resource["Type"] == "AWS::Scheduler::Schedule":
                target = resource["Properties"]["Target"]["EcsParameters"]["TaskDefinitionArn"]
                self.assertNotEqual(target, {"Ref": logical_id})
        family_arn = "arn:aws:ecs:{}:{}:task-definition/prod-s3shift-migrate:1".format(
            SAMPLE_PSEUDO["AWS::Region"], SAMPLE_PSEUDO["AWS::AccountId"])
        migrate_role = d.resolve("iam", {"Fn::GetAtt": ["MigrateTaskRole", "Arn"]})
        for policy in self.roles["SchedulerRole"]["Properties"]["Policies"]:
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                for resource in as_list(statement["Resource"]):
                    arn = d.resolve("iam", resource)
                    self.assertFalse(fnmatch.fnmatchcase(family_arn, arn), arn)
                    self.assertNotEqual(arn, migrate_role)

    def test_the_deploy_role_may_pass_every_role_a_compute_task_definition_names_and_not_migrates(self):
        d = self.deployment
        statements = self.roles["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        (passing,) = [st for st in statements if st.get("Sid") == "PassTaskRoles"]
        passable = {r["Fn::GetAtt"][0] for r in passing["Resource"]}
        named = {
            d.imported_resource("compute", r["Properties"][key])
            for r in self.compute.values()
            if r["Type"] == "AWS::ECS::TaskDefinition"
            for key in ("TaskRoleArn", "ExecutionRoleArn")
        }
        self.assertNotIn(("iam", "MigrateTaskRole"), named)
        self.assertNotIn("MigrateTaskRole", passable)
        self.assertEqual({("iam", role) for role in passable}, named)

    # --- the README ---

    def test_the_readme_orders_stacks_then_migrate_then_the_first_run(self):
        readme = (cfn.ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
        steps = [(m.group(1), m.group(2), m.start()) for m in re.finditer(r"^(\d)\. \*\*(.+?)\*\*", readme, re.M)]
        self.assertEqual([(n, title) for n, title, _ in steps[:3]],
                         [("1", "The stacks"), ("2", "Migrate"), ("3", "The first run")])
        (_, _, stacks), (_, _, migrate), (_, _, first_run) = steps[:3]
        deploys = {m.group(1): m.start() for m in re.finditer(r"aws cloudformation deploy --stack-name prod-s3shift-([a-z]+)", readme)}
        self.assertEqual(sorted(deploys), sorted(self.deployment.stacks))
        # Every stack in step 1 but the migrate task's, which an administrator deploys in step 2.
        self.assertTrue(all(stacks < p < migrate for s, p in deploys.items() if s != "migrate"), "stacks in step 1")
        run_migrate = readme.index("--task-definition prod-s3shift-migrate")
        self.assertTrue(migrate < deploys["migrate"] < run_migrate)
        run_job = readme.index("--task-definition prod-s3shift-api-images")
        self.assertTrue(migrate < run_migrate < first_run < run_job)
        self.assertIn("aws ecs run-task --cluster prod-s3shift ", readme[migrate:first_run])
        self.assertEqual(self.deployment.resolve("compute", self.compute["Cluster"]["Properties"]["ClusterName"]),
                         "prod-s3shift")


class AdminSecretFunctionTest(FunctionTest):
    """The warehouse stack's AdminSecret custom resource, run as CloudFormation would run it."""

    FUNCTION = "AdminSecretFunction"
    NAMESPACE = "prod-s3shift"
    ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift!prod-s3shift-s3shift_admin-AbC123"

    def event(self, kind, physical=None):
        event = {
            "RequestType": kind, "ResponseURL": self.response_url.url,
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/prod-s3shift-warehouse/guid",
            "RequestId": "req-1", "LogicalResourceId": "AdminSecret",
            "ResourceType": "AWS::CloudFormation::CustomResource",
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "NamespaceName": self.NAMESPACE},
        }
        if physical is not None:
            event["PhysicalResourceId"] = physical
        return event

    def namespace_answers(self, secret_arn):
        namespace = {"namespaceName": self.NAMESPACE, "adminUsername": "s3shift_admin"}
        if secret_arn is not None:
            namespace["adminPasswordSecretArn"] = secret_arn
        self.stub.add_response("get_namespace", {"namespace": namespace}, {"namespaceName": self.NAMESPACE})

    def run_function(self, event):
        self.function.handler(event, Context(), client=self.client)
        self.stub.assert_no_pending_responses()
        self.assertEqual(len(self.response_url.answers), 1, "exactly one answer to CloudFormation")
        return self.response_url.answers[0]

    def test_create_and_update_answer_the_secret_arn(self):
        for kind, physical in (("Create", None), ("Update", self.ARN)):
            with self.subTest(kind=kind):
                self.response_url.answers.clear()
                self.namespace_answers(self.ARN)
                answer = self.run_function(self.event(kind, physical))
                self.assertEqual((answer["Status"], answer["PhysicalResourceId"]), ("SUCCESS", self.ARN))
                self.assertEqual(answer["Data"], {"Arn": self.ARN})

    def test_a_secret_the_migrate_role_could_not_read_fails_the_deploy(self):
        renamed = self.ARN.replace("redshift!prod-s3shift-s3shift_admin", "redshift!prod-s3shift-admin-s3shift_admin")
        self.namespace_answers(renamed)
        answer = self.run_function(self.event("Create"))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn("redshift!prod-s3shift-s3shift_admin", answer["Reason"])
        self.assertIn("MigrateTaskRole", answer["Reason"])

    def test_a_namespace_without_a_managed_password_fails_the_deploy(self):
        self.namespace_answers(None)
        answer = self.run_function(self.event("Create"))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn("ManageAdminPassword", answer["Reason"])

    def test_an_api_error_is_reported_and_delete_calls_nothing(self):
        self.stub.add_client_error("get_namespace", "ResourceNotFoundException", "no such namespace")
        answer = self.run_function(self.event("Create"))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn("no such namespace", answer["Reason"])
        self.response_url.answers.clear()
        answer = self.run_function(self.event("Delete", answer["PhysicalResourceId"]))  # the stub fails any call
        self.assertEqual(answer["Status"], "SUCCESS")

    def test_the_iam_pattern_matches_what_the_function_accepts(self):
        # The function's name check and the migrate role's resource pattern are the same convention.
        d = cfn.Deployment()
        (policy,) = d.stacks["iam"]["Resources"]["MigrateTaskRole"]["Properties"]["Policies"]
        (statement,) = grants(policy["PolicyDocument"], "secretsmanager:GetSecretValue")
        pattern = d.resolve("iam", statement["Resource"])
        accepted = f"arn:aws:secretsmanager:{SAMPLE_PSEUDO['AWS::Region']}:{SAMPLE_PSEUDO['AWS::AccountId']}:" \
                   "secret:redshift!prod-s3shift-s3shift_admin-Zz9Yy8"
        self.namespace_answers(accepted)
        self.assertEqual(self.run_function(self.event("Create"))["Status"], "SUCCESS")
        self.assertTrue(fnmatch.fnmatchcase(accepted, pattern))


if __name__ == "__main__":
    unittest.main()
