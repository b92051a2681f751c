"""The network stack (deploy/network.yaml) gives the tasks and the workgroup every path they use, and nothing
they do not: subnets in three zones the deployer names, a VPC large enough for its subnets, an endpoint for
every AWS service the tasks call (so no NAT gateway, which is optional and off by default), and security groups
that let whatever reaches S3 through the gateway endpoint reach S3's addresses (its managed prefix list).

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import math
import re
import unittest

import cfn
from cfn import as_list
from custom_resource import Context, FunctionTest
from test_task_policy import SERVICES as SDK_CRATES

# Every VPC endpoint the network has, by service, and who needs it. With no NAT gateway, a call to a service
# without an endpoint fails; an endpoint nothing calls costs an hourly charge in each zone for nothing.
# "Migrating to Linux platform version 1.4.0 on Amazon ECS": a Fargate task pulls its image over its own network
# interface, through the ecr.dkr and ecr.api endpoints and the S3 gateway endpoint (the layers).
ENDPOINTS = {
    "s3": ("Gateway", "aws-sdk-s3 (the sources and the staging bucket); ECR image layers"),
    "redshift-data": ("Interface", "aws-sdk-redshiftdata (every statement)"),
    "redshift-serverless": ("Interface", "aws-sdk-redshiftserverless (the doctor's and the preflight's reads)"),
    "logs": ("Interface", "aws-sdk-cloudwatchlogs (--log-to-cloudwatch); the tasks' awslogs log driver"),
    "ecr.api": ("Interface", "the image pull (the ECR API)"),
    "ecr.dkr": ("Interface", "the image pull (the Docker registry API)"),
    # Only with EventIngestion=on (test_the_sqs_endpoint_exists_only_for_event_ingestion).
    "sqs": ("Interface", "aws-sdk-sqs (event-driven ingestion: the --follow services and the scans)"),
}
# The binary's SDK crates (tests/deploy/test_task_policy.py finds their calls) -> the endpoint each one uses.
SDK_ENDPOINTS = {
    "aws-sdk-s3": "s3",
    "aws-sdk-redshiftdata": "redshift-data",
    "aws-sdk-redshiftserverless": "redshift-serverless",
    "aws-sdk-cloudwatchlogs": "logs",
    "aws-sdk-sqs": "sqs",
}
SERVICE_NAME = re.compile(r"^com\.amazonaws\.\$\{AWS::Region\}\.(?P<service>[a-z0-9.-]+)$")


def service_of(endpoint):
    return SERVICE_NAME.match(endpoint["Properties"]["ServiceName"]["Fn::Sub"]).group("service")


def egress_rules(template, group):
    """The egress rules of security group `group` of `template`: inline (Fn::If items with their condition) and
    AWS::EC2::SecurityGroupEgress resources. (condition or None, rule)."""
    for rule in template["Resources"][group]["Properties"].get("SecurityGroupEgress", []):
        if "Fn::If" in rule:
            condition, when_true, when_false = rule["Fn::If"]
            assert when_false == {"Ref": "AWS::NoValue"}, rule
            yield condition, when_true
        else:
            yield None, rule
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::EC2::SecurityGroupEgress" and resource["Properties"]["GroupId"] == {"Ref": group}:
            yield resource.get("Condition"), resource["Properties"]


def allows_443(rule):
    return rule["IpProtocol"] in ("tcp", "6") and int(rule["FromPort"]) <= 443 <= int(rule["ToPort"])


class Network(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cfn.Deployment()
        cls.network = cls.d.stacks["network"]
        cls.resources = cls.network["Resources"]

    def of_type(self, kind):
        return {k: r for k, r in self.resources.items() if r["Type"] == kind}

    # --- zones ---

    def test_subnets_are_in_the_zones_the_deployer_names(self):
        text = (cfn.DEPLOY / "network.yaml").read_text(encoding="utf-8")
        self.assertNotIn("GetAZs", re.sub(r"#.*", "", text), "zone names map to other zone IDs in each account")
        zones = {}
        for logical_id, subnet in self.of_type("AWS::EC2::Subnet").items():
            zone = subnet["Properties"]["AvailabilityZone"]
            self.assertEqual(set(zone), {"Ref"}, logical_id)
            parameter = self.network["Parameters"][zone["Ref"]]
            self.assertEqual(parameter["Type"], "AWS::EC2::AvailabilityZone::Name", logical_id)
            self.assertNotIn("Default", parameter, "a zone name means nothing in another account")
            zones[logical_id] = zone["Ref"]
        private = [zones[s] for s in ("PrivateSubnetA", "PrivateSubnetB", "PrivateSubnetC")]
        self.assertEqual(len(set(private)), 3, "Redshift Serverless needs its three subnets in three zones")

    def test_a_rule_refuses_a_zone_named_twice(self):
        distinct = {"AvailabilityZoneA": "eu-west-1a", "AvailabilityZoneB": "eu-west-1b",
                    "AvailabilityZoneC": "eu-west-1c"}
        self.assertEqual(cfn.rule_failures(self.network, distinct), [])
        for first, second in (("A", "B"), ("A", "C"), ("B", "C")):
            with self.subTest(same=(first, second)):
                values = {**distinct, f"AvailabilityZone{second}": distinct[f"AvailabilityZone{first}"]}
                self.assertTrue(cfn.rule_failures(self.network, values))

    # --- the VPC's size ---

    def test_the_vpc_cidr_pattern_accepts_only_vpcs_the_subnets_fit_in(self):
        pattern = self.network["Parameters"]["VpcCidr"]["AllowedPattern"]
        # Every subnet is one block of the same !Cidr [VpcCidr, count, host bits].
        cidrs = set()
        for subnet in self.of_type("AWS::EC2::Subnet").values():
            index, carved = subnet["Properties"]["CidrBlock"]["Fn::Select"]
            block, count, bits = carved["Fn::Cidr"]
            self.assertEqual(block, {"Ref": "VpcCidr"})
            self.assertLess(int(index), int(count))
            cidrs.add((int(count), int(bits)))
        ((count, bits),) = cidrs
        longest = 32 - int(math.log2(count * 2**bits))  # the longest prefix with room for all the blocks
        self.assertEqual(longest, 21)
        for prefix in range(16, longest + 1):
            self.assertRegex(f"10.40.0.0/{prefix}", pattern)
        for prefix in (longest + 1, 22, 24, 28):
            self.assertNotRegex(f"10.40.0.0/{prefix}", pattern, "too small for the subnets carved from it")
        self.assertNotRegex("10.40.0.0/15", pattern, "a VPC is /16 at most")
        self.assertRegex(self.network["Parameters"]["VpcCidr"]["Default"], pattern)

    # --- the NAT gateway ---

    def test_the_nat_gateway_is_optional_and_off_by_default(self):
        parameter = self.network["Parameters"]["WithNatGateway"]
        self.assertEqual((parameter["Default"], parameter["AllowedValues"]), ("false", ["false", "true"]))
        self.assertEqual(self.network["Conditions"]["HasNat"], {"Fn::Equals": [{"Ref": "WithNatGateway"}, "true"]})
        nat = {**self.of_type("AWS::EC2::NatGateway"), **self.of_type("AWS::EC2::EIP")}
        nat.update({k: r for k, r in self.of_type("AWS::EC2::Route").items() if "NatGatewayId" in r["Properties"]})
        self.assertEqual(len(nat), 3)
        for logical_id, resource in nat.items():
            self.assertEqual(resource.get("Condition"), "HasNat", logical_id)
        # Without it, the tasks may send HTTPS nowhere but to the endpoints.
        for condition, rule in egress_rules(self.network, "TaskSecurityGroup"):
            if rule.get("CidrIp") == "0.0.0.0/0":
                self.assertEqual(condition, "HasNat")

    # --- the endpoints ---

    def test_the_sqs_endpoint_exists_only_for_event_ingestion(self):
        parameter = self.network["Parameters"]["EventIngestion"]
        self.assertEqual((parameter["Default"], parameter["AllowedValues"]), ("off", ["off", "on"]))
        self.assertEqual(self.network["Conditions"]["EventsOn"], {"Fn::Equals": [{"Ref": "EventIngestion"}, "on"]})
        for logical_id, endpoint in self.of_type("AWS::EC2::VPCEndpoint").items():
            with self.subTest(endpoint=logical_id):
                self.assertEqual(endpoint.get("Condition"), "EventsOn" if service_of(endpoint) == "sqs" else None)
        services = {
            ingestion: {service_of(r) for r in cfn.deployed(self.network, {"EventIngestion": ingestion}).values()
                        if r["Type"] == "AWS::EC2::VPCEndpoint"}
            for ingestion in ("off", "on")
        }
        self.assertEqual(services["on"] - services["off"], {"sqs"})
        self.assertNotIn("sqs", services["off"])

    def test_every_endpoint_serves_something_the_tasks_call_and_every_call_has_one(self):
        found = {service_of(e): e["Properties"]["VpcEndpointType"] for e in self.of_type("AWS::EC2::VPCEndpoint").values()}
        self.assertEqual(found, {service: kind for service, (kind, _) in ENDPOINTS.items()})
        # Each SDK crate of the binary has its endpoint.
        self.assertEqual(set(SDK_ENDPOINTS), set(SDK_CRATES), "an SDK crate was added or dropped: map it here")
        self.assertLessEqual(set(SDK_ENDPOINTS.values()), set(ENDPOINTS))
        # The image comes from this deployment's ECR repository, and the tasks log through awslogs.
        compute = self.d.stacks["compute"]["Resources"]
        containers = [
            c for r in compute.values() if r["Type"] == "AWS::ECS::TaskDefinition"
            for c in r["Properties"]["ContainerDefinitions"]
        ]
        self.assertTrue(containers)
        for container in containers:
            self.assertIn("${Repository.RepositoryUri}", container["Image"]["Fn::Sub"])
            self.assertEqual(container["LogConfiguration"]["LogDriver"], "awslogs")

    def test_interface_endpoints_are_in_the_tasks_subnets_and_admit_them(self):
        private = [{"Ref": s} for s in ("PrivateSubnetA", "PrivateSubnetB", "PrivateSubnetC")]
        for logical_id, endpoint in self.of_type("AWS::EC2::VPCEndpoint").items():
            props = endpoint["Properties"]
            if props["VpcEndpointType"] != "Interface":
                continue
            with self.subTest(endpoint=logical_id):
                self.assertIs(props["PrivateDnsEnabled"], True)
                self.assertEqual(props["SubnetIds"], private)
                (group,) = props["SecurityGroupIds"]
                ingress = self.resources[group["Ref"]]["Properties"]["SecurityGroupIngress"]
                self.assertTrue(any(allows_443(r) and r.get("CidrIp") == {"Ref": "VpcCidr"} for r in ingress))
        self.assertTrue(any(allows_443(r) and r.get("CidrIp") == {"Ref": "VpcCidr"}
                            for c, r in egress_rules(self.network, "TaskSecurityGroup") if c is None))

    # --- S3 through the gateway endpoint ---

    def test_what_reaches_s3_through_the_gateway_endpoint_may_send_to_its_prefix_list(self):
        d = self.d
        (gateway,) = [e for e in self.of_type("AWS::EC2::VPCEndpoint").values() if service_of(e) == "s3"]
        lookup = self.resources["S3PrefixList"]["Properties"]
        self.assertEqual(d.resolve("network", lookup["ServiceName"]), d.resolve("network", gateway["Properties"]["ServiceName"]))
        self.assertEqual(lookup["ServiceToken"], {"Fn::GetAtt": ["S3PrefixListFunction", "Arn"]})
        prefix_list = {"Fn::GetAtt": ["S3PrefixList", "PrefixListId"]}
        routed = {t["Ref"] for t in gateway["Properties"]["RouteTableIds"]}
        route_tables = {
            r["Properties"]["SubnetId"]["Ref"]: r["Properties"]["RouteTableId"]["Ref"]
            for r in self.of_type("AWS::EC2::SubnetRouteTableAssociation").values()
        }

        def subnets(stack, value):
            """The network's subnets behind a `!Split [",", !ImportValue ...]`."""
            delimiter, imported = value["Fn::Split"]
            self.assertEqual(delimiter, ",")
            source, output = d.export(d.resolve(stack, imported["Fn::ImportValue"]))
            self.assertEqual(source, "network")
            return [s["Ref"] for s in output["Value"]["Fn::Join"][1]]

        # Who talks to S3 through it: the tasks (their own calls and the image pull) and the workgroup (COPY,
        # with enhanced VPC routing). Their groups and subnets, as the compute and warehouse stacks give them.
        owners = []
        for resource in d.stacks["compute"]["Resources"].values():
            network = None
            if resource["Type"] == "AWS::Scheduler::Schedule":
                network = resource["Properties"]["Target"]["EcsParameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
            elif resource["Type"] == "AWS::ECS::Service":  # the --follow services of event-driven ingestion
                network = resource["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
            if network:
                for group in network["SecurityGroups"]:
                    owners.append((d.imported_resource("compute", group), subnets("compute", network["Subnets"])))
        (workgroup,) = [r["Properties"] for r in d.stacks["warehouse"]["Resources"].values()
                        if r["Type"] == "AWS::RedshiftServerless::Workgroup"]
        self.assertIs(workgroup["EnhancedVpcRouting"], True)
        for group in workgroup["SecurityGroupIds"]:
            owners.append((("warehouse", group["Ref"]), subnets("warehouse", workgroup["SubnetIds"])))
        self.assertEqual({o[0] for o in owners}, {("network", "TaskSecurityGroup"), ("warehouse", "WarehouseSecurityGroup")})

        for (stack, group), in_subnets in owners:
            with self.subTest(group=f"{stack} {group}"):
                for subnet in in_subnets:
                    self.assertIn(route_tables[subnet], routed, f"{subnet} does not route S3 to the gateway endpoint")
                targets = []
                for condition, rule in egress_rules(d.stacks[stack], group):
                    if condition is None and allows_443(rule) and "DestinationPrefixListId" in rule:
                        target = rule["DestinationPrefixListId"]
                        if "Fn::ImportValue" in target:
                            source, output = d.export(d.resolve(stack, target["Fn::ImportValue"]))
                            self.assertEqual(source, "network")
                            target = output["Value"]
                        targets.append(target)
                self.assertIn(prefix_list, targets, "no egress on 443 to the S3 prefix list: COPY or S3 calls hang")


class S3PrefixListFunctionTest(FunctionTest):
    """The network stack's S3PrefixList custom resource, run as CloudFormation would run it."""

    FUNCTION = "S3PrefixListFunction"
    STACK = "network"
    SERVICE = "ec2"
    NAME = "com.amazonaws.eu-west-1.s3"

    def event(self, kind, physical=None):
        event = {
            "RequestType": kind, "ResponseURL": self.response_url.url,
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/prod-s3shift-network/guid",
            "RequestId": "req-1", "LogicalResourceId": "S3PrefixList",
            "ResourceType": "AWS::CloudFormation::CustomResource",
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "ServiceName": self.NAME},
        }
        if physical is not None:
            event["PhysicalResourceId"] = physical
        return event

    def answers(self, *ids, token=None, after=None):
        page = {"PrefixLists": [
            {"PrefixListId": i, "PrefixListName": self.NAME, "AddressFamily": "IPv4", "OwnerId": "AWS"} for i in ids
        ]}
        if token:
            page["NextToken"] = token
        request = {"Filters": [{"Name": "prefix-list-name", "Values": [self.NAME]}]}
        if after:
            request["NextToken"] = after
        self.stub.add_response("describe_managed_prefix_lists", page, request)

    def run_function(self, event):
        self.function.handler(event, Context(), client=self.client)
        self.stub.assert_no_pending_responses()
        self.assertEqual(len(self.response_url.answers), 1, "exactly one answer to CloudFormation")
        return self.response_url.answers[0]

    def test_create_and_update_answer_the_prefix_list_id(self):
        for kind, physical in (("Create", None), ("Update", "pl-6da54004")):
            with self.subTest(kind=kind):
                self.response_url.answers.clear()
                self.answers("pl-6da54004")
                answer = self.run_function(self.event(kind, physical))
                self.assertEqual((answer["Status"], answer["PhysicalResourceId"]), ("SUCCESS", "pl-6da54004"))
                self.assertEqual(answer["Data"], {"PrefixListId": "pl-6da54004"})

    def test_it_reads_every_page(self):
        self.answers(token="t1")
        self.answers("pl-6da54004", after="t1")
        self.assertEqual(self.run_function(self.event("Create"))["PhysicalResourceId"], "pl-6da54004")

    def test_no_such_list_fails_the_deploy(self):
        self.answers()
        answer = self.run_function(self.event("Create"))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn(self.NAME, answer["Reason"])

    def test_an_api_error_is_reported_and_delete_calls_nothing(self):
        self.stub.add_client_error("describe_managed_prefix_lists", "UnauthorizedOperation", "not authorized")
        answer = self.run_function(self.event("Create"))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn("not authorized", answer["Reason"])
        self.response_url.answers.clear()
        answer = self.run_function(self.event("Delete", answer["PhysicalResourceId"]))  # the stub fails any call
        self.assertEqual(answer["Status"], "SUCCESS")


if __name__ == "__main__":
    unittest.main()
