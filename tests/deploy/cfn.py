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
            # Ref of a queue is its URL ("AWS::SQS::Queue", Return values).
            if resource["Type"] == "AWS::SQS::Queue":
                name = self.resolve(stack, resource["Properties"]["QueueName"])
                region, account = SAMPLE_PSEUDO["AWS::Region"], SAMPLE_PSEUDO["AWS::AccountId"]
                return f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        if kind == "Fn::GetAtt":
            resource_name, attribute = arg
            resource = self.stacks[stack]["Resources"][resource_name]
            if resource["Type"] == "AWS::IAM::Role" and attribute == "Arn":
                role = self.resolve(stack, resource["Properties"]["RoleName"])
                return f"arn:aws:iam::{SAMPLE_PSEUDO['AWS::AccountId']}:role/{role}"
            if resource["Type"] == "AWS::S3::Bucket" and attribute == "Arn":
                return "arn:aws:s3:::" + self.resolve(stack, resource["Properties"]["BucketName"])
            if resource["Type"] == "AWS::SQS::Queue" and attribute == "Arn":
                name = self.resolve(stack, resource["Properties"]["QueueName"])
                return f"arn:aws:sqs:{SAMPLE_PSEUDO['AWS::Region']}:{SAMPLE_PSEUDO['AWS::AccountId']}:{name}"
            if resource["Type"] == "AWS::SQS::Queue" and attribute == "QueueName":
                return self.resolve(stack, resource["Properties"]["QueueName"])
        if kind == "Fn::Select":
            index, items = arg
            return self.resolve(stack, items[int(index)])
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


NO_VALUE = {"Ref": "AWS::NoValue"}


def _equals(arg, evaluate):
    left, right = (evaluate(a) for a in arg)
    return left == right


def _not(arg, evaluate):
    (inner,) = arg
    return not evaluate(inner)


# The functions Conditions and Rules share ("Condition functions"; "Template Rules syntax"): {name: (arguments,
# evaluate) -> bool}.
LOGIC = {
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": lambda arg, evaluate: all(evaluate(a) for a in arg),
    "Fn::Or": lambda arg, evaluate: any(evaluate(a) for a in arg),
}


def evaluator(template, values, more, empty_list=()):
    """An evaluator of condition and rule expressions over the template's parameters (`values`, the others at
    their defaults): literals as text, lists, Ref (a list parameter as its items; an empty one as `empty_list`,
    since Rules see `[""]` where a Condition's Fn::Join sees nothing), the LOGIC functions, and
    `more(kind, arg, evaluate)` for the rest."""
    parameters = template.get("Parameters", {})
    given = {**defaults(template), **values}

    def evaluate(node):
        if isinstance(node, (str, int, float)):
            return str(node)
        if isinstance(node, list):
            return [evaluate(n) for n in node]
        (kind, arg), = node.items()
        if kind == "Ref":
            kind_of = parameters[arg]["Type"]
            if kind_of == "CommaDelimitedList" or kind_of.startswith("List<"):
                return [part.strip() for part in given[arg].split(",")] if given[arg] else list(empty_list)
            return given[arg]
        if kind in LOGIC:
            return LOGIC[kind](arg, evaluate)
        return more(kind, arg, evaluate)

    return evaluate


def condition_values(template, values=None):
    """{condition name: bool} of the template's Conditions for the parameters `values` (the others at their
    defaults), as CloudFormation evaluates them. Only the condition functions ("Condition functions",
    CloudFormation Template Reference) over parameters, and Fn::Join, are known; anything else raises."""
    conditions = template.get("Conditions", {})
    done = {}

    def more(kind, arg, evaluate):
        if kind == "Fn::Join":
            delimiter, items = arg
            return delimiter.join(evaluate(items))
        if kind == "Condition":
            return condition(arg)
        raise AssertionError(f"not a condition function: {kind}")

    evaluate = evaluator(template, values or {}, more)

    def condition(name):
        if name not in done:
            done[name] = evaluate(conditions[name])
        return done[name]

    return {name: condition(name) for name in conditions}


def chosen(node, conditions):
    """`node` with every Fn::If replaced by its chosen branch for `conditions` ({name: bool}), and AWS::NoValue
    dropped where CloudFormation drops it (a property, a list item)."""
    if isinstance(node, list):
        items = [chosen(n, conditions) for n in node]
        return [i for i in items if i != NO_VALUE]
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return chosen(when_true if conditions[name] else when_false, conditions)
        out = {}
        for key, value in node.items():
            value = chosen(value, conditions)
            if value != NO_VALUE:
                out[key] = value
        return out
    return node


def deployed(template, values=None):
    """The resources CloudFormation makes of `template` for the parameters `values` (the others at their
    defaults): {logical id: resource} of those whose Condition holds, with their Fn::If branches chosen."""
    conditions = condition_values(template, values)
    return {
        logical_id: chosen(resource, conditions)
        for logical_id, resource in template.get("Resources", {}).items()
        if conditions.get(resource.get("Condition"), True)
    }


def rule_failures(template, values):
    """The AssertDescription of every template Rules assertion that refuses `values` ({parameter: value as
    given to CloudFormation, a list parameter as its comma-separated text}), as CloudFormation checks them before
    it makes anything. Parameters left out take their defaults. Only the functions a Rules section may use
    ("Template Rules syntax") are known; anything else raises.
    """
    def more(kind, arg, evaluate):
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

    evaluate = evaluator(template, values, more, empty_list=[""])

    failures = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"]):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"]):
                failures.append(assertion["AssertDescription"])
    return failures
