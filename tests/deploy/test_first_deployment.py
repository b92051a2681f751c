"""Issue 28, item 2: the first deployment is safe whatever starts first, the schedules or migrate.

"Defining database roles to grant to federated users in Amazon Redshift Serverless" (Amazon Redshift Management
Guide): the database user IAMR:<role> is created at its first sign-in and mapped to the roles its RedshiftDbRoles
tag names, roles that do not exist yet are ignored, and the caller needs tag:GetResources and tag:GetTagKeys. So
the job task roles may call both, and nothing starts a job before an operator says migrate has run: the compute
stack makes its schedules DISABLED until SchedulesEnabled=true (the pipeline passes the same parameter), event
ingestion (whose followers start at once) is refused without it, and deploy/README.md's steps say so.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import re
import unittest

import cfn
from cfn import as_list

TAG_ACTIONS = {"tag:GetResources", "tag:GetTagKeys"}


def schedules(values=None):
    compute = cfn.load("compute")
    return {k: r["Properties"] for k, r in cfn.deployed(compute, values).items() if r["Type"] == "AWS::Scheduler::Schedule"}


class FirstDeployment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deployment = cfn.Deployment()
        cls.compute = cls.deployment.stacks["compute"]
        cls.delivery = cls.deployment.stacks["delivery"]
        cls.iam = cls.deployment.stacks["iam"]["Resources"]

    def test_the_job_task_roles_may_read_their_tags_as_the_sign_in_needs(self):
        for role in ("ApiTaskRole", "KafkaTaskRole"):
            with self.subTest(role=role):
                props = self.iam[role]["Properties"]
                statements = [st for p in props.get("Policies", []) for st in as_list(p["PolicyDocument"]["Statement"])]
                for managed in props.get("ManagedPolicyArns", []):
                    statements += as_list(self.iam[managed["Ref"]]["Properties"]["PolicyDocument"]["Statement"])
                granted = {
                    a: st for st in statements if st["Effect"] == "Allow" for a in as_list(st["Action"])
                }
                self.assertLessEqual(TAG_ACTIONS, set(granted), role)
                for action in TAG_ACTIONS:
                    # Neither action has a resource type ("Actions, resources, and condition keys for AWS Resource
                    # Groups Tagging API"): "*" only.
                    self.assertEqual(granted[action]["Resource"], "*")

    def test_the_schedules_are_created_disabled_until_migrate_has_run(self):
        parameter = self.compute["Parameters"]["SchedulesEnabled"]
        self.assertEqual((parameter["Default"], parameter["AllowedValues"]), ("false", ["false", "true"]))
        off, on = schedules(), schedules({"SchedulesEnabled": "true"})
        self.assertEqual(len(off), 2)
        for name, schedule in off.items():
            self.assertEqual(schedule.get("State"), "DISABLED", name)
        for name, schedule in on.items():
            self.assertEqual(schedule.get("State"), "ENABLED", name)
        for name, schedule in schedules({"SchedulesEnabled": "true", "EventIngestion": "on"}).items():
            self.assertEqual(schedule.get("State"), "ENABLED", name)

    def test_event_ingestion_is_refused_before_the_schedules_are_enabled(self):
        # Followers start as soon as their service exists, so they too wait for migrate.
        self.assertTrue(cfn.rule_failures(self.compute, {"EventIngestion": "on"}))
        self.assertEqual(cfn.rule_failures(self.compute, {"EventIngestion": "on", "SchedulesEnabled": "true"}), [])
        self.assertEqual(cfn.rule_failures(self.compute, {}), [])

    def test_the_pipeline_passes_the_option_with_the_same_default(self):
        parameter = self.delivery["Parameters"]["SchedulesEnabled"]
        self.assertEqual((parameter["Default"], parameter["AllowedValues"]), ("false", ["false", "true"]))
        (deploy,) = [a for s in self.delivery["Resources"]["Pipeline"]["Properties"]["Stages"] if s["Name"] == "Deploy"
                     for a in s["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
        overrides = deploy["Configuration"]["ParameterOverrides"]["Fn::Sub"]
        self.assertIn('"SchedulesEnabled": "${SchedulesEnabled}"', overrides)

    def test_the_readme_enables_the_jobs_only_after_migrate_in_any_order(self):
        readme = (cfn.ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
        steps = {m.group(2): m.start() for m in re.finditer(r"^(\d)\. \*\*(.+?)\*\*", readme, re.M)}
        migrate, first_run = steps["Migrate"], steps["The first run"]
        enable = readme.index("SchedulesEnabled=true")
        self.assertTrue(migrate < first_run < enable, "the schedules are enabled in step 3, after migrate")
        self.assertIn("tag:GetResources", readme)
        # The order does not matter: a run before migrate is named as such, and a later sign-in maps the roles.
        self.assertRegex(readme, r"in any order")


if __name__ == "__main__":
    unittest.main()
