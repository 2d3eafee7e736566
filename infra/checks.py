#!/usr/bin/env python3
"""What cfn-lint and moto cannot see in infra/template.yaml, checked against the code and
against AWS's documentation:

- secrets: every key a function reads at start (sapk_aws::Settings reads each
  `<KEY>_SECRET_ARN` of `KEY_NAMES` its environment names, and refuses to start when one
  cannot be read) is one its role may `secretsmanager:GetSecretValue`, and its role may read
  no other; under every parameter set (custom domain on and off, customer-managed key on and
  off);
- metrics: every alarm and dashboard metric names a namespace, metric and set of dimensions
  the service publishes (the table below, from AWS's documentation), or one the stack's own
  metric filters create;
- quotas: the mailer's worst-case concurrency times its rate stays within the SES quota
  parameter, and the API's throttles within the region's account quota.

Run by scripts/check-infra. Exit 1 with every finding."""

import itertools
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
NO_VALUE = object()


class Loader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


Loader.add_multi_constructor("!", _tag)


def load(path):
    return yaml.load((ROOT / path).read_text(), Loader=Loader)


def resolve(value, conds):
    """`value` with every `Fn::If` decided by `conds` and `AWS::NoValue` removed."""
    if isinstance(value, dict):
        if list(value) == ["Fn::If"]:
            cond, yes, no = value["Fn::If"]
            return resolve(yes if conds[cond] else no, conds)
        if value == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        out = {k: resolve(v, conds) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}
    if isinstance(value, list):
        return [v for v in (resolve(v, conds) for v in value) if v is not NO_VALUE]
    return value


def parameter_sets(template):
    """Every combination of the conditions a deployment chooses by its parameters."""
    names = sorted(template.get("Conditions", {}))
    for values in itertools.product([False, True], repeat=len(names)):
        yield dict(zip(names, values))


def functions(template):
    return {
        name: r
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    }


def listed(value):
    return value if isinstance(value, list) else [value]


def statements(function, conds, template):
    """The Allow and Deny statements of the function's role: its SAM `Policies`, or the
    inline policies of the role its `Role` names."""
    policies = function["Properties"].get("Policies", [])
    role = function["Properties"].get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        role_props = template["Resources"][role["Fn::GetAtt"][0]]["Properties"]
        policies = [p["PolicyDocument"] for p in role_props.get("Policies", [])]
    for policy in resolve(policies, conds):
        if isinstance(policy, dict):
            for st in listed(policy.get("Statement", [])):
                yield st


# Event sources for which SAM attaches an AWS managed policy allowing every such resource of
# the account (AWSLambdaSQSQueueExecutionRole, AWSLambdaDynamoDBExecutionRole,
# AWSLambdaKinesisExecutionRole) unless the function has a role of its own.
POLLED = {"SQS", "DynamoDB", "Kinesis"}


def check_polled_roles(template):
    return [
        f"{name}: a {e['Type']} event source without a role of its own: SAM attaches a policy allowing every {e['Type']} resource of the account"
        for name, fn in functions(template).items()
        for e in (fn["Properties"].get("Events") or {}).values()
        if e["Type"] in POLLED and "Role" not in fn["Properties"]
    ]


# --- secrets -------------------------------------------------------------------------

def key_names():
    """`sapk_aws::settings::KEY_NAMES`: the keys Settings reads, each also as `_SECRET_ARN`."""
    text = (ROOT / "crates/sapk-aws/src/settings.rs").read_text()
    block = re.search(r"pub const KEY_NAMES: \[&str; \d+\] = \[(.*?)\];", text, re.S)
    return set(re.findall(r'"(SAPK_[A-Z_]+)"', block.group(1)))


def keys_read(function, keys):
    """The keys the function's binary reads at start: all of them through `Settings`, except
    the audit archive's (its bucket's name and nothing else) and the pre-traffic hook's (the
    origin secret alone)."""
    binary = function.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
    source = (ROOT / "functions/src/bin" / f"{binary}.rs").read_text()
    if "run_audit_archive" in source:
        return set()
    if "run_pre_traffic" in source:
        return {"SAPK_ORIGIN_VERIFY"}
    return keys


def check_secrets(template):
    problems = []
    keys = key_names()
    global_env = template["Globals"]["Function"].get("Environment", {}).get("Variables", {})
    reads = {name: keys_read(fn, keys) for name, fn in functions(template).items()}
    for conds in parameter_sets(template):
        for name, fn in functions(template).items():
            env = resolve(dict(global_env), conds)
            env.update(resolve(fn["Properties"].get("Environment", {}).get("Variables", {}), conds))
            named = {
                k[: -len("_SECRET_ARN")]: v["Ref"]
                for k, v in env.items()
                if k.endswith("_SECRET_ARN") and k[: -len("_SECRET_ARN")] in keys and isinstance(v, dict)
            }
            granted = set()
            for st in statements(fn, conds, template):
                if st.get("Effect") == "Allow" and "secretsmanager:GetSecretValue" in listed(st["Action"]):
                    granted |= {r["Ref"] for r in listed(st["Resource"]) if isinstance(r, dict) and "Ref" in r}
            needed = {secret for key, secret in named.items() if key in reads[name]}
            where = f"{name} ({', '.join(f'{c}={v}' for c, v in conds.items())})"
            for s in sorted(needed - granted):
                problems.append(f"{where}: reads {s} at start but its role may not GetSecretValue it (the function would refuse to start)")
            for s in sorted(granted - needed):
                problems.append(f"{where}: may read {s}, which it never reads (least privilege)")
            for key, s in sorted(named.items()):
                if key not in reads[name]:
                    problems.append(f"{where}: its environment names {s}, which it never reads")
    return sorted(set(problems))


# --- metrics -------------------------------------------------------------------------

# Namespace -> (metrics, the dimension sets each is published with), from AWS's documentation:
# API Gateway HTTP APIs (apigateway/latest/developerguide/http-api-metrics.html: ApiId;
# ApiId, Stage; ApiId, Method, Resource, Stage with detailed metrics), Lambda
# (lambda/latest/dg/monitoring-metrics-types.html: FunctionName; FunctionName, Resource
# (function:alias); on alias invocations FunctionName, Resource, ExecutedVersion, the set SAM's
# gradual-deployment alarms and CDK's generated LambdaMetrics use; none for the account),
# DynamoDB (amazondynamodb/latest/developerguide/metrics-dimensions.html: TableName;
# TableName, Operation; TableName, GlobalSecondaryIndexName), SQS
# (AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html:
# QueueName), SNS (sns/latest/dg/sns-monitoring-using-cloudwatch.html: TopicName), SES
# (ses/latest/dg/monitor-sending-activity.html: account-wide reputation and sending).
DOCUMENTED = {
    "AWS/ApiGateway": (
        {"4xx", "5xx", "Count", "IntegrationLatency", "Latency", "DataProcessed"},
        [set(), {"ApiId"}, {"ApiId", "Stage"}, {"ApiId", "Method", "Resource", "Stage"}],
    ),
    "AWS/Lambda": (
        {"Errors", "Throttles", "Invocations", "Duration", "ConcurrentExecutions",
         "UnreservedConcurrentExecutions", "DeadLetterErrors", "IteratorAge"},
        [set(), {"FunctionName"}, {"FunctionName", "Resource"},
         {"FunctionName", "Resource", "ExecutedVersion"}],
    ),
    "AWS/DynamoDB": (
        {"WriteThrottleEvents", "ReadThrottleEvents", "SystemErrors", "UserErrors",
         "ThrottledRequests", "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits",
         "SuccessfulRequestLatency", "ConditionalCheckFailedRequests", "TransactionConflict"},
        [{"TableName"}, {"TableName", "Operation"}, {"TableName", "GlobalSecondaryIndexName"}, {"Operation"}],
    ),
    "AWS/SQS": (
        {"ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible",
         "ApproximateNumberOfMessagesNotVisible", "NumberOfMessagesSent", "NumberOfMessagesReceived",
         "NumberOfMessagesDeleted", "NumberOfEmptyReceives", "SentMessageSize"},
        [{"QueueName"}],
    ),
    "AWS/SNS": (
        {"NumberOfMessagesPublished", "NumberOfNotificationsDelivered", "NumberOfNotificationsFailed"},
        [{"TopicName"}],
    ),
    "AWS/SES": (
        {"Send", "Delivery", "Bounce", "Complaint", "Reject", "RenderingFailure",
         "Reputation.BounceRate", "Reputation.ComplaintRate"},
        [set()],
    ),
}


def filter_metrics(template):
    """(namespace, metric, dimension names) the stack's metric filters publish."""
    out = set()
    for r in template["Resources"].values():
        if r["Type"] == "AWS::Logs::MetricFilter":
            for m in r["Properties"]["MetricTransformations"]:
                dims = m.get("Dimensions") or []
                dims = frozenset(d["Key"] for d in dims) if isinstance(dims, list) else frozenset(dims)
                out.add((m["MetricNamespace"], m["MetricName"], dims))
    return out


def metric_known(ns, metric, dims, own):
    if ns in DOCUMENTED:
        metrics, sets = DOCUMENTED[ns]
        return metric in metrics and set(dims) in sets
    return (ns, metric, frozenset(dims)) in own


def dashboard_metrics(body):
    """(namespace, metric, dimension names) of each metric line of a dashboard body."""
    text = body["Fn::Sub"] if isinstance(body, dict) else body
    text = re.sub(r"\$\{[^}]+\}", "X", text if isinstance(text, str) else text[0])
    for w in json.loads(text)["widgets"]:
        for line in w.get("properties", {}).get("metrics", []):
            parts = [p for p in line if not isinstance(p, dict)]
            if parts and parts[0] not in (".", "..."):
                ns, metric, rest = parts[0], parts[1], parts[2:]
                yield ns, metric, set(rest[0::2])


def check_metrics(template):
    problems = []
    own = filter_metrics(template)
    for name, r in template["Resources"].items():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            p = r["Properties"]
            queries = [(p.get("Namespace"), p.get("MetricName"), p.get("Dimensions", []))]
            for q in p.get("Metrics", []):
                stat = q.get("MetricStat")
                if stat:
                    m = stat["Metric"]
                    queries.append((m.get("Namespace"), m.get("MetricName"), m.get("Dimensions", [])))
            for ns, metric, dims in queries:
                if ns is None:
                    continue
                names = {d["Name"] for d in dims}
                if not metric_known(ns, metric, names, own):
                    problems.append(f"alarm {name}: {ns} {metric} with dimensions {sorted(names)} is not a metric anyone publishes")
        if r["Type"] == "AWS::CloudWatch::Dashboard":
            for ns, metric, names in dashboard_metrics(r["Properties"]["DashboardBody"]):
                if not metric_known(ns, metric, names, own):
                    problems.append(f"dashboard {name}: {ns} {metric} with dimensions {sorted(names)} is not a metric anyone publishes")
    return problems


# --- quotas --------------------------------------------------------------------------

# API Gateway's account throttle in ap-southeast-3 (Jakarta) and the other newer regions:
# 2,500 requests a second with a burst of 1,250 (apigateway/latest/developerguide/limits.html),
# shared by every API of the account in the region, until a quota increase.
REGION_RATE, REGION_BURST = 2500, 1250


def default(template, param):
    return float(template["Parameters"][param]["Default"])


def value(template, v):
    return default(template, v["Ref"]) if isinstance(v, dict) else float(v)


def check_quotas(template):
    problems = []
    mailer = template["Resources"]["MailerFunction"]["Properties"]
    sources = [e["Properties"] for e in mailer["Events"].values() if e["Type"] == "SQS"]
    instances = sum(s.get("ScalingConfig", {}).get("MaximumConcurrency", 1000) for s in sources)
    env = mailer["Environment"]["Variables"]
    declared = value(template, env["SAPK_MAIL_INSTANCES"]) if "SAPK_MAIL_INSTANCES" in env else None
    if declared != instances:
        problems.append(f"mailer: SAPK_MAIL_INSTANCES is {declared}, but its SQS event sources let {instances} instances run at once")
    quota = value(template, env["SAPK_SES_MAX_SEND_RATE"]) if "SAPK_SES_MAX_SEND_RATE" in env else None
    per_instance = (quota / declared) if quota and declared else value(template, env.get("SAPK_MAIL_RATE_PER_SEC", 1))
    ses_quota = default(template, "SesMaxSendRate") if "SesMaxSendRate" in template["Parameters"] else 14.0
    if instances * per_instance > ses_quota + 1e-9:
        problems.append(f"mailer: {instances} instances x {per_instance:g}/s = {instances * per_instance:g}/s, above the SES quota of {ses_quota:g}/s")
    api = template["Resources"]["HttpApi"]["Properties"]
    rs = api["DefaultRouteSettings"]
    rate, burst = value(template, rs["ThrottlingRateLimit"]), value(template, rs["ThrottlingBurstLimit"])
    if rate > REGION_RATE or burst > REGION_BURST:
        problems.append(f"HttpApi: default route throttle {rate:g}/s burst {burst:g} is above the region's account quota ({REGION_RATE}/s, burst {REGION_BURST})")
    for route, s in (api.get("RouteSettings") or {}).items():
        r = value(template, s.get("ThrottlingRateLimit", rs["ThrottlingRateLimit"]))
        b = value(template, s.get("ThrottlingBurstLimit", rs["ThrottlingBurstLimit"]))
        if r > REGION_RATE or b > REGION_BURST:
            problems.append(f"HttpApi {route}: throttle {r:g}/s burst {b:g} above the region's account quota")
    return problems


# --- keys and retention ----------------------------------------------------------------

def check_key_policy(template):
    """With a customer-managed key, every AWS service that writes into something encrypted with
    it (a topic it publishes to, a log group) must be let use the key by the key's policy,
    which the stack cannot set (the key is the operator's): docs/deploy.md must name each."""
    needed = set()
    resources = template["Resources"]
    encrypted_topics = {
        n for n, r in resources.items()
        if r["Type"] == "AWS::SNS::Topic" and "KmsMasterKeyId" in r["Properties"]
    }
    for r in resources.values():
        if r["Type"] == "AWS::SNS::TopicPolicy":
            topics = {t["Ref"] for t in r["Properties"]["Topics"] if isinstance(t, dict)}
            if topics & encrypted_topics:
                for st in listed(r["Properties"]["PolicyDocument"]["Statement"]):
                    needed |= set(listed(st.get("Principal", {}).get("Service", [])))
        if r["Type"] == "AWS::Logs::LogGroup" and "KmsKeyId" in r["Properties"]:
            needed.add("logs.<region>.amazonaws.com")
    doc = (ROOT / "docs/deploy.md").read_text()
    section = doc[doc.index("**A customer-managed key**"):]
    section = section[: section.index("\n- **")]
    return [
        f"docs/deploy.md: the customer-managed key's policy must let {svc} use it (it writes into something the key encrypts)"
        for svc in sorted(needed)
        if svc not in section
    ]


SELF_PROTECTING = {
    "AWS::SecretsManager::ResourcePolicy": {
        "secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy",
        "secretsmanager:DeleteSecret",
    },
    "AuditTable": {
        "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:DeleteTable",
        "dynamodb:UpdateTable", "dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy",
        "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive",
    },
}


def denied(policy_document):
    out = set()
    for st in listed(policy_document["Statement"]):
        if st.get("Effect") == "Deny" and st.get("Principal") == "*":
            out |= set(listed(st["Action"]))
    return out


def check_self_protection(template):
    """A resource policy that guards the audit trail or a key also guards itself: whoever
    could delete or replace it could then do what it denies."""
    problems = []
    for name, r in template["Resources"].items():
        if r["Type"] == "AWS::SecretsManager::ResourcePolicy":
            want, doc = SELF_PROTECTING[r["Type"]], r["Properties"]["ResourcePolicy"]
        elif name == "AuditTable":
            want, doc = SELF_PROTECTING[name], r["Properties"]["ResourcePolicy"]["PolicyDocument"]
        else:
            continue
        for action in sorted(want - denied(doc)):
            problems.append(f"{name}: its resource policy does not deny {action} (outside the stack)")
    return problems


def check_archive_retention(template):
    """The archive keeps no more than the retention: the object a day after its lock, and a
    noncurrent version (the one an expiry's delete marker leaves) a day after that."""
    problems = []
    bucket = template["Resources"]["AuditArchiveBucket"]["Properties"]
    retention = default(template, "AuditRetentionDays")
    for rule in bucket["LifecycleConfiguration"]["Rules"]:
        days = rule.get("ExpirationInDays")
        if days is not None and value(template, days) != retention + 1:
            problems.append(f"archive rule {rule['Id']}: objects expire after {value(template, days):g} days, not the retention + 1 ({retention + 1:g})")
        nc = rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
        if nc is not None and value(template, nc) > 1:
            problems.append(f"archive rule {rule['Id']}: a noncurrent version is kept {value(template, nc):g} days after it stops being current (its lock ended already): a second retention")
    return problems


def main():
    template = load("infra/template.yaml")
    problems = (
        check_secrets(template)
        + check_metrics(template)
        + check_quotas(template)
        + check_key_policy(template)
        + check_archive_retention(template)
        + check_self_protection(template)
        + check_polled_roles(template)
    )
    for p in problems:
        print(f"infra/checks.py: {p}")
    if problems:
        sys.exit(1)
    print("infra/checks.py: secrets, metrics, quotas, key policy, archive retention, self-protecting policies and scoped event-source roles hold")


if __name__ == "__main__":
    main()
