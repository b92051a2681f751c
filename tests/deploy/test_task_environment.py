"""The scheduled ECS tasks (deploy/compute.yaml) run their job against this deployment's resources, and the
stacks agree with each other and with jobs/ on every name that ties them together.

The job files in the image name example buckets; each task definition replaces the deployment-specific fields
through S3SHIFT_SOURCE_BUCKET, S3SHIFT_STAGING_BUCKET, S3SHIFT_WORKGROUP, S3SHIFT_DATABASE and
S3SHIFT_COPY_IAM_ROLE (the binary's unit tests check that it reads each of them). Here every value is resolved,
through !ImportValue and !Ref, for a sample deployment of all stacks with their default parameters, and must be:
the job's own ingestion bucket and the staging bucket, exactly the buckets and the staging prefix its task role
may use, and buckets whose policies let that role in (and let COPY read the staged files); the workgroup and
database the warehouse stack creates; the COPY role the namespace holds. A mismatch
here is a run that fails in AWS with NoSuchBucket or AccessDenied, where no other test can see it.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import json
import re
import tomllib
import unittest

import cfn

JOB_VARIABLES = {
    "S3SHIFT_SOURCE_BUCKET",
    "S3SHIFT_STAGING_BUCKET",
    "S3SHIFT_WORKGROUP",
    "S3SHIFT_DATABASE",
    "S3SHIFT_COPY_IAM_ROLE",
}


def job_file(name):
    with open(cfn.ROOT / "jobs" / f"{name}.toml", "rb") as f:
        return tomllib.load(f)


def tasks(compute, command="run"):
    """(logical id, job name, container definition) of every task definition that runs `s3shift <command>`:
    the scheduled jobs (`run`, the default) or the one-off `migrate`. Any other command is refused."""
    for logical_id, resource in compute["Resources"].items():
        if resource["Type"] != "AWS::ECS::TaskDefinition":
            continue
        (container,) = resource["Properties"]["ContainerDefinitions"]
        args = container["Command"]
        assert args[0] in ("run", "migrate"), f"{logical_id}: {args}"
        if args[0] == command:
            yield logical_id, args[1], container


def s3_grants(deployment, role_stack, role_id):
    """action -> the resolved S3 resources an Allow of the role's inline policies grants it."""
    grants = {}
    role = deployment.stacks[role_stack]["Resources"][role_id]["Properties"]
    for policy in role.get("Policies", []):
        for statement in cfn.as_list(policy["PolicyDocument"]["Statement"]):
            if statement["Effect"] != "Allow":
                continue
            for action in cfn.as_list(statement["Action"]):
                if action.startswith("s3:"):
                    resources = {deployment.resolve(role_stack, r) for r in cfn.as_list(statement["Resource"])}
                    grants.setdefault(action, set()).update(resources)
    return grants


class TaskEnvironment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deployment = cfn.Deployment()
        cls.compute = cls.deployment.stacks["compute"]
        cls.tasks = list(tasks(cls.compute))

    def environment(self, container):
        return {pair["Name"]: pair["Value"] for pair in container.get("Environment", [])}

    def test_every_shipped_job_has_a_task_that_sets_every_deployment_name(self):
        jobs = sorted(p.stem for p in (cfn.ROOT / "jobs").glob("*.toml") if p.stem != "demo")
        # One scheduled task per job; with event-driven ingestion also a --follow and a --scan task per job
        # (tests/deploy/test_events.py). Every one of them names this deployment's resources.
        plain = sorted(job for _, job, c in self.tasks if c["Command"][2:3] == ["--stop-timeout-seconds"])
        self.assertEqual(plain, jobs)
        self.assertEqual(sorted({job for _, job, _ in self.tasks}), jobs)
        for logical_id, job, container in self.tasks:
            with self.subTest(task=logical_id):
                missing = JOB_VARIABLES - set(self.environment(container))
                self.assertFalse(missing, f"{logical_id} ({job}) leaves the job file's example names for {missing}")

    def test_each_task_reads_its_own_bucket_and_stages_where_its_role_may_write(self):
        d = self.deployment
        for logical_id, job, container in self.tasks:
            with self.subTest(task=logical_id):
                env = self.environment(container)
                spec = job_file(job)
                source = d.resolve("compute", env["S3SHIFT_SOURCE_BUCKET"])
                staging = d.resolve("compute", env["S3SHIFT_STAGING_BUCKET"])
                # The buckets are the storage stack's, with the right roles.
                for variable, role in (("S3SHIFT_SOURCE_BUCKET", "ingestion"), ("S3SHIFT_STAGING_BUCKET", "staging")):
                    stack, bucket_id = d.imported_resource("compute", env[variable])
                    tags = {t["Key"]: t["Value"] for t in d.stacks[stack]["Resources"][bucket_id]["Properties"]["Tags"]}
                    self.assertEqual(tags.get("s3shift:bucket-role"), role, f"{logical_id} {variable} -> {bucket_id}")
                # Its source is the one whose uploader is this job's service (api-images -> the api bucket).
                self.assertIn(f"-s3shift-{spec['source']['name']}-uploads-", source)
                # The task role (the role the task definition runs with) may do exactly that: list and read its
                # own source, and write under its job file's staging prefix of the staging bucket.
                role_stack, role_id = d.imported_resource("compute", self.compute["Resources"][logical_id]["Properties"]["TaskRoleArn"])
                grants = s3_grants(d, role_stack, role_id)
                prefix = spec["staging"]["prefix"].strip("/")
                self.assertEqual(
                    grants.get("s3:ListBucket"), {f"arn:aws:s3:::{source}", f"arn:aws:s3:::{staging}"}, logical_id
                )
                self.assertEqual(grants.get("s3:GetLifecycleConfiguration"), {f"arn:aws:s3:::{source}"}, logical_id)
                self.assertEqual(
                    grants.get("s3:GetObject"),
                    {f"arn:aws:s3:::{source}/*", f"arn:aws:s3:::{staging}/{prefix}/*"},
                    logical_id,
                )
                for action in ("s3:PutObject", "s3:DeleteObject"):
                    self.assertEqual(grants.get(action), {f"arn:aws:s3:::{staging}/{prefix}/*"}, f"{logical_id} {action}")

    def test_the_bucket_policies_let_each_task_do_what_its_role_allows(self):
        """A bucket policy can deny what the role allows: each task's buckets must let its role in, the source's
        writer must be the job's own uploader, and COPY must be able to read what the job stages."""
        d = self.deployment
        storage = d.stacks["storage"]["Resources"]

        def policy(bucket_id):
            (document,) = [
                r["Properties"]["PolicyDocument"]
                for r in storage.values()
                if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket_id}
            ]
            return cfn.as_list(document["Statement"])

        def allowed(statements, principal):
            """action -> resources an Allow statement of `statements` grants `principal`."""
            grants = {}
            for st in statements:
                named = st.get("Principal", {})
                named = named.get("AWS", []) if isinstance(named, dict) else []  # "*" names nobody in particular
                principals = {d.resolve("storage", p) for p in cfn.as_list(named)}
                if st["Effect"] == "Allow" and principal in principals:
                    for action in cfn.as_list(st["Action"]):
                        grants.setdefault(action, set()).update(d.resolve("storage", r) for r in cfn.as_list(st["Resource"]))
            return grants

        namespace = next(
            r["Properties"]
            for r in d.stacks["warehouse"]["Resources"].values()
            if r["Type"] == "AWS::RedshiftServerless::Namespace"
        )
        copy_role = d.resolve("warehouse", namespace["DefaultIamRoleArn"])
        for logical_id, job, container in self.tasks:
            with self.subTest(task=logical_id):
                env = self.environment(container)
                spec = job_file(job)
                role = d.resolve("compute", self.compute["Resources"][logical_id]["Properties"]["TaskRoleArn"])
                _, source_id = d.imported_resource("compute", env["S3SHIFT_SOURCE_BUCKET"])
                _, staging_id = d.imported_resource("compute", env["S3SHIFT_STAGING_BUCKET"])
                source = "arn:aws:s3:::" + d.resolve("compute", env["S3SHIFT_SOURCE_BUCKET"])
                staging = "arn:aws:s3:::" + d.resolve("compute", env["S3SHIFT_STAGING_BUCKET"])
                reads = allowed(policy(source_id), role)
                self.assertEqual(reads.get("s3:ListBucket", set()) & {source}, {source})
                self.assertEqual(reads.get("s3:GetLifecycleConfiguration", set()) & {source}, {source})
                self.assertIn(source + "/*", reads.get("s3:GetObject", set()))
                # The one writer the source allows is the uploader role of this job's service.
                (deny,) = [st for st in policy(source_id) if st.get("Sid") == "OnlyTheUploaderWrites"]
                writer = d.resolve("storage", deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
                self.assertTrue(writer.endswith(f"-s3shift-{spec['source']['name']}-uploader"), writer)
                self.assertIn(source + "/*", allowed(policy(source_id), writer).get("s3:PutObject", set()))
                # Staging: the task stages, leases and deletes there; COPY reads what it stages.
                stages = allowed(policy(staging_id), role)
                for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
                    self.assertIn(staging + "/*", stages.get(action, set()), action)
                copy_reads = allowed(policy(staging_id), copy_role).get("s3:GetObject", set())
                prefix = spec["staging"]["prefix"].strip("/") + "/"
                self.assertTrue(
                    any(prefix.startswith(r.removeprefix(staging + "/").rstrip("*")) for r in copy_reads),
                    f"COPY reads {copy_reads}, not the job's staging prefix {prefix}",
                )
                # The files it stages expire with the staging retention rule.
                rules = storage[staging_id]["Properties"]["LifecycleConfiguration"]["Rules"]
                self.assertTrue(any(prefix.startswith(r.get("Prefix", "")) and "ExpirationInDays" in r for r in rules))
                # The data key lets the role use it (through S3).
                key_statements = storage["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
                users = {
                    d.resolve("storage", p)
                    for st in key_statements
                    if st.get("Sid") == "PipelineRolesUseTheKey"
                    for p in cfn.as_list(st["Principal"]["AWS"])
                }
                self.assertIn(role, users)
                self.assertIn(copy_role, users)

    def test_the_warehouse_names_are_the_warehouse_stacks(self):
        d = self.deployment
        warehouse = d.stacks["warehouse"]["Resources"]
        workgroup, namespace = (
            next(r["Properties"] for r in warehouse.values() if r["Type"] == f"AWS::RedshiftServerless::{kind}")
            for kind in ("Workgroup", "Namespace")
        )
        for logical_id, _, container in self.tasks:
            env = self.environment(container)
            with self.subTest(task=logical_id):
                self.assertEqual(
                    d.resolve("compute", env["S3SHIFT_WORKGROUP"]), d.resolve("warehouse", workgroup["WorkgroupName"])
                )
                self.assertEqual(d.resolve("compute", env["S3SHIFT_DATABASE"]), d.resolve("warehouse", namespace["DbName"]))
                # The COPY role the task names is the one the namespace holds as its default.
                self.assertEqual(
                    d.resolve("compute", env["S3SHIFT_COPY_IAM_ROLE"]),
                    d.resolve("warehouse", namespace["DefaultIamRoleArn"]),
                )
        # The migrate task migrates this deployment's warehouse, and names nothing it does not use.
        # (Its own stack, deploy/migrate.yaml: the pipeline never deploys it.)
        (migrate,) = tasks(d.stacks["migrate"], "migrate")
        env = self.environment(migrate[2])
        self.assertEqual(
            set(env),
            {
                "S3SHIFT_LOG_FORMAT",
                "S3SHIFT_WORKGROUP",
                "S3SHIFT_DATABASE",
                "S3SHIFT_ADMIN_SECRET_ARN",
                "S3SHIFT_COPY_IAM_ROLE",
                "S3SHIFT_LOADER_ROLES",
            },
        )
        # The loader's ASSUMEROLE grant names the role the jobs' COPY names.
        self.assertEqual(
            d.resolve("migrate", env["S3SHIFT_COPY_IAM_ROLE"]),
            d.resolve("warehouse", namespace["DefaultIamRoleArn"]),
        )
        self.assertEqual(d.resolve("migrate", env["S3SHIFT_WORKGROUP"]), d.resolve("warehouse", workgroup["WorkgroupName"]))
        self.assertEqual(d.resolve("migrate", env["S3SHIFT_DATABASE"]), d.resolve("warehouse", namespace["DbName"]))
        # Resolved for real, not compared as two unresolved expressions.
        env = self.environment(self.tasks[0][2])
        self.assertEqual(
            [d.resolve("compute", env[v]) for v in ("S3SHIFT_WORKGROUP", "S3SHIFT_DATABASE", "S3SHIFT_COPY_IAM_ROLE")],
            ["prod-s3shift", "analytics", "arn:aws:iam::123456789012:role/prod-s3shift-copy"],
        )

    def test_the_pipeline_passes_every_compute_parameter(self):
        """CloudFormation resets a parameter the deploy action omits to its default: every one must be passed,
        and the delivery stack's copies must match the compute stack's."""
        delivery = self.deployment.stacks["delivery"]
        (action,) = [
            a
            for r in delivery["Resources"].values()
            if r["Type"] == "AWS::CodePipeline::Pipeline"
            for stage in r["Properties"]["Stages"]
            for a in stage["Actions"]
            if isinstance(a, dict) and a.get("ActionTypeId", {}).get("Provider") == "CloudFormation"
        ]
        template = action["Configuration"]["ParameterOverrides"]["Fn::Sub"]
        passed = json.loads(re.sub(r"\$\{([^}]+)\}", r"\1", template))
        self.assertEqual(set(passed), set(self.compute["Parameters"]))
        for name, value in passed.items():
            if isinstance(value, str) and value in delivery["Parameters"] and name != "LogRetentionDays":
                ours, theirs = delivery["Parameters"][value], self.compute["Parameters"][name]
                self.assertEqual(
                    (ours.get("Default"), ours.get("AllowedPattern")),
                    (theirs.get("Default"), theirs.get("AllowedPattern")),
                    f"delivery's {value} and compute's {name}",
                )

    def test_the_documented_deploy_order_satisfies_every_import(self):
        """deploy/README.md deploys the stacks in an order where every !ImportValue is already exported."""
        readme = (cfn.ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
        order = re.findall(r"--stack-name prod-s3shift-([a-z]+) --template-file deploy/\1\.yaml", readme)
        self.assertEqual(sorted(order), sorted(self.deployment.stacks), "each stack deployed once in the README")

        def imports(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "Fn::ImportValue":
                        yield value
                    else:
                        yield from imports(value)
            elif isinstance(node, list):
                for value in node:
                    yield from imports(value)

        for position, stack in enumerate(order):
            for name in imports(self.deployment.stacks[stack]["Resources"]):
                exporter, _ = self.deployment.export(self.deployment.resolve(stack, name))
                self.assertIn(exporter, order[:position], f"{stack} imports {name} from {exporter}, deployed later")

    def test_what_holds_data_outlives_its_stack(self):
        """Deleting a stack, or an update that replaces a resource, must not delete images not yet loaded, the
        curated tables with their ledger, or the keys their data is encrypted with."""
        kept = {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::RedshiftServerless::Namespace"}
        disposable = {("delivery", "ArtifactBucket"): "pipeline artifacts, made again by the next pipeline run"}
        seen = 0
        for stack, template in self.deployment.stacks.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] in kept and (stack, logical_id) not in disposable:
                    seen += 1
                    self.assertEqual(
                        (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")),
                        ("Retain", "Retain"),
                        f"{stack} {logical_id}",
                    )
        self.assertGreaterEqual(seen, 8)

    def test_every_bucket_name_fits_for_the_longest_environment_allowed(self):
        patterns = {
            stack: t["Parameters"]["Environment"]["AllowedPattern"] for stack, t in self.deployment.stacks.items()
        }
        self.assertEqual(len(set(patterns.values())), 1, f"the stacks disagree on Environment: {patterns}")
        pattern = next(iter(patterns.values()))
        # ^[a-z][a-z0-9-]{1,N}$ -> N + 1 characters at most.
        longest = int(re.fullmatch(r"\^\[a-z\]\[a-z0-9-\]\{1,(\d+)\}\$", pattern).group(1)) + 1
        environment = "e" * longest
        self.assertRegex(environment, pattern)
        deployment = cfn.Deployment({"Environment": environment})
        seen = 0
        for stack, template in deployment.stacks.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] == "AWS::S3::Bucket":
                    name = deployment.resolve(stack, resource["Properties"]["BucketName"])
                    self.assertLessEqual(len(name), 63, f"{stack} {logical_id}: {name}")
                    seen += 1
        self.assertGreaterEqual(seen, 5)
        # One character more would not fit: the pattern is as long as it can be, not shorter by accident.
        deployment = cfn.Deployment({"Environment": environment + "e"})
        lengths = [
            len(deployment.resolve(stack, r["Properties"]["BucketName"]))
            for stack, t in deployment.stacks.items()
            for r in t["Resources"].values()
            if r["Type"] == "AWS::S3::Bucket"
        ]
        self.assertGreater(max(lengths), 63)


if __name__ == "__main__":
    unittest.main()
