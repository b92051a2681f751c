"""The delivery pipeline (deploy/delivery.yaml, buildspec.yml, buildspec-test.yml):

- each commit's image is built and pushed once: a retried build or "Release change" of a commit whose tag is in
  ECR (immutable tags) reuses that image, and the deploy stage gets the commit's tag either way (imagetag.json);
- the image's scan is checked for every status ECR's basic scanning gives a FROM scratch image
  (UNSUPPORTED_IMAGE, or FAILED with UnsupportedImageError) and a scan is started where no registry rule scanned
  on push; scan on push is configured for the registry, optionally, and only for this deployment's repository;
- the source defaults to one any new account can use (GitHub through CodeConnections), and the README's command
  deploys the stack as it is;
- tests and image are two builds side by side, the deploy stage after both; the image is built without the
  stand-ins (no DuckDB) and without the tests or the fuzzer; each build keeps its cargo cache in S3.

buildspec.yml's commands are run by bash here, phase after phase in one shell as CodeBuild runs them
(buildspec version 0.2), with stand-ins on PATH for the AWS CLI, buildah, apt-get and rustup, and
scripts/build-image replaced by a recorder.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import fnmatch
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import textwrap
import tomllib
import unittest

import yaml

import cfn
from cfn import ROOT, as_list

# "ImageScanStatus" (Amazon ECR API reference): the values of imageScanStatus.status.
SCAN_STATUSES = {
    "IN_PROGRESS", "COMPLETE", "FAILED", "UNSUPPORTED_IMAGE", "ACTIVE", "PENDING", "SCAN_ELIGIBILITY_EXPIRED",
    "FINDINGS_UNAVAILABLE", "LIMIT_EXCEEDED", "IMAGE_ARCHIVED",
}

REPOSITORY_URI = "123456789012.dkr.ecr.ap-southeast-7.amazonaws.com/prod-s3shift"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

# The AWS CLI as the buildspec calls it, answering from a scenario (JSON in $AWS_STUB) and logging every call.
AWS_STUB = textwrap.dedent(
    """\
    import json, os, sys
    args = sys.argv[1:]
    with open(os.environ["AWS_STUB_LOG"], "a") as log:
        log.write(" ".join(args) + "\\n")
    scenario = json.load(open(os.environ["AWS_STUB"]))
    def option(name):
        return args[args.index(name) + 1] if name in args else ""
    def error(code, operation):
        sys.stderr.write(f"\\nAn error occurred ({code}) when calling the {operation} operation: stand-in\\n")
        sys.exit(254)
    command = args[:2]
    if command == ["ecr", "describe-images"]:
        if scenario["image_exists"]:
            print("sha256:" + "ab" * 32)
            sys.exit(0)
        error("ImageNotFoundException", "DescribeImages")
    if command == ["ecr", "get-login-password"]:
        print("password")
        sys.exit(0)
    if command == ["ecr", "start-image-scan"]:
        if scenario.get("start_scan_ok", True):
            sys.exit(0)
        error("AccessDeniedException", "StartImageScan")
    if command == ["ecr", "describe-image-scan-findings"]:
        query = option("--query")
        if "imageScanStatus" in query:
            state = os.environ["AWS_STUB"] + ".polls"
            polls = int(open(state).read()) if os.path.exists(state) else 0
            open(state, "w").write(str(polls + 1))
            answers = scenario["scan"]
            answer = answers[min(polls, len(answers) - 1)]
            if "error" in answer:
                error(answer["error"], "DescribeImageScanFindings")
            print(answer["status"] + "\\t" + answer.get("description", "None"))
            sys.exit(0)
        if "findingSeverityCounts" in query:
            print("\\t".join(str(c) for c in scenario.get("findings", ["None", "None"])))
            sys.exit(0)
    sys.stderr.write("aws stand-in: unexpected call " + " ".join(args) + "\\n")
    sys.exit(2)
    """
)

# Commands that only log how they were called.
RECORDERS = ("apt-get", "buildah", "podman", "rustup", "rustc", "curl")


def buildspec(name="buildspec.yml"):
    with open(ROOT / name, encoding="utf-8") as f:
        return yaml.safe_load(f)


class ImageBuild:
    """buildspec.yml run under stand-ins in a scratch folder."""

    def __init__(self, scenario):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="s3shift-buildspec-"))
        self.bin = self.dir / "bin"
        self.work = self.dir / "src"
        self.home = self.dir / "home"
        for d in (self.bin, self.work / "scripts", self.home / ".cargo"):
            d.mkdir(parents=True)
        (self.home / ".cargo" / "env").write_text("")
        self.log = self.dir / "calls.log"
        (self.bin / "aws").write_text(f"#!{sys.executable}\n" + AWS_STUB)
        for name in RECORDERS:
            (self.bin / name).write_text(f'#!/bin/sh\necho "{name} $*" >> "{self.log}"\n')
        (self.work / "scripts" / "build-image").write_text(f'#!/bin/sh\necho "build-image $*" >> "{self.log}"\n')
        for path in [*self.bin.iterdir(), self.work / "scripts" / "build-image"]:
            path.chmod(0o755)
        (self.dir / "scenario.json").write_text(json.dumps(scenario))

    def run(self):
        spec = buildspec()
        script = []
        for phase in ("install", "pre_build", "build", "post_build"):
            for n, command in enumerate(spec["phases"].get(phase, {}).get("commands", [])):
                script.append(f"{{ {command}\n}} || {{ echo 'buildspec: {phase} command {n} failed' >&2; exit 1; }}")
        env = {
            **{k: str(v) for k, v in spec["env"]["variables"].items()},
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "HOME": str(self.home),
            "AWS_STUB": str(self.dir / "scenario.json"),
            "AWS_STUB_LOG": str(self.log),
            # What CodeBuild and the pipeline set: the project's variable, the action's, CodeBuild's own.
            "ECR_REPOSITORY_URI": REPOSITORY_URI,
            "IMAGE_TAG": COMMIT,
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CARGO_TARGET_DIR": str(self.dir / "target"),
            "SCAN_POLL_SECONDS": "0",
        }
        self.result = subprocess.run(
            [spec["env"].get("shell", "sh"), "-c", "\n".join(script)],
            cwd=self.work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.calls = self.log.read_text().splitlines() if self.log.exists() else []
        return self

    def called(self, prefix):
        return [c for c in self.calls if c.startswith(prefix)]

    def imagetag(self):
        path = self.work / "imagetag.json"
        return json.loads(path.read_text()) if path.exists() else None

    def explain(self):
        return f"exit {self.result.returncode}\nstdout:\n{self.result.stdout}\nstderr:\n{self.result.stderr}\ncalls:\n" + "\n".join(
            self.calls
        )


def image_build(image_exists=False, scan=({"status": "COMPLETE", "description": "The scan was completed"},), **more):
    return ImageBuild({"image_exists": image_exists, "scan": list(scan), **more}).run()


class ImageTags(unittest.TestCase):
    """Issue 16, A: immutable tags and the commit as tag."""

    def test_the_repository_keeps_tags_immutable(self):
        repository = cfn.load("compute")["Resources"]["Repository"]["Properties"]
        self.assertEqual(repository["ImageTagMutability"], "IMMUTABLE")

    def test_a_new_commit_is_built_pushed_and_handed_to_the_deploy_stage(self):
        build = image_build(image_exists=False)
        self.assertEqual(build.result.returncode, 0, build.explain())
        (built,) = build.called("build-image ")
        self.assertIn(f"--tag {REPOSITORY_URI}:{COMMIT}", built)
        self.assertIn("--profile image", built)
        self.assertEqual(build.called("buildah push "), [f"buildah push --storage-driver vfs {REPOSITORY_URI}:{COMMIT}"])
        self.assertEqual(build.imagetag(), {"ImageTag": COMMIT})

    def test_a_commit_already_in_ecr_is_not_built_or_pushed_again(self):
        # "Release change" or a retried build of the same commit: pushing the tag again would fail (immutable).
        build = image_build(image_exists=True)
        self.assertEqual(build.result.returncode, 0, build.explain())
        self.assertEqual(build.called("build-image"), [], build.explain())
        self.assertEqual(build.called("buildah push"), [], build.explain())
        self.assertEqual(build.called("apt-get"), [], "nothing installed for a build that builds nothing")
        # Its scan is still checked, and the deploy stage still gets the commit's tag.
        self.assertTrue([c for c in build.calls if c.startswith("ecr describe-image-scan-findings")])
        self.assertEqual(build.imagetag(), {"ImageTag": COMMIT})

    def test_an_unclear_answer_from_ecr_stops_the_build(self):
        build = ImageBuild({"image_exists": False, "scan": []})
        # describe-images failing with anything but ImageNotFoundException: neither build nor skip on a guess.
        (build.bin / "aws").write_text(
            '#!/bin/sh\necho "An error occurred (ThrottlingException) when calling the DescribeImages operation" >&2\n'
            "exit 254\n"
        )
        build.run()
        self.assertNotEqual(build.result.returncode, 0, build.explain())
        self.assertEqual(build.called("build-image"), [])

    def test_the_image_tag_is_the_commit_the_source_action_took(self):
        delivery = cfn.load("delivery")
        (pipeline,) = [r["Properties"] for r in delivery["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
        stages = {s["Name"]: s for s in pipeline["Stages"]}
        source, build = stages["Source"], stages["Build"]
        branches = as_list(source["Actions"][0]["Fn::If"][1:])
        self.assertEqual({b["Namespace"] for b in branches}, {"SourceVariables"})
        (image,) = [a for a in build["Actions"] if a.get("OutputArtifacts")]
        variables = json.loads(image["Configuration"]["EnvironmentVariables"])
        self.assertIn({"name": "IMAGE_TAG", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"}, variables)


class ImageScan(unittest.TestCase):
    """Issue 16, B: every scan status basic scanning gives a FROM scratch image, and scanning set the current way."""

    def test_unsupported_image_status_is_accepted(self):
        build = image_build(scan=[{"status": "UNSUPPORTED_IMAGE", "description": "UnsupportedImageError: no OS"}])
        self.assertEqual(build.result.returncode, 0, build.explain())

    def test_failed_with_unsupported_image_error_is_accepted(self):
        build = image_build(scan=[{"status": "FAILED", "description": "UnsupportedImageError: The operating system"}])
        self.assertEqual(build.result.returncode, 0, build.explain())

    def test_a_finished_scan_without_critical_or_high_findings_is_accepted_after_waiting(self):
        build = image_build(
            scan=[{"status": "PENDING"}, {"status": "IN_PROGRESS"}, {"status": "COMPLETE"}], findings=["None", "None"]
        )
        self.assertEqual(build.result.returncode, 0, build.explain())

    def test_critical_or_high_findings_are_refused(self):
        for findings in (["1", "None"], ["None", "3"]):
            with self.subTest(findings=findings):
                build = image_build(scan=[{"status": "COMPLETE"}], findings=findings)
                self.assertNotEqual(build.result.returncode, 0, build.explain())
                self.assertIsNone(build.imagetag(), "no tag for the deploy stage")

    def test_other_outcomes_are_refused(self):
        for answer in (
            {"status": "FAILED", "description": "internal error"},
            {"status": "SCAN_ELIGIBILITY_EXPIRED"},
            {"status": "FINDINGS_UNAVAILABLE"},
            {"status": "IN_PROGRESS"},
        ):
            with self.subTest(answer=answer):
                self.assertNotEqual(image_build(scan=[answer]).result.returncode, 0)

    def test_without_a_scan_on_push_the_build_starts_one(self):
        build = image_build(
            scan=[{"error": "ScanNotFoundException"}] * 3 + [{"status": "IN_PROGRESS"}, {"status": "COMPLETE"}]
        )
        self.assertEqual(build.result.returncode, 0, build.explain())
        self.assertEqual(len(build.called("ecr start-image-scan")), 1, build.explain())
        refused = image_build(scan=[{"error": "ScanNotFoundException"}], start_scan_ok=False)
        self.assertNotEqual(refused.result.returncode, 0, refused.explain())

    def test_the_statuses_the_buildspec_names_are_ecr_statuses(self):
        (check,) = [c for c in buildspec()["phases"]["post_build"]["commands"] if "describe-image-scan-findings" in c]
        named = set(re.findall(r"\b([A-Z][A-Z_]{3,})\*", check))
        self.assertEqual(named - SCAN_STATUSES, set(), "not ImageScanStatus values")
        self.assertLessEqual({"UNSUPPORTED_IMAGE", "FAILED", "COMPLETE", "PENDING", "IN_PROGRESS"}, named)

    def test_scan_on_push_is_set_for_the_registry_and_only_this_repository(self):
        compute = cfn.load("compute")["Resources"]
        self.assertNotIn("ImageScanningConfiguration", compute["Repository"]["Properties"], "deprecated setting")
        deployment = cfn.Deployment()
        delivery = deployment.stacks["delivery"]
        (logical_id,) = [
            k for k, r in delivery["Resources"].items() if r["Type"] == "AWS::ECR::RegistryScanningConfiguration"
        ]
        resource = delivery["Resources"][logical_id]
        # Account-wide: created only when asked for, off by default.
        condition = delivery["Conditions"][resource["Condition"]]
        parameter = condition["Fn::Equals"][0]["Ref"]
        self.assertEqual(delivery["Parameters"][parameter]["Default"], "false")
        self.assertEqual(condition["Fn::Equals"][1], "true")
        props = resource["Properties"]
        self.assertEqual(props["ScanType"], "BASIC")
        (rule,) = props["Rules"]
        self.assertEqual(rule["ScanFrequency"], "SCAN_ON_PUSH")
        (repo_filter,) = rule["RepositoryFilters"]
        # "Filters to choose which repositories are scanned in Amazon ECR": without a wildcard a filter matches
        # every name containing it; with one, the whole name must match (the wildcard standing for any characters).
        self.assertEqual(repo_filter["FilterType"], "WILDCARD")
        pattern = deployment.resolve("delivery", repo_filter["Filter"])
        self.assertIn("*", pattern)
        repository = deployment.resolve("compute", compute["Repository"]["Properties"]["RepositoryName"])
        self.assertTrue(fnmatch.fnmatchcase(repository, pattern))
        for other in ("pre" + repository, "staging-s3shift", "s3shift"):
            self.assertFalse(fnmatch.fnmatchcase(other, pattern), other)

    def test_the_build_role_may_read_and_start_the_scan(self):
        from test_deploy_role import role_grants

        deployment = cfn.Deployment()
        iam = deployment.stacks["iam"]["Resources"]
        role = deployment.resolve("iam", iam["BuildRole"]["Properties"]["RoleName"])
        granted = role_grants(deployment, role)
        for action in ("ecr:DescribeImages", "ecr:DescribeImageScanFindings", "ecr:StartImageScan", "ecr:PutImage"):
            self.assertIn(action, granted)


class Source(unittest.TestCase):
    """Issue 16, C: the default source is one a new account can use, and the README deploys the stack as it is."""

    @classmethod
    def setUpClass(cls):
        cls.delivery = cfn.load("delivery")
        cls.readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")

    def test_the_default_source_is_github_through_codeconnections(self):
        parameter = self.delivery["Parameters"]["SourceProvider"]
        self.assertEqual(parameter["Default"], "GitHub")
        self.assertIn("CodeCommit", parameter["AllowedValues"], "CodeCommit stays a choice")
        # The default needs its connection and repository, which the Rules refuse to do without.
        self.assertEqual(len(cfn.rule_failures(self.delivery, {})), 2)
        self.assertEqual(
            cfn.rule_failures(self.delivery, {"ConnectionArn": "arn:aws:codeconnections:ap-southeast-7:123456789012:connection/x", "FullRepositoryId": "o/r"}),
            [],
        )
        self.assertEqual(cfn.rule_failures(self.delivery, {"SourceProvider": "CodeCommit"}), [])

    def test_no_text_calls_codecommit_closed_while_offering_it(self):
        texts = [self.delivery["Description"], self.readme]
        texts += [p.get("Description", "") for p in self.delivery["Parameters"].values()]
        for text in texts:
            self.assertIsNone(re.search(r"CodeCommit is closed to new accounts", " ".join(text.split())))

    def test_the_readme_command_deploys_the_delivery_stack_as_it_is(self):
        (block,) = re.findall(
            r"^aws cloudformation deploy --stack-name prod-s3shift-delivery .*?[^\\]$", self.readme, re.MULTILINE | re.DOTALL
        )
        # Its lines without their comments, joined.
        command = " ".join(" ".join(line.split("#")[0].rstrip(" \\") for line in block.splitlines()).split())
        # An IAM resource (the CodeCommit trigger's role): CAPABILITY_IAM.
        self.assertIn("--capabilities CAPABILITY_IAM", command)
        values = dict(re.findall(r"\b([A-Za-z]+)=(\S+)", command))
        self.assertEqual(cfn.rule_failures(self.delivery, values), [], command)


class Builds(unittest.TestCase):
    """Issue 16, E: tests and image side by side, the deploy after both; the image without the stand-ins, with a
    cargo cache."""

    @classmethod
    def setUpClass(cls):
        cls.deployment = cfn.Deployment()
        cls.delivery = cls.deployment.stacks["delivery"]["Resources"]
        (cls.pipeline,) = [r["Properties"] for r in cls.delivery.values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
        cls.projects = {k: r["Properties"] for k, r in cls.delivery.items() if r["Type"] == "AWS::CodeBuild::Project"}
        cls.image_spec = buildspec("buildspec.yml")
        cls.test_spec = buildspec("buildspec-test.yml")

    def codebuild_actions(self):
        return [
            (index, action)
            for index, stage in enumerate(self.pipeline["Stages"])
            for action in stage["Actions"]
            if "ActionTypeId" in action and action["ActionTypeId"]["Provider"] == "CodeBuild"
        ]

    def project_of(self, action):
        (logical_id,) = [v for k, v in action["Configuration"]["ProjectName"].items() if k == "Ref"]
        return self.projects[logical_id]

    def test_tests_and_image_run_side_by_side_and_the_deploy_waits_for_both(self):
        actions = self.codebuild_actions()
        self.assertEqual(sorted(self.project_of(a)["Source"]["BuildSpec"] for _, a in actions), ["buildspec-test.yml", "buildspec.yml"])
        stages = {index for index, _ in actions}
        self.assertEqual(len(stages), 1, "both builds in one stage")
        self.assertEqual(len({a.get("RunOrder", 1) for _, a in actions}), 1, "at the same time")
        (build_stage,) = stages
        (deploy_index,) = [
            i for i, stage in enumerate(self.pipeline["Stages"])
            for a in stage["Actions"] if "ActionTypeId" in a and a["ActionTypeId"]["Provider"] == "CloudFormation"
        ]
        self.assertGreater(deploy_index, build_stage, "a stage starts when the one before has succeeded")
        # The deploy reads imagetag.json from the image build's output.
        (image,) = [a for _, a in actions if self.project_of(a)["Source"]["BuildSpec"] == "buildspec.yml"]
        deploy = self.pipeline["Stages"][deploy_index]["Actions"][0]
        self.assertIn('"Fn::GetParam": ["Image", "imagetag.json", "ImageTag"]', deploy["Configuration"]["ParameterOverrides"]["Fn::Sub"])
        self.assertEqual(image["OutputArtifacts"], [{"Name": "Image"}])
        self.assertEqual(self.image_spec["artifacts"]["files"], ["imagetag.json"])

    def test_the_pipeline_role_may_start_both_projects(self):
        from test_deploy_role import role_statements

        d = self.deployment
        pipeline_role = d.resolve("iam", d.stacks["iam"]["Resources"]["PipelineRole"]["Properties"]["RoleName"])
        arn = "arn:aws:codebuild:{}:{}:project/{{}}".format(cfn.SAMPLE_PSEUDO["AWS::Region"], cfn.SAMPLE_PSEUDO["AWS::AccountId"])
        allowed = {
            d.resolve(stack, r)
            for stack, _, st in role_statements(d, pipeline_role)
            if "codebuild:StartBuild" in as_list(st["Action"])
            for r in as_list(st["Resource"])
        }
        self.assertEqual(allowed, {arn.format(d.resolve("delivery", p["Name"])) for p in self.projects.values()})

    def test_the_build_role_may_read_the_cache_bucket(self):
        # The projects' S3 cache is in the artifact bucket; CodeBuild reads the bucket's ACL and location.
        from test_deploy_role import role_statements

        d = self.deployment
        build_role = d.resolve("iam", d.stacks["iam"]["Resources"]["BuildRole"]["Properties"]["RoleName"])
        bucket = d.resolve("delivery", {"Fn::GetAtt": ["ArtifactBucket", "Arn"]})
        for action in ("s3:GetBucketAcl", "s3:GetBucketLocation"):
            resources = {
                d.resolve(stack, r)
                for stack, _, st in role_statements(d, build_role)
                if action in as_list(st["Action"])
                for r in as_list(st["Resource"])
            }
            self.assertEqual(resources, {bucket}, action)
        for project in self.projects.values():
            self.assertTrue(project["Cache"]["Location"]["Fn::Sub"].startswith("${ArtifactBucket}/"))

    def test_the_image_build_runs_no_tests_no_fuzzer_and_builds_no_duckdb(self):
        commands = "\n".join(c for phase in self.image_spec["phases"].values() for c in phase["commands"])
        for absent in ("scripts/test", "scripts/fuzz", "cargo test", "duckdb"):
            self.assertNotIn(absent, commands.lower())
        self.assertIn("scripts/build-image --profile image", commands)
        build_image = (ROOT / "scripts" / "build-image").read_text(encoding="utf-8")
        self.assertRegex(build_image, r"cargo build [^\n]*-p s3shift-cli --no-default-features")
        # Without its default features the CLI has no path to the stand-ins, the only crate that builds DuckDB.
        members = {}
        for manifest in (ROOT / "crates").glob("*/Cargo.toml"):
            with open(manifest, "rb") as f:
                data = tomllib.load(f)
            members[data["package"]["name"]] = data
        cli = members["s3shift-cli"]
        self.assertEqual(cli["features"]["default"], ["local"])
        self.assertTrue(cli["dependencies"]["s3shift-local"].get("optional"))

        def reaches_duckdb(name, seen=()):
            deps = members[name].get("dependencies", {})
            if "duckdb" in deps:
                return True
            return any(
                reaches_duckdb(dep, (*seen, name))
                for dep, spec in deps.items()
                if dep in members and dep not in seen and not (isinstance(spec, dict) and spec.get("optional"))
            )

        self.assertTrue(reaches_duckdb("s3shift-local"))
        self.assertFalse(reaches_duckdb("s3shift-cli"), "a non-optional dependency of the CLI builds DuckDB")

    def test_the_test_build_runs_the_suite_without_the_fuzzer(self):
        commands = "\n".join(c for phase in self.test_spec["phases"].values() for c in phase["commands"])
        (run,) = re.findall(r"\./scripts/test( [a-z ]+)?$", commands, re.MULTILINE)
        parts = run.split()
        self.assertEqual(sorted(parts), ["deploy", "image", "rust"], "every part but the bounded fuzz run")

    def test_each_build_keeps_its_cargo_cache_in_s3(self):
        locations = {}
        for logical_id, project in self.projects.items():
            with self.subTest(project=logical_id):
                self.assertEqual(project["Cache"]["Type"], "S3")
                locations[logical_id] = project["Cache"]["Location"]["Fn::Sub"]
                spec = buildspec(project["Source"]["BuildSpec"])
                target = spec["env"]["variables"]["CARGO_TARGET_DIR"]
                paths = spec["cache"]["paths"]
                self.assertIn(f"{target}/**/*", paths)
                self.assertIn("/root/.cargo/registry/**/*", paths)
        self.assertEqual(len(set(locations.values())), len(locations), "one cache location per project")
        for location in locations.values():
            self.assertTrue(location.startswith("${ArtifactBucket}/build-cache/"), location)
        self.assertNotEqual(
            self.image_spec["env"]["variables"]["CARGO_TARGET_DIR"], self.test_spec["env"]["variables"]["CARGO_TARGET_DIR"]
        )

    def test_both_builds_use_the_toolchain_the_workspace_requires(self):
        with open(ROOT / "Cargo.toml", "rb") as f:
            rust_version = tomllib.load(f)["workspace"]["package"]["rust-version"]
        for spec in (self.image_spec, self.test_spec):
            toolchain = spec["env"]["variables"]["RUST_TOOLCHAIN"]
            self.assertTrue(toolchain == rust_version or toolchain.startswith(rust_version + "."), toolchain)

    def test_the_readme_states_the_build_minutes(self):
        readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
        self.assertTrue(re.search(r"BUILD-MINUTES-TBD|cold[^\n]*minutes", readme), "deploy/README.md: build minutes")


if __name__ == "__main__":
    unittest.main()
