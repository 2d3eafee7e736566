#!/usr/bin/env python3
"""Least privilege both ways, from what the code really calls.

`infra/aws-calls.json` is every AWS call each function binary made in the integration tests
(tests/tests/e2e/aws_calls.rs: the binary run under a Lambda Runtime API, its calls recorded
at the wire, at start and per route or event kind, with the custom domain on and off). This
script evaluates them against each function's role in the *translated* template (what
CloudFormation receives: SAM's generated roles, managed policies and conditions included),
under every parameter set a deployment can choose (custom domain on and off, customer-managed
key on and off, alarm e-mail on and off):

- every call the code makes, and every call Lambda makes with the function's role on its
  behalf (its log group, its queues and stream as an event source, its dead-letter and
  on-failure destinations, the customer-managed key those need), is allowed and not denied;
- every permission the role grants is used by one of those calls, or is in EXCEPTIONS below
  with the reason it is kept.

Usage: iam_check.py TRANSLATED.json [CALLS.json]. Exit 1 with every finding."""

import json
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from checks import listed, parameter_sets, resolve  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
REGION, ACCOUNT = "ap-southeast-3", "123456789012"

# AWS managed policies a translated role may name, as AWS publishes them (AWS Managed Policy
# Reference Guide).
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"},
    ],
}

# What a call on a resource encrypted with the customer-managed key needs of that key, as each
# service documents it: SQS (Amazon SQS Developer Guide, "Key management": a producer needs
# kms:GenerateDataKey and kms:Decrypt, a consumer kms:Decrypt), Secrets Manager ("Secret
# encryption and decryption": GetSecretValue needs kms:Decrypt), S3 ("Using server-side
# encryption with AWS KMS keys": PutObject needs kms:GenerateDataKey, GetObject kms:Decrypt).
# DynamoDB tables and their streams need nothing of the caller's role: DynamoDB uses the key
# through the grants it creates with the table, under the key policy (docs/deploy.md).
KMS_NEEDS = {
    "sqs:SendMessage": ["kms:GenerateDataKey", "kms:Decrypt"],
    "sqs:ReceiveMessage": ["kms:Decrypt"],
    "secretsmanager:GetSecretValue": ["kms:Decrypt"],
    "s3:PutObject": ["kms:GenerateDataKey"],
    "s3:GetObject": ["kms:Decrypt"],
}

# Permissions no recorded call uses, kept on purpose: (function, action, resource) → why.
EXCEPTIONS = {
    ("AuditCheckpointFunction", "dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/EphemeralTable"):
        "Service::kept_head_beyond (sapk-core service/audit.rs) reads the system chain's kept "
        "head when the checkpoint's own audit append loses a race and the chain's head did not "
        "move, which happens only when records were removed from the trail; the test scenario "
        "cannot make that race. Held to audithead# items by dynamodb:LeadingKeys.",
}


class Template:
    def __init__(self, t):
        self.t = t
        self.res = t["Resources"]
        self.params = t.get("Parameters", {})

    def arn(self, name):
        """The ARN of a resource (or an ARN parameter), in a symbolic account and region."""
        if name == "KmsKeyArn":
            return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/KmsKeyArn"
        kind = self.res[name]["Type"]
        return {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        }.get(kind, f"arn:unknown:{kind}:{name}")

    def ref(self, name):
        if name in self.params:
            return self.arn(name) if name == "KmsKeyArn" else name
        kind = self.res[name]["Type"]
        if kind in ("AWS::SecretsManager::Secret", "AWS::SNS::Topic"):
            return self.arn(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        return name

    def getatt(self, name, attr):
        if attr == "Arn":
            arn = self.arn(name)
            return arn
        if attr == "StreamArn":
            return f"{self.arn(name)}/stream/2026-01-01T00:00:00.000"
        return f"{name}.{attr}"

    def render(self, v):
        """A policy value (Ref, GetAtt, Sub, Join) as text."""
        if isinstance(v, str):
            return v
        if "Ref" in v:
            return self.ref(v["Ref"])
        if "Fn::GetAtt" in v:
            name, attr = v["Fn::GetAtt"] if isinstance(v["Fn::GetAtt"], list) else v["Fn::GetAtt"].split(".", 1)
            return self.getatt(name, attr)
        if "Fn::Sub" in v:
            text = v["Fn::Sub"] if isinstance(v["Fn::Sub"], str) else v["Fn::Sub"][0]
            fixed = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}

            def one(m):
                key = m.group(1)
                if key in fixed:
                    return fixed[key]
                if "." in key:
                    return self.getatt(*key.split(".", 1))
                return self.ref(key)
            return re.sub(r"\$\{([^}]+)\}", one, text)
        if "Fn::Join" in v:
            sep, parts = v["Fn::Join"]
            if isinstance(parts, dict):
                # A list parameter joined: its name stands for the people's roles it holds.
                return self.render(parts)
            return sep.join(self.render(p) for p in parts)
        raise ValueError(f"cannot render {v}")

    def role_statements(self, function, conds):
        props = self.res[function]["Properties"]
        role = self.res[props["Role"]["Fn::GetAtt"][0]]["Properties"]
        out = []
        for arn in role.get("ManagedPolicyArns", []):
            arn = self.render(arn)
            if arn not in MANAGED:
                raise ValueError(f"{function}: managed policy {arn} is not in MANAGED")
            out += MANAGED[arn]
        for policy in resolve(role.get("Policies", []), conds):
            out += listed(policy["PolicyDocument"].get("Statement", []))
        def condition(c):
            return {
                op: {k: [self.render(v) for v in listed(vals)] for k, vals in keys.items()}
                for op, keys in c.items()
            }
        return [
            (st["Effect"], listed(st["Action"]), [self.render(r) for r in listed(st["Resource"])], condition(st.get("Condition", {})))
            for st in out
        ]


def pattern(p, case_sensitive=True):
    """An IAM pattern (`*`, `?`) as a regex."""
    flags = 0 if case_sensitive else re.I
    return re.compile("^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in p) + "$", flags)


def matches(p, s):
    """A resource or condition value: case-sensitive, as IAM compares ARNs."""
    return bool(pattern(p).match(s))


def action_matches(p, s):
    """An action: IAM compares action names without regard to case."""
    return bool(pattern(p, case_sensitive=False).match(s))


def recorded(t, calls):
    """The recorded calls as (action, ARN, context): a listing's `?prefix=` becomes the
    `s3:prefix` condition key."""
    out = set()
    for action, resource in calls:
        resource, _, query = resource.partition("?")
        keys = {"prefix": "s3:prefix", "leading": "dynamodb:LeadingKeys"}
        context = tuple(sorted((keys[k], v) for k, _, v in [q.partition("=") for q in query.split("&") if q]))
        if resource == "*":
            out.add((action, "*", context))
            continue
        if resource.startswith(("identity/", "configuration-set/")):
            out.add((action, f"arn:aws:ses:{REGION}:{ACCOUNT}:{resource}", context))
            continue
        if resource.startswith(("application:", "deploymentgroup:")):
            out.add((action, f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:{resource}", context))
            continue
        if resource.startswith("function:"):
            out.add((action, f"arn:aws:lambda:{REGION}:{ACCOUNT}:{resource}", context))
            continue
        name, _, rest = resource.partition("/")
        arn = t.arn(name)
        out.add((action, arn + ("/" + rest.replace("*", "x") if rest else ""), context))
    return out


def condition_holds(condition, context):
    """A statement's condition on a call's context: StringLike and StringEquals on keys the
    call sets (a key the call does not set fails); any other operator is not understood."""
    ctx = dict(context)
    for op, keys in condition.items():
        # One value per key here, so ForAllValues: is the plain operator on it.
        op = op.removeprefix("ForAllValues:")
        if op not in ("StringLike", "StringEquals"):
            raise ValueError(f"condition operator {op} is not understood by infra/iam_check.py")
        for key, want in keys.items():
            have = ctx.get(key)
            if have is None:
                return False
            if not any(matches(w, have) if op == "StringLike" else w == have for w in listed(want)):
                return False
    return True


def platform_calls(t, function):
    """What Lambda does with the function's role: writes its logs, polls its queues and
    streams, sends failed events to its dead-letter queue and on-failure destinations
    (AWS Lambda Developer Guide: "Lambda execution role", "Using Lambda with Amazon SQS",
    "Using AWS Lambda with Amazon DynamoDB", "Dead-letter queues")."""
    props = t.res[function]["Properties"]
    out = set()
    group = props.get("LoggingConfig", {}).get("LogGroup")
    if group:
        stream = t.arn(group["Ref"]).removesuffix(":*") + ":log-stream:2026/12/06/[1]abc"
        out |= {("logs:CreateLogStream", stream, ()), ("logs:PutLogEvents", stream, ())}
    else:
        default = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function}"
        out |= {("logs:CreateLogGroup", default, ()), ("logs:CreateLogStream", default + ":log-stream:x", ()), ("logs:PutLogEvents", default + ":log-stream:x", ())}
    dlq = props.get("DeadLetterConfig", {}).get("TargetArn")
    if dlq:
        out.add(("sqs:SendMessage", t.render(dlq), ()))
    for r in t.res.values():
        if r["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        target = r["Properties"]["FunctionName"]
        alias = t.res.get(target.get("Ref", ""), {}).get("Properties", {})
        if alias.get("FunctionName", {}).get("Ref") != function:
            continue
        source = t.render(r["Properties"]["EventSourceArn"])
        if ":sqs:" in source:
            out |= {(a, source, ()) for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")}
        elif ":dynamodb:" in source:
            out |= {(a, source, ()) for a in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")}
        failure = r["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if failure:
            out.add(("sqs:SendMessage", t.render(failure), ()))
    return out


def kms_calls(t, calls):
    """The customer-managed key's actions the calls need (everything the stack encrypts uses it
    when KmsKeyArn is set)."""
    key = t.arn("KmsKeyArn")
    out = set()
    for action, resource, _ in calls:
        if resource.startswith(("arn:aws:sqs:", "arn:aws:secretsmanager:", "arn:aws:s3:")):
            # The service that uses the key on the caller's behalf (kms:ViaService).
            via = (("kms:ViaService", f"{resource.split(':')[2]}.{REGION}.amazonaws.com"),)
            out |= {(k, key, via) for k in KMS_NEEDS.get(action, [])}
    return out


def catalog(t, recording):
    """Every resource of the stack a grant could reach, as ARNs: tables with their indexes
    and streams, queues, secrets, topics, log groups' streams, functions' versions, the key,
    and every object key any function was recorded using in a bucket."""
    out = set()
    for name, r in t.res.items():
        kind = r["Type"]
        if kind == "AWS::DynamoDB::Table":
            arn = t.arn(name)
            out |= {arn, f"{arn}/stream/2026-01-01T00:00:00.000"}
            for gsi in r["Properties"].get("GlobalSecondaryIndexes", []):
                out.add(f"{arn}/index/{gsi['IndexName']}")
        elif kind in ("AWS::SQS::Queue", "AWS::SecretsManager::Secret", "AWS::SNS::Topic", "AWS::S3::Bucket"):
            out.add(t.arn(name))
        elif kind == "AWS::Logs::LogGroup":
            out.add(t.arn(name).removesuffix(":*") + ":log-stream:2026/12/06/[1]abc")
        elif kind == "AWS::Lambda::Function":
            out.add(t.arn(name) + ":2")
    out.add(t.arn("KmsKeyArn"))
    for calls_here in recording.values():
        for phases in calls_here.values():
            for phase in phases.values():
                for _, arn, _ in recorded(t, {tuple(c) for c in phase}):
                    if arn.startswith("arn:aws:s3:::") and "/" in arn:
                        out.add(arn)
    return out


def principals(t, value):
    """A condition's principal ARNs (a list, or `!Split` of a `!Join`)."""
    if isinstance(value, dict) and "Fn::Split" in value:
        sep, joined = value["Fn::Split"]
        return t.render(joined).split(sep)
    return [t.render(v) for v in listed(value)]


def secret_readers(t, conds):
    """Each secret's resource policy: which role ARNs may GetSecretValue (the others are
    denied whatever their role allows)."""
    out = {}
    for r in t.res.values():
        if r["Type"] != "AWS::SecretsManager::ResourcePolicy":
            continue
        secret = t.render(r["Properties"]["SecretId"])
        doc = resolve(r["Properties"]["ResourcePolicy"], conds)
        for st in listed(doc["Statement"]):
            if st["Effect"] != "Deny" or not any(matches(a, "secretsmanager:GetSecretValue") for a in listed(st["Action"])):
                continue
            for op, keys in st.get("Condition", {}).items():
                if op in ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike") and "aws:PrincipalArn" in keys:
                    out[secret] = set(principals(t, keys["aws:PrincipalArn"]))
    return out


def check_secret_policies(t, conds, reads):
    """`reads`: function → the secret ARNs it reads. Every read is let through the secret's
    resource policy, and the policy lets through no role whose function does not read it."""
    problems = []
    readers = secret_readers(t, conds)
    role_of = {f: t.render(t.res[f]["Properties"]["Role"]) for f in reads}
    where = ", ".join(f"{k}={v}" for k, v in sorted(conds.items()))
    for function, secrets in sorted(reads.items()):
        for secret in sorted(secrets):
            if secret in readers and role_of[function] not in readers[secret]:
                problems.append(f"{function} ({where}): reads {secret}, whose resource policy denies its role")
    for secret, roles in sorted(readers.items()):
        for role in sorted(roles):
            readers_of = [f for f, r in role_of.items() if r == role]
            if readers_of and not any(secret in reads[f] for f in readers_of):
                problems.append(f"{secret}: its resource policy lets {role} read it, and {readers_of[0]} never does ({where})")
            stack_role = role.removeprefix(f"arn:aws:iam::{ACCOUNT}:role/")
            if not readers_of and t.res.get(stack_role, {}).get("Type") == "AWS::IAM::Role":
                problems.append(f"{secret}: its resource policy lets {role} read it, which is no function's role ({where})")
            # Other principals are people's roles (parameters such as SupervisorAuditKeyReaders).
    return problems


def check_function(t, function, conds, calls, stack):
    problems = []
    needed = recorded(t, calls) | platform_calls(t, function)
    if conds["HasCmk"]:
        needed |= kms_calls(t, needed)
    statements = t.role_statements(function, conds)
    allows = [(a, r, c) for e, acts, res, c in statements if e == "Allow" for a in acts for r in res]
    denies = [(a, r, c) for e, acts, res, c in statements if e == "Deny" for a in acts for r in res]

    def hit(grant, call):
        a, r, c = grant
        action, resource, context = call
        return action_matches(a, action) and matches(r, resource) and condition_holds(c, context)

    where = f"{function} ({', '.join(f'{k}={v}' for k, v in sorted(conds.items()))})"
    for call in sorted(needed):
        if not any(hit(g, call) for g in allows) or any(hit(g, call) for g in denies):
            shown = call[1] + "".join(f" [{k}={v}]" for k, v in call[2])
            problems.append(f"{where}: calls {call[0]} on {shown}, which its role does not allow")
    for a, r, c in allows:
        if (function, a, r) in EXCEPTIONS:
            continue
        used = [call for call in needed if hit((a, r, c), call)]
        if not used:
            problems.append(f"{where}: its role allows {a} on {r}, which no call uses")
            continue
        problems += broader_than_used(where, (a, r, c), used, needed, stack)
    return problems


def broader_than_used(where, grant, used, needed, stack):
    """A grant that reaches more than its calls: a wildcard action; a resource pattern that
    also matches a resource of the stack no call of that action uses; no condition on a key
    every call it serves carries (a listing's prefix, a claim's leading key, the service a
    key is used through)."""
    a, r, c = grant
    problems = []
    if "*" in a or "?" in a:
        problems.append(f"{where}: its role allows {a} (a wildcard action) on {r}")
    if not any(call[1] == "*" for call in used):
        reached = {arn for arn in stack if matches(r, arn)}
        spare = sorted(
            arn for arn in reached
            if not any(action_matches(a, x) and x_res == arn for x, x_res, _ in needed)
        )
        if spare:
            problems.append(f"{where}: its role allows {a} on {r}, which also reaches {', '.join(spare[:3])} (no call uses it)")
    keys = set.intersection(*[{k for k, _ in call[2]} for call in used])
    named = {k for op in c.values() for k in op}
    for k in sorted(keys - named):
        problems.append(f"{where}: its role allows {a} on {r} without a condition on {k}, which every call it serves carries")
    return problems


def main():
    translated = json.loads(pathlib.Path(sys.argv[1]).read_text())
    calls_path = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "infra/aws-calls.json"
    recording = json.loads(calls_path.read_text())
    t = Template(translated)
    functions = sorted(n for n, r in t.res.items() if r["Type"] == "AWS::Lambda::Function")
    problems = []
    stack = catalog(t, recording)
    for conds in parameter_sets(translated):
        calls_here = recording[f"HasApiDomain={'true' if conds['HasApiDomain'] else 'false'}"]
        for function in functions:
            if function not in calls_here:
                problems.append(f"{function}: no recorded calls (tests/tests/e2e/aws_calls.rs must run it)")
                continue
            calls = {tuple(c) for phase in calls_here[function].values() for c in phase}
            problems += check_function(t, function, conds, calls, stack)
        reads = {
            f: {arn for a, arn, _ in recorded(t, {tuple(c) for p in calls_here.get(f, {}).values() for c in p}) if a == "secretsmanager:GetSecretValue"}
            for f in functions
        }
        problems += check_secret_policies(t, conds, reads)
    # One finding per function, action and resource, whatever parameter sets it holds under.
    seen = []
    for p in problems:
        if p not in seen:
            seen.append(p)
    for p in seen:
        print(f"infra/iam_check.py: {p}")
    if seen:
        sys.exit(1)
    print(f"infra/iam_check.py: {len(functions)} functions' roles allow every recorded call and nothing else, under {2 ** len(translated.get('Conditions', {}))} parameter sets")


if __name__ == "__main__":
    main()
