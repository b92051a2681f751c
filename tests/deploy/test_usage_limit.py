"""The warehouse stack's usage-limit custom resource (deploy/warehouse.yaml, UsageLimitFunction), run as
CloudFormation would run it: the inline code is taken from the template, the Redshift Serverless client is a
botocore Stubber that checks every call's parameters, and CloudFormation's pre-signed response URL is a local
HTTP server that records what the function answers.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import unittest

from custom_resource import Context, FunctionTest

WORKGROUP = "arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/0f0f0f0f-1111-2222-3333-444444444444"
OTHER_WORKGROUP = "arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/5e5e5e5e-1111-2222-3333-444444444444"


def usage_limit(limit_id, workgroup, amount, action):
    return {"usageLimit": {
        "usageLimitId": limit_id,
        "usageLimitArn": f"arn:aws:redshift-serverless:eu-west-1:123456789012:usagelimit/{limit_id}",
        "resourceArn": workgroup, "usageType": "serverless-compute", "amount": amount, "period": "monthly",
        "breachAction": action,
    }}


class UsageLimitFunctionTest(FunctionTest):
    FUNCTION = "UsageLimitFunction"

    def event(self, kind, physical=None, amount="300", action="emit-metric", workgroup=WORKGROUP, old=None):
        event = {
            "RequestType": kind, "ResponseURL": self.response_url.url,
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/prod-s3shift-warehouse/guid",
            "RequestId": "req-1", "LogicalResourceId": "UsageLimit", "ResourceType": "AWS::CloudFormation::CustomResource",
            # CloudFormation passes every property as a string.
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "WorkgroupArn": workgroup,
                                   "MonthlyRpuHours": amount, "BreachAction": action},
        }
        if physical is not None:
            event["PhysicalResourceId"] = physical
        if old is not None:
            event["OldResourceProperties"] = old
        return event

    def run_function(self, event):
        self.function.handler(event, Context(), client=self.client)
        self.stub.assert_no_pending_responses()
        self.assertEqual(len(self.response_url.answers), 1, "exactly one answer to CloudFormation")
        answer = self.response_url.answers[0]
        for field in ("StackId", "RequestId", "LogicalResourceId"):
            self.assertEqual(answer[field], event[field])
        return answer

    def test_create_makes_a_monthly_compute_limit_on_the_workgroup(self):
        self.stub.add_response(
            "create_usage_limit", usage_limit("ul-1", WORKGROUP, 300, "emit-metric"),
            {"resourceArn": WORKGROUP, "usageType": "serverless-compute", "amount": 300, "period": "monthly",
             "breachAction": "emit-metric"})
        answer = self.run_function(self.event("Create"))
        self.assertEqual(answer["Status"], "SUCCESS")
        self.assertEqual(answer["PhysicalResourceId"], "ul-1")
        self.assertEqual(answer["Data"], {"UsageLimitId": "ul-1"})

    def test_update_of_amount_or_action_updates_the_same_limit(self):
        self.stub.add_response(
            "update_usage_limit", usage_limit("ul-1", WORKGROUP, 500, "deactivate"),
            {"usageLimitId": "ul-1", "amount": 500, "breachAction": "deactivate"})
        old = {"WorkgroupArn": WORKGROUP, "MonthlyRpuHours": "300", "BreachAction": "emit-metric"}
        answer = self.run_function(self.event("Update", "ul-1", amount="500", action="deactivate", old=old))
        self.assertEqual((answer["Status"], answer["PhysicalResourceId"]), ("SUCCESS", "ul-1"))

    def test_a_new_workgroup_gets_a_new_limit_and_a_new_physical_id(self):
        self.stub.add_response(
            "create_usage_limit", usage_limit("ul-2", OTHER_WORKGROUP, 300, "emit-metric"),
            {"resourceArn": OTHER_WORKGROUP, "usageType": "serverless-compute", "amount": 300,
             "period": "monthly", "breachAction": "emit-metric"})
        old = {"WorkgroupArn": WORKGROUP, "MonthlyRpuHours": "300", "BreachAction": "emit-metric"}
        answer = self.run_function(self.event("Update", "ul-1", workgroup=OTHER_WORKGROUP, old=old))
        # A changed physical id makes CloudFormation delete ul-1 after the update.
        self.assertEqual((answer["Status"], answer["PhysicalResourceId"]), ("SUCCESS", "ul-2"))

    def test_delete_removes_the_limit(self):
        self.stub.add_response("delete_usage_limit", usage_limit("ul-1", WORKGROUP, 300, "emit-metric"),
                               {"usageLimitId": "ul-1"})
        answer = self.run_function(self.event("Delete", "ul-1"))
        self.assertEqual((answer["Status"], answer["PhysicalResourceId"]), ("SUCCESS", "ul-1"))

    def test_delete_of_a_limit_already_gone_succeeds(self):
        self.stub.add_client_error("delete_usage_limit", "ResourceNotFoundException", "no such usage limit",
                                   expected_params={"usageLimitId": "ul-1"})
        answer = self.run_function(self.event("Delete", "ul-1"))
        self.assertEqual(answer["Status"], "SUCCESS")

    def test_a_failed_create_is_reported_and_its_rollback_delete_calls_nothing(self):
        self.stub.add_client_error("create_usage_limit", "ValidationException", "amount must be positive")
        answer = self.run_function(self.event("Create"))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn("Create of the usage limit failed", answer["Reason"])
        self.assertIn("amount must be positive", answer["Reason"])
        physical = answer["PhysicalResourceId"]

        self.response_url.answers.clear()
        answer = self.run_function(self.event("Delete", physical))  # the stub would fail on any call
        self.assertEqual(answer["Status"], "SUCCESS")

    def test_a_bad_property_fails_with_its_reason_instead_of_hanging_the_stack(self):
        answer = self.run_function(self.event("Create", amount="many"))
        self.assertEqual(answer["Status"], "FAILED")
        self.assertIn("many", answer["Reason"])


if __name__ == "__main__":
    unittest.main()
