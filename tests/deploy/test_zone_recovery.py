"""Issue 28, item 6: deploy/README.md's availability-zone check and recovery work.

Before the first deploy the README checks, with the AWS CLI, that each interface endpoint's service is offered in
the three chosen zones (every service network.yaml makes an interface endpoint for, none left out) and how to find
the zone IDs Redshift Serverless takes. Its recovery cannot be "deploy the network stack again with other zones":
a replacement subnet is created before the old one is deleted and asks for the same CIDR, and the bastion stack
imports the subnets' export, which cannot change while imported ("Fn::ImportValue", CloudFormation Template
Reference). It deletes the stacks that import the network's exports first, then the network stack.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import re
import unittest

import cfn


class ZoneRecovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cfn.Deployment()
        readme = (cfn.ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
        start = readme.index("### Availability zones")
        cls.section = readme[start:readme.index("\n### ", start + 1)]

    def interface_services(self, values):
        network = cfn.deployed(self.d.stacks["network"], values)
        return {
            self.d.sub("network", r["Properties"]["ServiceName"]["Fn::Sub"], {"AWS::Region": "REGION"}).split("REGION.")[1]
            for r in network.values()
            if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"].get("VpcEndpointType") == "Interface"
        }

    def test_the_check_covers_every_interface_endpoints_service(self):
        services = self.interface_services({"EventIngestion": "on"})
        self.assertIn("sqs", services)
        self.assertIn("aws ec2 describe-vpc-endpoint-services", self.section)
        listed = set(re.findall(r"com\.amazonaws\.\$region\.([a-z0-9.-]+)", self.section))
        self.assertEqual(listed, services)
        self.assertIn("ServiceDetails[].[ServiceName,AvailabilityZones]", self.section)

    def test_the_recovery_deletes_the_importers_before_the_network(self):
        self.assertNotIn("the subnets are replaced", self.section)
        importers = sorted(
            stack for stack, template in self.d.stacks.items() if stack != "network"
            and any(name.startswith("prod-s3shift-") and self.d.export(name)[0] == "network"
                    for name in (self.d.resolve(stack, v["Fn::ImportValue"]) for v in _imports(template)))
        )
        self.assertIn("bastion", importers)
        network = self.section.index("aws cloudformation delete-stack --stack-name prod-s3shift-network")
        for stack in importers:
            with self.subTest(stack=stack):
                deleted = self.section.index(f"aws cloudformation delete-stack --stack-name prod-s3shift-{stack}")
                self.assertLess(deleted, network)


def _imports(node):
    if isinstance(node, dict):
        if set(node) == {"Fn::ImportValue"}:
            yield node
        else:
            for v in node.values():
                yield from _imports(v)
    elif isinstance(node, list):
        for v in node:
            yield from _imports(v)


if __name__ == "__main__":
    unittest.main()
