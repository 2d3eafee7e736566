//! The tables in `infra/template.yaml` must be the tables the code defines: same keys, same
//! TTL attribute, no index the code does not know, and each function's `SAPK_TABLE_*`
//! pointing at the right one.

use sapk_aws::tables::{TableRole, TABLES};
use serde_norway::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("infra/template.yaml");
    serde_norway::from_str(&text).expect("YAML")
}

fn logical_id(role: TableRole) -> &'static str {
    match role {
        TableRole::Accounts => "AccountsTable",
        TableRole::Ephemeral => "EphemeralTable",
        TableRole::Audit => "AuditTable",
        TableRole::Staff => "StaffTable",
    }
}

/// `!Ref X` as parsed: a tagged value.
/// Each entry's `AttributeName` with its `other` field, from a key schema or an attribute
/// list.
fn name_pairs(list: &Value, other: &str) -> Vec<(String, String)> {
    let text = |v: &Value| v.as_str().expect("a string").to_owned();
    list.as_sequence()
        .expect("a list")
        .iter()
        .map(|e| (text(&e["AttributeName"]), text(&e[other])))
        .collect()
}

/// A function's policy documents: its SAM `Policies`, or the inline policies of the role its
/// `Role` names (`!GetAtt XRole.Arn`).
fn function_policies<'a>(t: &'a Value, f: &'a Value) -> Vec<&'a Value> {
    if let Value::Tagged(role) = &f["Properties"]["Role"] {
        let name = role
            .value
            .as_str()
            .and_then(|v| v.strip_suffix(".Arn"))
            .expect("!GetAtt Role.Arn");
        return t["Resources"][name]["Properties"]["Policies"]
            .as_sequence()
            .expect("the role's policies")
            .iter()
            .map(|p| &p["PolicyDocument"])
            .collect();
    }
    f["Properties"]["Policies"]
        .as_sequence()
        .expect("policies")
        .iter()
        .collect()
}

/// Every statement of every function's policies, with the function's name and the
/// statement's actions.
fn function_statements(t: &Value) -> Vec<(String, &Value, Vec<&str>)> {
    let mut out = Vec::new();
    for (name, r) in t["Resources"].as_mapping().expect("resources") {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let name = name.as_str().unwrap_or_default().to_owned();
        for policy in function_policies(t, r) {
            for st in policy["Statement"].as_sequence().expect("statements") {
                // A list, or one action as a string.
                let actions = match &st["Action"] {
                    Value::Sequence(list) => list.iter().filter_map(Value::as_str).collect(),
                    one => one.as_str().into_iter().collect(),
                };
                out.push((name.clone(), st, actions));
            }
        }
    }
    out
}

fn ref_target(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "!Ref" => t.value.as_str().map(str::to_owned),
        Value::Mapping(m) => m.get("Ref").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

#[test]
fn template_tables_match_the_code() {
    let t = template();
    let resources = &t["Resources"];
    let declared: Vec<String> = resources
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::DynamoDB::Table")
        .map(|(k, _)| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        declared.len(),
        TABLES.len(),
        "tables in the template: {declared:?}"
    );

    for spec in TABLES {
        let id = logical_id(spec.role);
        let props = &resources[id]["Properties"];
        assert!(!props.is_null(), "{id} missing");
        let keys = name_pairs(&props["KeySchema"], "KeyType");
        let mut want = vec![(spec.partition_key.to_owned(), "HASH".to_owned())];
        if let Some(sk) = spec.sort_key {
            want.push((sk.to_owned(), "RANGE".to_owned()));
        }
        assert_eq!(keys, want, "{id} key schema");
        let attrs = name_pairs(&props["AttributeDefinitions"], "AttributeType");
        let mut want_attrs: Vec<(String, String)> = want
            .iter()
            .map(|(n, _)| (n.clone(), "S".to_owned()))
            .collect();
        if let Some((_, key)) = spec.index {
            want_attrs.push((key.to_owned(), "S".to_owned()));
        }
        assert_eq!(
            attrs, want_attrs,
            "{id} attribute definitions (keys only, strings)"
        );
        let ttl = &props["TimeToLiveSpecification"];
        match spec.ttl_attribute {
            Some(name) => {
                assert_eq!(
                    ttl["AttributeName"].as_str(),
                    Some(name),
                    "{id} TTL attribute"
                );
                assert_eq!(ttl["Enabled"].as_bool(), Some(true), "{id} TTL enabled");
            }
            None => assert!(ttl.is_null(), "{id} has a TTL the code does not expect"),
        }
        assert!(
            props["LocalSecondaryIndexes"].is_null(),
            "{id}: no local index"
        );
        match spec.index {
            None => assert!(
                props["GlobalSecondaryIndexes"].is_null(),
                "{id}: the code uses no index"
            ),
            Some((index, key)) => {
                let gsis = props["GlobalSecondaryIndexes"].as_sequence().unwrap();
                assert_eq!(gsis.len(), 1, "{id}: one index");
                let g = &gsis[0];
                assert_eq!(g["IndexName"].as_str(), Some(index), "{id} index name");
                assert_eq!(g["KeySchema"][0]["AttributeName"].as_str(), Some(key));
                assert_eq!(g["KeySchema"][0]["KeyType"].as_str(), Some("HASH"));
                assert_eq!(
                    g["Projection"]["ProjectionType"].as_str(),
                    Some("KEYS_ONLY")
                );
            }
        }
        assert_eq!(
            props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
            Some(true),
            "{id} PITR"
        );
        assert_eq!(
            props["DeletionProtectionEnabled"].as_bool(),
            Some(true),
            "{id} deletion protection"
        );
        // Encrypted either way: `!If [HasCmk, {KMS key}, {AWS-managed}]`, or a plain mapping.
        let sse = &props["SSESpecification"];
        let branches: Vec<&Value> = match sse {
            Value::Tagged(t) if t.tag == "!If" => {
                t.value.as_sequence().unwrap().iter().skip(1).collect()
            }
            other => vec![other],
        };
        assert!(!branches.is_empty());
        for b in branches {
            assert_eq!(b["SSEEnabled"].as_bool(), Some(true), "{id} encryption");
        }

        let env = &t["Globals"]["Function"]["Environment"]["Variables"];
        assert_eq!(
            ref_target(&env[spec.env]).as_deref(),
            Some(id),
            "{} must reference {id}",
            spec.env
        );
    }
}

#[test]
fn no_function_may_update_or_delete_audit_records() {
    let t = template();
    for (name, st, actions) in function_statements(&t) {
        let resources = format!("{:?}", st["Resource"]);
        if !resources.contains("AuditTable") {
            continue;
        }
        // Appending and reading the records, or reading the table's stream (the archive);
        // never changing or removing a record, nor any PartiQL statement. PutItem could
        // overwrite, and IAM has no condition key for a write's condition expression: that
        // every put the functions send is conditional on the record's place being free is
        // checked at the wire (e2e aws_flow every_dynamodb_action_a_function_takes_is_in_its_policy).
        const READ_OR_APPEND: [&str; 6] = [
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        ];
        assert!(
            !actions.is_empty() && actions.iter().all(|a| READ_OR_APPEND.contains(a)),
            "{name:?} may only append to and read the audit table: {actions:?}"
        );
        if actions
            .iter()
            .any(|a| a.contains("Stream") || *a == "dynamodb:GetRecords")
        {
            assert!(
                resources.contains("StreamArn") || resources.contains("AuditTable.Arn}/stream/*"),
                "{name:?}: stream actions only on the audit table's stream: {resources}"
            );
        }
    }
}

#[test]
fn the_audit_table_denies_rewrites_to_everyone() {
    let t = template();
    let statements = t["Resources"]["AuditTable"]["Properties"]["ResourcePolicy"]["PolicyDocument"]
        ["Statement"]
        .as_sequence()
        .expect("the audit table has a resource policy");
    let deny = statements
        .iter()
        .find(|s| s["Effect"] == "Deny")
        .expect("a Deny statement");
    assert_eq!(deny["Principal"], "*", "denied to every principal");
    let actions: Vec<&str> = deny["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for a in [
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
        "dynamodb:DeleteTable",
    ] {
        assert!(actions.contains(&a), "{a} must be denied: {actions:?}");
    }
}

/// Actions that IAM lets be granted on no narrower resource than `*` (the Service
/// Authorization Reference lists no resource type for them): SES's account-level suppression
/// list.
const ONLY_ON_STAR: &[&str] = &["ses:DeleteSuppressedDestination"];

#[test]
fn no_function_policy_allows_a_wildcard_resource_or_action() {
    let t = template();
    for (name, st, actions) in function_statements(&t) {
        if st["Effect"] != "Allow" {
            continue;
        }
        if actions.iter().all(|a| ONLY_ON_STAR.contains(a)) {
            continue;
        }
        let resources = match &st["Resource"] {
            Value::Sequence(s) => s.clone(),
            other => vec![other.clone()],
        };
        for res in resources {
            let text = format!("{res:?}");
            assert!(
                res.as_str() != Some("*") && !text.contains("\"*\""),
                "{name:?} allows a wildcard resource: {text}"
            );
        }
        for a in actions {
            assert!(!a.contains('*'), "{name:?} allows a wildcard action {a}");
        }
    }
}

/// No person's role holds both the key that seals the service's audit records and write
/// access to the audit table: the supervisors' and data administrators' policies name only
/// their own writer key, and the service key's resource policy names only functions.
#[test]
fn no_human_role_holds_the_service_audit_key() {
    let t = template();
    let resources = &t["Resources"];
    for (policy, own) in [
        ("SupervisorPolicy", "SupervisorAuditKeySecret"),
        ("DataAdminPolicy", "DataAdminAuditKeySecret"),
        ("CounterStaffPolicy", ""),
    ] {
        let text = format!(
            "{:?}",
            resources[policy]["Properties"]["PolicyDocument"]["Statement"]
        );
        assert!(
            !text.contains("\"AuditKeySecret\""),
            "{policy} may read the service's audit key"
        );
        if !own.is_empty() {
            assert!(text.contains(own), "{policy} reads its own key {own}");
        }
        for other in ["SupervisorAuditKeySecret", "DataAdminAuditKeySecret"] {
            if other != own {
                assert!(!text.contains(other), "{policy} may read {other}");
            }
        }
    }
    let readers = format!(
        "{:?}",
        resources["AuditKeySecretPolicy"]["Properties"]["ResourcePolicy"]
    );
    assert!(
        !readers.contains("AuditKeyReaders"),
        "the service's audit key is read by functions only"
    );
    assert!(readers.contains("AuditCheckpointFunctionRole"));
}
