"""Issue 28, item 4: a push to main cannot become the database's superuser.

A person approves each release before the production deploy (a manual approval action, "Manual approval
actions in CodePipeline"), and the migrate task, whose role reads the namespace's admin secret, is out of what the
pipeline changes: it lives in its own stack (deploy/migrate.yaml) that an administrator deploys, so the deploy
role may neither register a task definition of its family nor pass or read its role, and the pipeline's role may
update the compute stack only.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import fnmatch
import unittest

import cfn
from cfn import as_list, SAMPLE_PSEUDO


class ReleaseGate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cfn.Deployment()
        cls.iam = cls.d.stacks["iam"]["Resources"]
        cls.stages = cfn.deployed(cls.d.stacks["delivery"])["Pipeline"]["Properties"]["Stages"]
        cls.migrate_role = cls.d.resolve("iam", {"Fn::GetAtt": ["MigrateTaskRole", "Arn"]})
        region, account = SAMPLE_PSEUDO["AWS::Region"], SAMPLE_PSEUDO["AWS::AccountId"]
        cls.migrate_family = f"arn:aws:ecs:{region}:{account}:task-definition/prod-s3shift-migrate:7"

    def statements(self, role):
        return [st for p in self.iam[role]["Properties"]["Policies"] for st in as_list(p["PolicyDocument"]["Statement"])
                if st["Effect"] == "Allow"]

    def test_a_person_approves_before_the_production_deploy(self):
        names = [s["Name"] for s in self.stages]
        deploy = next(i for i, s in enumerate(self.stages)
                      if any(a["ActionTypeId"]["Category"] == "Deploy" for a in s["Actions"]))
        approvals = [i for i, s in enumerate(self.stages) for a in s["Actions"]
                     if a["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}]
        self.assertTrue(approvals, f"no manual approval in {names}")
        self.assertTrue(any(names.index("Build") < i < deploy for i in approvals), names)

    def test_the_compute_stack_holds_no_migrate_task(self):
        compute = self.d.stacks["compute"]["Resources"]
        for logical_id, r in compute.items():
            if r["Type"] == "AWS::ECS::TaskDefinition":
                self.assertNotEqual(r["Properties"]["ContainerDefinitions"][0]["Command"][0], "migrate", logical_id)
                self.assertNotEqual(self.d.imported_resource("compute", r["Properties"]["TaskRoleArn"]),
                                    ("iam", "MigrateTaskRole"), logical_id)
        migrate = self.d.stacks["migrate"]["Resources"]
        (task,) = [r["Properties"] for r in migrate.values() if r["Type"] == "AWS::ECS::TaskDefinition"]
        self.assertEqual(task["ContainerDefinitions"][0]["Command"][0], "migrate")
        self.assertEqual(self.d.imported_resource("migrate", task["TaskRoleArn"]), ("iam", "MigrateTaskRole"))

    def test_the_deploy_role_cannot_touch_the_migrate_task_or_its_role(self):
        for st in self.statements("DeployRole"):
            for resource in as_list(st["Resource"]):
                arn = self.d.resolve("iam", resource)
                with self.subTest(sid=st.get("Sid"), resource=arn):
                    self.assertNotEqual(arn, self.migrate_role)
                    if any(a.startswith("ecs:") for a in as_list(st["Action"])) and arn != "*":
                        self.assertFalse(fnmatch.fnmatchcase(self.migrate_family, arn))

    def test_the_pipeline_updates_the_compute_stack_only(self):
        for st in self.statements("PipelineRole"):
            if any(a.startswith("cloudformation:") and a != "cloudformation:ValidateTemplate" for a in as_list(st["Action"])):
                for resource in as_list(st["Resource"]):
                    arn = self.d.resolve("iam", resource)
                    self.assertTrue(arn.endswith(":stack/prod-s3shift-compute/*"), arn)


if __name__ == "__main__":
    unittest.main()
