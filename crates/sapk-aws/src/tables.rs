//! The DynamoDB tables, defined once. `create_tables` (local and test use) and the SAM
//! template in `infra/` must agree with these definitions (a test checks the template).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

/// Which of the three tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableRole {
    /// One item per employee, keyed by NIP.
    Accounts,
    /// Short-lived items with TTL: reset codes, sessions, login throttles, rate counters.
    Ephemeral,
    /// Append-only audit log: partition = NIP (or `-`), sort = time and a random suffix;
    /// records expire (TTL) after the retention period.
    Audit,
    /// The staff registry: one item per officer, keyed by IAM principal.
    Staff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    pub role: TableRole,
    /// Environment variable holding the table's name.
    pub env: &'static str,
    /// Name used by `sapk-admin tables create` when the variable is not set.
    pub default_name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    /// Epoch-seconds attribute DynamoDB's TTL deletes by (lazily: code checks expiry too).
    pub ttl_attribute: Option<&'static str>,
    /// A global secondary index (name, string partition key), keys only.
    pub index: Option<(&'static str, &'static str)>,
}

pub const TTL_ATTRIBUTE: &str = "ttl";

/// The accounts table's global secondary index on `email` (keys only; sparse: accounts
/// without an e-mail are not in it), to tell an officer that an address is already in use.
pub const EMAIL_INDEX: &str = "email";

/// The ephemeral table's global secondary index on `queue` (keys only; sparse: only records
/// that wait for someone carry the attribute), to list them without a scan. Today one
/// queue: the e-mail exceptions waiting for a second officer ([`EXCEPTION_QUEUE`]).
pub const QUEUE_INDEX: &str = "queue";
/// The `queue` value of a pending e-mail exception.
pub const EXCEPTION_QUEUE: &str = "email_exception";

pub const TABLES: [TableSpec; 4] = [
    TableSpec {
        role: TableRole::Accounts,
        env: "SAPK_TABLE_ACCOUNTS",
        default_name: "sapk-accounts",
        partition_key: "nip",
        sort_key: None,
        ttl_attribute: None,
        index: Some((EMAIL_INDEX, "email")),
    },
    TableSpec {
        role: TableRole::Ephemeral,
        env: "SAPK_TABLE_EPHEMERAL",
        default_name: "sapk-ephemeral",
        partition_key: "pk",
        sort_key: None,
        ttl_attribute: Some(TTL_ATTRIBUTE),
        index: Some((QUEUE_INDEX, "queue")),
    },
    TableSpec {
        role: TableRole::Audit,
        env: "SAPK_TABLE_AUDIT",
        default_name: "sapk-audit",
        partition_key: "nip",
        sort_key: Some("sk"),
        ttl_attribute: Some(TTL_ATTRIBUTE),
        index: None,
    },
    TableSpec {
        role: TableRole::Staff,
        env: "SAPK_TABLE_STAFF",
        default_name: "sapk-staff",
        partition_key: "principal",
        sort_key: None,
        ttl_attribute: None,
        index: None,
    },
];

/// The table names in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub accounts: String,
    pub ephemeral: String,
    pub audit: String,
    pub staff: String,
}

impl TableNames {
    pub fn name(&self, role: TableRole) -> &str {
        match role {
            TableRole::Accounts => &self.accounts,
            TableRole::Ephemeral => &self.ephemeral,
            TableRole::Audit => &self.audit,
            TableRole::Staff => &self.staff,
        }
    }

    /// All with a common prefix (tests): `<prefix>-accounts`, …
    pub fn with_prefix(prefix: &str) -> TableNames {
        TableNames {
            accounts: format!("{prefix}-accounts"),
            ephemeral: format!("{prefix}-ephemeral"),
            audit: format!("{prefix}-audit"),
            staff: format!("{prefix}-staff"),
        }
    }

    /// From `SAPK_TABLE_*`; a missing variable is an error naming it.
    pub fn from_env_required(get: &dyn Fn(&str) -> Option<String>) -> Result<TableNames, String> {
        let need = |role: TableRole| {
            let spec = spec(role);
            get(spec.env)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| spec.env.to_owned())
        };
        let mut missing = Vec::new();
        let mut take = |role| need(role).map_err(|e| missing.push(e)).unwrap_or_default();
        let names = TableNames {
            accounts: take(TableRole::Accounts),
            ephemeral: take(TableRole::Ephemeral),
            audit: take(TableRole::Audit),
            staff: take(TableRole::Staff),
        };
        if missing.is_empty() {
            Ok(names)
        } else {
            Err(missing.join(", "))
        }
    }

    /// From `SAPK_TABLE_*`, falling back to the default names.
    pub fn from_env_or_default(get: &dyn Fn(&str) -> Option<String>) -> TableNames {
        let pick = |role| {
            let s = spec(role);
            get(s.env)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| s.default_name.to_owned())
        };
        TableNames {
            accounts: pick(TableRole::Accounts),
            ephemeral: pick(TableRole::Ephemeral),
            audit: pick(TableRole::Audit),
            staff: pick(TableRole::Staff),
        }
    }
}

pub fn spec(role: TableRole) -> TableSpec {
    match role {
        TableRole::Accounts => TABLES[0],
        TableRole::Ephemeral => TABLES[1],
        TableRole::Audit => TABLES[2],
        TableRole::Staff => TABLES[3],
    }
}

#[derive(Debug, thiserror::Error)]
#[error("creating table {table}: {message}")]
pub struct CreateError {
    pub table: String,
    pub message: String,
}

/// The request that creates table `t` as `name`: its keys, its index (keys only), on-demand.
fn table_request(
    client: &Client,
    t: &TableSpec,
    name: &str,
) -> Result<
    aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder,
    aws_sdk_dynamodb::error::BuildError,
> {
    let key = |attr: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(attr)
            .key_type(kind)
            .build()
    };
    let string_attr = |attr: &str| {
        AttributeDefinition::builder()
            .attribute_name(attr)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let mut keys = vec![(t.partition_key, KeyType::Hash)];
    if let Some(sk) = t.sort_key {
        keys.push((sk, KeyType::Range));
    }
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attr, kind) in keys {
        req = req
            .key_schema(key(attr, kind)?)
            .attribute_definitions(string_attr(attr)?);
    }
    if let Some((index, attr)) = t.index {
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(index)
            .key_schema(key(attr, KeyType::Hash)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build(),
            )
            .build()?;
        req = req
            .global_secondary_indexes(gsi)
            .attribute_definitions(string_attr(attr)?);
    }
    Ok(req)
}

/// Creates the tables (on-demand billing) and turns on TTL where defined. Tables that exist
/// already are left as they are. For local and test use; production tables come from
/// `infra/template.yaml`.
pub async fn create_tables(
    client: &Client,
    names: &TableNames,
) -> Result<Vec<String>, CreateError> {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    let mut created = Vec::new();
    for t in TABLES {
        let name = names.name(t.role).to_owned();
        let err = |m: String| CreateError {
            table: name.clone(),
            message: m,
        };
        let req = table_request(client, &t, &name).map_err(|e| err(e.to_string()))?;
        match req.send().await {
            Ok(_) => created.push(name.clone()),
            Err(e) if e.code() == Some("ResourceInUseException") => continue,
            Err(e) => {
                return Err(err(
                    aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
                ))
            }
        }
        if let Some(ttl) = t.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(ttl)
                        .enabled(true)
                        .build()
                        .map_err(|e| err(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        }
    }
    Ok(created)
}
