"""s3shift's own checkov policies for deploy/*.yaml (loaded by scripts/test with --external-checks-dir).

Each rule is one the product relies on, stricter than checkov's built-in checks:
  CKV_S3SHIFT_1  every bucket is SSE-KMS with a customer key and bucket keys
  CKV_S3SHIFT_2  ingestion buckets (tag s3shift:bucket-role=ingestion) expire every object after exactly 7 days
  CKV_S3SHIFT_3  every bucket policy denies requests without TLS (aws:SecureTransport=false) on bucket and objects
  CKV_S3SHIFT_4  no security group opens SSH (or all ports) to 0.0.0.0/0 or ::/0
  CKV_S3SHIFT_5  Redshift (Serverless workgroups and provisioned clusters) says PubliclyAccessible: false
CKV_S3SHIFT_6 (every bucket has a bucket policy) is a graph policy: bucket_has_policy.yaml.

For encryption, expiry and public access, a value hidden behind an intrinsic function that checkov cannot resolve
(a Ref to a parameter without default, an ImportValue) cannot be proven, so it fails. SSH CIDRs are the
exception: they come from parameters by design, and bastion.yaml's template Rules refuse 0.0.0.0/0 at deploy time.
"""

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

INGESTION_EXPIRY_DAYS = 7
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


def _props(conf):
    props = conf.get("Properties")
    return props if isinstance(props, dict) else {}


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _tags(props):
    tags = {}
    for tag in _as_list(props.get("Tags")):
        if isinstance(tag, dict) and isinstance(tag.get("Key"), str):
            tags[tag["Key"]] = tag.get("Value")
    return tags


def _text(value):
    """The text of a literal or of the string part of Fn::Sub / Fn::Join / Fn::GetAtt, for pattern checks."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return sub if isinstance(sub, str) else _text(sub[0] if isinstance(sub, list) and sub else None)
        if "Fn::Join" in value:
            args = value["Fn::Join"]
            if isinstance(args, list) and len(args) == 2 and isinstance(args[1], list):
                return str(args[0]).join(_text(part) for part in args[1])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            if isinstance(target, str):
                target = target.split(".", 1)
            if isinstance(target, list) and len(target) == 2:
                return "${%s.%s}" % (target[0], target[1])
        if "Ref" in value:
            return "${%s}" % value["Ref"]
    return ""


def _int(value):
    """An integer from a literal (CloudFormation allows numbers as strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


class BucketSseKms(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="s3shift: S3 bucket encrypts with SSE-KMS, a customer key and bucket keys",
            id="CKV_S3SHIFT_1",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::S3::Bucket"],
        )

    def scan_resource_conf(self, conf):
        rules = _props(conf).get("BucketEncryption", {})
        rules = rules.get("ServerSideEncryptionConfiguration") if isinstance(rules, dict) else None
        rules = _as_list(rules)
        if not rules:
            return CheckResult.FAILED
        for rule in rules:
            if not isinstance(rule, dict):
                return CheckResult.FAILED
            default = rule.get("ServerSideEncryptionByDefault") or {}
            if not isinstance(default, dict) or default.get("SSEAlgorithm") != "aws:kms":
                return CheckResult.FAILED
            key = default.get("KMSMasterKeyID")
            # No key, or the AWS-managed key, is not a customer key.
            if key is None or (isinstance(key, str) and key.endswith("alias/aws/s3")):
                return CheckResult.FAILED
            if rule.get("BucketKeyEnabled") is not True:
                return CheckResult.FAILED
        return CheckResult.PASSED


class IngestionExpiry(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="s3shift: ingestion bucket expires every object 7 days after upload",
            id="CKV_S3SHIFT_2",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["AWS::S3::Bucket"],
        )

    def scan_resource_conf(self, conf):
        props = _props(conf)
        if _tags(props).get("s3shift:bucket-role") != "ingestion":
            return CheckResult.UNKNOWN
        lifecycle = props.get("LifecycleConfiguration") or {}
        rules = _as_list(lifecycle.get("Rules")) if isinstance(lifecycle, dict) else []
        for rule in rules:
            if not isinstance(rule, dict) or rule.get("Status") != "Enabled":
                continue
            # The rule must cover every object: no prefix, tag or size filter.
            if rule.get("Prefix") not in (None, "") or rule.get("TagFilters"):
                continue
            if any(rule.get(k) is not None for k in ("ObjectSizeGreaterThan", "ObjectSizeLessThan")):
                continue
            if _int(rule.get("ExpirationInDays")) == INGESTION_EXPIRY_DAYS:
                return CheckResult.PASSED
        return CheckResult.FAILED


class BucketPolicyTlsOnly(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="s3shift: bucket policy denies every request made without TLS",
            id="CKV_S3SHIFT_3",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::S3::BucketPolicy"],
        )

    @staticmethod
    def _denies_plain_http(statement):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            return False
        if statement.get("Principal") not in ("*", {"AWS": "*"}):
            return False
        if "s3:*" not in _as_list(statement.get("Action")):
            return False
        condition = statement.get("Condition") or {}
        flag = condition.get("Bool", {}).get("aws:SecureTransport") if isinstance(condition, dict) else None
        if str(flag).lower() != "false":
            return False
        # Both the bucket and its objects: one resource without "/*" and one with it.
        resources = [_text(r) for r in _as_list(statement.get("Resource"))]
        return any(r.endswith("/*") for r in resources) and any(r and not r.endswith("/*") for r in resources)

    def scan_resource_conf(self, conf):
        document = _props(conf).get("PolicyDocument") or {}
        statements = _as_list(document.get("Statement")) if isinstance(document, dict) else []
        if any(self._denies_plain_http(s) for s in statements):
            return CheckResult.PASSED
        return CheckResult.FAILED


class NoOpenSsh(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="s3shift: no security group rule opens SSH to the whole internet",
            id="CKV_S3SHIFT_4",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress"],
        )

    @staticmethod
    def _opens_ssh(rule):
        if not isinstance(rule, dict):
            return False
        if not ({str(rule.get("CidrIp")), str(rule.get("CidrIpv6"))} & OPEN_CIDRS):
            return False
        if str(rule.get("IpProtocol")) in ("-1", "all"):
            return True
        low, high = _int(rule.get("FromPort")), _int(rule.get("ToPort"))
        if low is None or high is None:
            return True  # a port range that cannot be read could include 22
        return low <= 22 <= high

    def scan_resource_conf(self, conf):
        props = _props(conf)
        if self.entity_type == "AWS::EC2::SecurityGroupIngress":
            rules = [props]
        else:
            rules = _as_list(props.get("SecurityGroupIngress"))
        if any(self._opens_ssh(rule) for rule in rules):
            return CheckResult.FAILED
        return CheckResult.PASSED


class RedshiftPrivate(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="s3shift: Redshift is not publicly accessible (explicitly false)",
            id="CKV_S3SHIFT_5",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["AWS::RedshiftServerless::Workgroup", "AWS::Redshift::Cluster"],
        )

    def scan_resource_conf(self, conf):
        props = _props(conf)
        if self.entity_type == "AWS::RedshiftServerless::Workgroup":
            workgroup = props.get("Workgroup")
            value = workgroup.get("PubliclyAccessible") if isinstance(workgroup, dict) else None
            if value is None:
                value = props.get("PubliclyAccessible")
        else:
            value = props.get("PubliclyAccessible")
        return CheckResult.PASSED if str(value).lower() == "false" else CheckResult.FAILED


BucketSseKms()
IngestionExpiry()
BucketPolicyTlsOnly()
NoOpenSsh()
RedshiftPrivate()
