"""Reading deploy/*.yaml for the deploy tests: CloudFormation YAML with its short-form intrinsics kept in their
long form (`!Ref X` -> {"Ref": "X"}, `!GetAtt A.B` -> {"Fn::GetAtt": ["A", "B"]}, `!Sub s` -> {"Fn::Sub": s}),
and the few resolutions the tests need, for one sample deployment of the stacks with their default parameters.
"""

import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# A sample account and the longest region name AWS has (ap-southeast-7 and others: 14 characters).
SAMPLE_PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "ap-southeast-7",
    "AWS::Partition": "aws",
}


class Loader(yaml.SafeLoader):
    """CloudFormation YAML, short-form intrinsics turned into their long form."""


def _intrinsic(loader, tag, node):
    name = tag.lstrip("!")
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref": value} if name == "Ref" else {f"Fn::{name}": value}


Loader.add_multi_constructor("!", _intrinsic)


def load(name):
    """deploy/<name>.yaml as a dict."""
    with open(DEPLOY / f"{name}.yaml", encoding="utf-8") as f:
        return yaml.load(f, Loader=Loader)


def templates():
    """Every template in deploy/, by stack name (its file's stem)."""
    return {path.stem: load(path.stem) for path in sorted(DEPLOY.glob("*.yaml"))}


def as_list(value):
    return value if isinstance(value, list) else [value]


def defaults(template):
    """The template's parameters at their defaults (parameters without one are left out)."""
    return {k: str(p["Default"]) for k, p in template.get("Parameters", {}).items() if "Default" in p}


class Deployment:
    """Every stack of deploy/ deployed with its default parameters into SAMPLE_PSEUDO's account and region.

    resolve() turns a property value into the string CloudFormation would make of it, following !ImportValue to
    the stack that exports the name, and !Ref / !GetAtt to the resource's name or ARN where the resource sets its
    name. Anything else raises, so a test never compares a value it could not work out.
    """

    def __init__(self, overrides=None):
        self.stacks = templates()
        self.params = {name: {**defaults(t), **(overrides or {})} for name, t in self.stacks.items()}

    def sub(self, stack, text, variables=None):
        values = {**SAMPLE_PSEUDO, **self.params[stack], **(variables or {})}

        def one(match):
            key = match.group(1)
            if key in values:
                return values[key]
            if "." in key:
                resource, attribute = key.split(".", 1)
                return self.resolve(stack, {"Fn::GetAtt": [resource, attribute]})
            return self.resolve(stack, {"Ref": key})

        # ${!Literal} is written out as ${Literal} ("Fn::Sub": an IAM policy variable such as ${aws:userid}).
        return re.sub(r"\$\{([^}!]+)\}", one, text).replace("${!", "${")

    def export(self, name):
        """(stack, output) of the output exported as `name`."""
        found = [
            (stack, output)
            for stack, template in self.stacks.items()
            for output in template.get("Outputs", {}).values()
            if "Export" in output and self.resolve(stack, output["Export"]["Name"]) == name
        ]
        if len(found) != 1:
            raise AssertionError(f"export {name!r} is made by {len(found)} stacks, not one")
        return found[0]

    def resolve(self, stack, value):
        if isinstance(value, str):
            return value
        (kind, arg), = value.items()
        if kind == "Fn::Sub":
            if isinstance(arg, list):
                text, variables = arg
                return self.sub(stack, text, {k: self.resolve(stack, v) for k, v in variables.items()})
            return self.sub(stack, arg)
        if kind == "Fn::ImportValue":
            source, output = self.export(self.resolve(stack, arg))
            return self.resolve(source, output["Value"])
        if kind == "Ref":
            if arg in self.params[stack]:
                return self.params[stack][arg]
            if arg in SAMPLE_PSEUDO:
                return SAMPLE_PSEUDO[arg]
            resource = self.stacks[stack]["Resources"][arg]
            if resource["Type"] == "AWS::S3::Bucket":
                return self.resolve(stack, resource["Properties"]["BucketName"])
            # Ref of a Serverless workgroup or namespace is its name (the resource's primary identifier).
            if resource["Type"] == "AWS::RedshiftServerless::Workgroup":
                return self.resolve(stack, resource["Properties"]["WorkgroupName"])
            if resource["Type"] == "AWS::RedshiftServerless::Namespace":
                return self.resolve(stack, resource["Properties"]["NamespaceName"])
        if kind == "Fn::GetAtt":
            resource_name, attribute = arg
            resource = self.stacks[stack]["Resources"][resource_name]
            if resource["Type"] == "AWS::IAM::Role" and attribute == "Arn":
                role = self.resolve(stack, resource["Properties"]["RoleName"])
                return f"arn:aws:iam::{SAMPLE_PSEUDO['AWS::AccountId']}:role/{role}"
            if resource["Type"] == "AWS::S3::Bucket" and attribute == "Arn":
                return "arn:aws:s3:::" + self.resolve(stack, resource["Properties"]["BucketName"])
        raise AssertionError(f"{stack}: cannot resolve {value!r}")

    def imported_resource(self, stack, value):
        """(stack, logical id) of the resource that an !ImportValue in `stack` points at."""
        (kind, arg), = value.items()
        if kind == "Fn::ImportValue":
            stack, output = self.export(self.resolve(stack, arg))
            target = output["Value"]
            (target_kind, target_arg), = target.items()
            return stack, target_arg if target_kind == "Ref" else target_arg[0]
        raise AssertionError(f"not an import: {value!r}")


def rule_failures(template, values):
    """The AssertDescription of every template Rules assertion that refuses `values` ({parameter: value as
    given to CloudFormation, a list parameter as its comma-separated text}), as CloudFormation checks them before
    it makes anything. Parameters left out take their defaults. Only the functions a Rules section may use
    ("Template Rules syntax") are known; anything else raises.
    """
    parameters = template.get("Parameters", {})
    given = {**defaults(template), **values}

    def value(name):
        text = given[name]
        if parameters[name]["Type"] == "CommaDelimitedList" or parameters[name]["Type"].startswith("List<"):
            return [part.strip() for part in text.split(",")]
        return text

    def evaluate(node):
        if isinstance(node, (str, int, float)):
            return str(node)
        if isinstance(node, list):
            return [evaluate(n) for n in node]
        (kind, arg), = node.items()
        if kind == "Ref":
            return value(arg)
        if kind == "Fn::Equals":
            left, right = (evaluate(a) for a in arg)
            return left == right
        if kind == "Fn::Not":
            (inner,) = arg
            return not evaluate(inner)
        if kind == "Fn::And":
            return all(evaluate(a) for a in arg)
        if kind == "Fn::Or":
            return any(evaluate(a) for a in arg)
        if kind == "Fn::Contains":
            haystack, needle = (evaluate(a) for a in arg)
            return needle in haystack
        if kind == "Fn::EachMemberEquals":
            members, wanted = (evaluate(a) for a in arg)
            return all(m == wanted for m in members)
        if kind == "Fn::EachMemberIn":
            members, allowed = (evaluate(a) for a in arg)
            return all(m in allowed for m in members)
        raise AssertionError(f"not a Rules function: {kind}")

    failures = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"]):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"]):
                failures.append(assertion["AssertDescription"])
    return failures
