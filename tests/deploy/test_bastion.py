"""The bastion (deploy/bastion.yaml) lets analysts tunnel to the workgroup with Session Manager port forwarding,
with no inbound port, and with SSH only when the deployment names CIDRs for it.

Session Manager needs the SSM agent (Amazon Linux 2023 has it), an instance profile that lets it register and open
its channels, and a path to Systems Manager over HTTPS: a public IP and the internet gateway, or the ssm,
ssmmessages and ec2messages interface endpoints in its subnet.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import unittest

import cfn
from cfn import as_list

# What the agent needs for Session Manager: the actions of the AWS managed policy AWSCloud9SSMInstanceProfile
# ("AWS Managed Policy Reference"), the Session Manager part of AmazonSSMManagedInstanceCore.
SESSION_MANAGER = {
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
}
SSM_ENDPOINTS = {"ssm", "ssmmessages", "ec2messages"}


class Bastion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cfn.Deployment()
        cls.bastion = cls.d.stacks["bastion"]
        cls.resources = cls.bastion["Resources"]
        cls.instance = cls.resources["Bastion"]["Properties"]

    def test_the_instance_profile_lets_the_ssm_agent_serve_sessions_and_nothing_more(self):
        profile = self.resources[self.instance["IamInstanceProfile"]["Ref"]]
        self.assertEqual(profile["Type"], "AWS::IAM::InstanceProfile")
        (role,) = profile["Properties"]["Roles"]
        role = self.resources[role["Ref"]]["Properties"]
        (trust,) = as_list(role["AssumeRolePolicyDocument"]["Statement"])
        self.assertEqual((trust["Effect"], trust["Principal"], trust["Action"]),
                         ("Allow", {"Service": "ec2.amazonaws.com"}, "sts:AssumeRole"))
        self.assertEqual(role.get("ManagedPolicyArns", []), [])
        actions = {
            a
            for policy in role["Policies"]
            for st in as_list(policy["PolicyDocument"]["Statement"])
            if st["Effect"] == "Allow"
            for a in as_list(st["Action"])
        }
        self.assertEqual(actions, SESSION_MANAGER)
        # A resolved AMI id, which the README reads from the Amazon Linux 2023 parameter (tests/deploy/test_hardening.py).
        self.assertIn("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
                      self.bastion["Parameters"]["ImageId"]["Description"])

    def test_the_agent_reaches_systems_manager(self):
        d = self.d
        network = d.stacks["network"]["Resources"]
        # The subnet it runs in.
        subnets = self.instance["NetworkInterfaces"][0]["SubnetId"]["Fn::Select"]
        index, split = subnets
        _, imported = split["Fn::Split"]
        stack, output = d.export(d.resolve("bastion", imported["Fn::ImportValue"]))
        self.assertEqual(stack, "network")
        subnet = output["Value"]["Fn::Join"][1][int(index)]["Ref"]
        (table,) = [r["Properties"]["RouteTableId"]["Ref"] for r in network.values()
                    if r["Type"] == "AWS::EC2::SubnetRouteTableAssociation" and r["Properties"]["SubnetId"] == {"Ref": subnet}]
        through_gateway = any(
            r["Type"] == "AWS::EC2::Route" and "Condition" not in r
            and r["Properties"]["RouteTableId"] == {"Ref": table}
            and r["Properties"].get("DestinationCidrBlock") == "0.0.0.0/0"
            and network[r["Properties"].get("GatewayId", {}).get("Ref", "")]["Type"] == "AWS::EC2::InternetGateway"
            for r in network.values() if "GatewayId" in r.get("Properties", {})
        )
        public = through_gateway and self.instance["NetworkInterfaces"][0].get("AssociatePublicIpAddress") is True
        endpoints = {
            r["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1]
            for r in network.values()
            if r["Type"] == "AWS::EC2::VPCEndpoint" and {"Ref": subnet} in r["Properties"].get("SubnetIds", [])
        }
        self.assertTrue(public or SSM_ENDPOINTS <= endpoints,
                        f"{subnet}: no internet path and no {sorted(SSM_ENDPOINTS - endpoints)} endpoints")
        # Either way over HTTPS.
        egress = self.resources["BastionSecurityGroup"]["Properties"]["SecurityGroupEgress"]
        self.assertTrue(any(r["FromPort"] <= 443 <= r["ToPort"] and r.get("CidrIp") == "0.0.0.0/0" for r in egress))

    def test_ssh_is_open_only_when_cidrs_are_given(self):
        parameters = self.bastion["Parameters"]
        self.assertEqual(parameters["AllowedSshCidrs"]["Default"], "")
        self.assertEqual(parameters["KeyName"]["Default"], "")
        self.assertEqual(self.bastion["Conditions"]["HasSsh"],
                         {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "AllowedSshCidrs"}]}, ""]}]})
        self.assertNotIn("SecurityGroupIngress", self.resources["BastionSecurityGroup"]["Properties"])
        ingress = {k: r for k, r in self.resources.items() if r["Type"] == "AWS::EC2::SecurityGroupIngress"}
        self.assertEqual(len(ingress), 2)
        for logical_id, rule in ingress.items():
            self.assertEqual(rule.get("Condition"), "HasSsh", logical_id)
            self.assertEqual((rule["Properties"]["FromPort"], rule["Properties"]["ToPort"]), (22, 22))
            self.assertEqual(rule["Properties"]["GroupId"], {"Ref": "BastionSecurityGroup"})
        self.assertEqual(self.instance["KeyName"], {"Fn::If": ["HasKeyPair", {"Ref": "KeyName"}, {"Ref": "AWS::NoValue"}]})

    def test_the_rules_refuse_ssh_from_everywhere_and_ssh_without_a_key(self):
        offices = "203.0.113.0/24,198.51.100.0/24"
        self.assertEqual(cfn.rule_failures(self.bastion, {}), [], "Session Manager only, the default")
        self.assertEqual(cfn.rule_failures(self.bastion, {"AllowedSshCidrs": offices, "KeyName": "analysts"}), [])
        self.assertTrue(cfn.rule_failures(self.bastion, {"AllowedSshCidrs": offices}))
        self.assertTrue(cfn.rule_failures(self.bastion, {"AllowedSshCidrs": "0.0.0.0/0,203.0.113.0/24",
                                                         "KeyName": "analysts"}))

    def test_the_readme_shows_the_session_manager_tunnel(self):
        readme = (cfn.DEPLOY / "README.md").read_text(encoding="utf-8")
        for text in ("--document-name AWS-StartPortForwardingSessionToRemoteHost", '"portNumber":["5439"]',
                     '"localPortNumber":["5439"]'):
            self.assertTrue(text in readme, f"deploy/README.md lacks {text}")


if __name__ == "__main__":
    unittest.main()
