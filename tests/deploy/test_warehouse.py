"""The warehouse stack (deploy/warehouse.yaml): its template Rules refuse a base capacity above the maximum,
every name it makes carries the environment (two environments in one account must not collide), its optional
QuickSight slot admits a QuickSight VPC connection to the workgroup and nothing else, and no custom resource's
function reserves concurrency, and its default monthly RPU-hour limit is above what the shipped schedules cost at
least (the usage limit would otherwise trip every month under the default deployment).

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import itertools
import re
import tomllib
import unittest

import cfn

# Properties that name something unique in an account and region (for these resource types).
NAME_PROPERTIES = {"WorkgroupName", "NamespaceName", "LogGroupName", "RoleName", "ManagedPolicyName",
                   "FunctionName", "BucketName", "AliasName"}


def names(template):
    """(logical id, property, value) of every account-unique name a template gives, and of every export."""
    for logical_id, resource in template["Resources"].items():
        for prop, value in resource.get("Properties", {}).items():
            if prop in NAME_PROPERTIES:
                yield logical_id, prop, value
    for output_id, output in template.get("Outputs", {}).items():
        if "Export" in output:
            yield output_id, "Export", output["Export"]["Name"]


class Warehouse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.warehouse = cfn.load("warehouse")
        cls.resources = cls.warehouse["Resources"]

    def test_a_base_capacity_above_the_maximum_is_refused(self):
        parameters = self.warehouse["Parameters"]
        bases = parameters["BaseCapacityRpus"]["AllowedValues"]
        maxima = parameters["MaxCapacityRpus"]["AllowedValues"]
        self.assertEqual(bases, maxima)
        for base, maximum in itertools.product(bases, maxima):
            with self.subTest(base=base, maximum=maximum):
                failures = cfn.rule_failures(
                    self.warehouse, {"BaseCapacityRpus": str(base), "MaxCapacityRpus": str(maximum)})
                if base > maximum:
                    self.assertEqual(failures, ["BaseCapacityRpus must not be above MaxCapacityRpus."])
                else:
                    self.assertEqual(failures, [])
        self.assertLessEqual(int(parameters["BaseCapacityRpus"]["Default"]), int(parameters["MaxCapacityRpus"]["Default"]))

    def test_every_name_the_stacks_give_carries_the_environment(self):
        seen = 0
        for stack, template in cfn.templates().items():
            for logical_id, prop, value in names(template):
                seen += 1
                with self.subTest(stack=stack, resource=logical_id, property=prop):
                    self.assertIsInstance(value, dict, "a literal name collides with another environment's")
                    if set(value) == {"Ref"} and value["Ref"] in template["Resources"]:
                        continue  # another resource's name, checked there
                    self.assertIn("Fn::Sub", value)
                    text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
                    self.assertIn("${Environment}", text)
        self.assertGreater(seen, 40)

    def test_the_workgroup_is_named_for_its_environment_everywhere(self):
        resolved = []
        for environment in ("prod", "staging"):
            d = cfn.Deployment({"Environment": environment})
            (workgroup,) = [r for r in d.stacks["warehouse"]["Resources"].values()
                            if r["Type"] == "AWS::RedshiftServerless::Workgroup"]
            name = d.resolve("warehouse", workgroup["Properties"]["WorkgroupName"])
            self.assertEqual(name, f"{environment}-s3shift")
            self.assertRegex(name, r"^[a-z0-9-]{3,64}$")  # Redshift Serverless's rule for workgroup names
            # The export the compute stack's tasks read.
            _, output = d.export(f"{environment}-s3shift-workgroup")
            self.assertEqual(d.resolve("warehouse", output["Value"]), name)
            resolved.append(name)
        self.assertEqual(len(set(resolved)), 2)
        self.assertNotIn("WorkgroupName", self.warehouse["Parameters"], "a free name can collide again")
        # The analysts' commands name the sample deployment's workgroup.
        readme = (cfn.DEPLOY / "README.md").read_text(encoding="utf-8")
        stale = re.search(r"--workgroup-name s3shift\b|serverlessWorkGroup=s3shift\b", readme)
        self.assertIsNone(stale, "deploy/README.md names the workgroup without its environment")
        self.assertTrue("--workgroup-name prod-s3shift " in readme, "deploy/README.md: get-credentials for prod")

    def test_the_quicksight_slot_is_optional_and_admits_quicksight_to_5439_only(self):
        parameter = self.warehouse["Parameters"]["QuickSightVpcConnection"]
        self.assertEqual((parameter["Default"], parameter["AllowedValues"]), ("false", ["false", "true"]))
        self.assertEqual(self.warehouse["Conditions"]["HasQuickSight"],
                         {"Fn::Equals": [{"Ref": "QuickSightVpcConnection"}, "true"]})
        group = self.resources["QuickSightSecurityGroup"]
        self.assertEqual(group["Condition"], "HasQuickSight")
        props = group["Properties"]
        self.assertEqual(props["VpcId"], self.resources["WarehouseSecurityGroup"]["Properties"]["VpcId"])
        # "Security groups: inbound and outbound rules" (Amazon QuickSight): all TCP from the data source's group.
        (ingress,) = props["SecurityGroupIngress"]
        self.assertEqual((ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]), ("tcp", 0, 65535))
        self.assertEqual(ingress["SourceSecurityGroupId"], {"Ref": "WarehouseSecurityGroup"})
        self.assertNotIn("CidrIp", ingress)
        (egress,) = props["SecurityGroupEgress"]
        self.assertEqual((egress["IpProtocol"], egress["FromPort"], egress["ToPort"]), ("tcp", 5439, 5439))
        self.assertEqual(egress["DestinationSecurityGroupId"], {"Ref": "WarehouseSecurityGroup"})
        # The workgroup admits it on 5439, under the same condition.
        (admits,) = [r for r in self.resources.values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"
                     and r["Properties"].get("SourceSecurityGroupId") == {"Ref": "QuickSightSecurityGroup"}]
        self.assertEqual(admits["Condition"], "HasQuickSight")
        self.assertEqual(admits["Properties"]["GroupId"], {"Ref": "WarehouseSecurityGroup"})
        self.assertEqual((admits["Properties"]["FromPort"], admits["Properties"]["ToPort"]), (5439, 5439))
        (workgroup,) = [r for r in self.resources.values() if r["Type"] == "AWS::RedshiftServerless::Workgroup"]
        self.assertIn({"Ref": "WarehouseSecurityGroup"}, workgroup["Properties"]["SecurityGroupIds"])
        output = self.warehouse["Outputs"]["QuickSightSecurityGroupId"]
        self.assertEqual((output["Condition"], output["Value"]), ("HasQuickSight", {"Ref": "QuickSightSecurityGroup"}))

    def test_no_function_reserves_concurrency(self):
        # Reserving any fails where the account's quota leaves less than 100 unreserved ("Configuring reserved
        # concurrency for a function", AWS Lambda); CloudFormation sends a custom resource one request at a time.
        functions = 0
        for stack, template in cfn.templates().items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] == "AWS::Lambda::Function":
                    functions += 1
                    self.assertNotIn("ReservedConcurrentExecutions", resource["Properties"], f"{stack} {logical_id}")
        self.assertGreaterEqual(functions, 3)
        self.assertFalse(re.search(r"ReservedConcurrentExecutions", (cfn.DEPLOY / "warehouse.yaml").read_text()))

    def test_the_default_usage_limit_is_above_the_shipped_schedules_floor(self):
        # Each run is billed at least 60 s of base capacity (deploy/README.md, "What the cadence costs in the
        # warehouse"; s3shift_jobs::schedule::CadenceCost). Only the minute forms the shipped jobs use are read.
        params = self.warehouse["Parameters"]
        base = int(params["BaseCapacityRpus"]["Default"])
        runs_a_day = 0
        jobs = [j for j in sorted((cfn.ROOT / "jobs").glob("*.toml")) if j.stem != "demo"]
        self.assertEqual([j.stem for j in jobs], ["api-images", "kafka-images"])
        for job in jobs:
            with open(job, "rb") as f:
                sec, minute, hour, dom, month, dow = tomllib.load(f)["schedule"]["cron"].split()
            self.assertEqual((sec, hour, dom, month, dow), ("0", "*", "*", "*", "*"), job.name)
            start, step = (int(x) for x in re.fullmatch(r"(\d+)/(\d+)", minute).groups())
            runs_a_day += 24 * len(range(start, 60, step))
        floor_a_month = runs_a_day * 60 * base / 3600 * 31
        self.assertAlmostEqual(floor_a_month, 992.0)
        self.assertGreater(int(params["MonthlyRpuHours"]["Default"]), floor_a_month)


if __name__ == "__main__":
    unittest.main()
