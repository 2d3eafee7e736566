//! The Lambda functions wired as their `main`s wire them, over the DynamoDB (moto) and SES
//! (aws-ses-v2-local) stand-ins that `scripts/test` starts.

use sapk_aws::aws_sdk_dynamodb;
use sapk_aws::aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use sapk_aws::aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use sapk_aws::{create_tables, dynamodb_client, local_sdk_config, sesv2_client, TableNames};
use sapk_http::Api;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub fn dynamodb_url() -> String {
    std::env::var("SAPK_TEST_DYNAMODB_URL")
        .expect("SAPK_TEST_DYNAMODB_URL is not set: run scripts/test, which starts moto")
}

pub fn ses_url() -> String {
    std::env::var("SAPK_TEST_SES_URL")
        .expect("SAPK_TEST_SES_URL is not set: run scripts/test, which starts aws-ses-v2-local")
}

static PREFIX: AtomicU32 = AtomicU32::new(0);

/// Fresh tables with a unique prefix.
pub async fn fresh_tables(dynamodb_endpoint: &str) -> TableNames {
    let n = PREFIX.fetch_add(1, Ordering::SeqCst);
    let names = TableNames::with_prefix(&format!("e2e-{}-{n}", std::process::id()));
    let client = dynamodb_client(&local_sdk_config(dynamodb_endpoint).await);
    create_tables(&client, &names).await.expect("create tables");
    names
}

/// The environment a deployed function would have (cheap argon2: tests check behaviour).
pub fn function_env(tables: &TableNames) -> HashMap<String, String> {
    HashMap::from([
        ("SAPK_TABLE_ACCOUNTS".into(), tables.accounts.clone()),
        ("SAPK_TABLE_EPHEMERAL".into(), tables.ephemeral.clone()),
        ("SAPK_TABLE_AUDIT".into(), tables.audit.clone()),
        (
            "SAPK_MAIL_FROM".into(),
            "SAPK BKN <no-reply@sapk.example.go.id>".into(),
        ),
        (
            "SAPK_TOKEN_KEY".into(),
            sapk_core::TokenKey::generate().expect("key").to_base64(),
        ),
        ("SAPK_FORGOT_MIN_MS".into(), "0".into()),
        ("SAPK_ARGON2_MEMORY_KIB".into(), "1024".into()),
        ("SAPK_ARGON2_ITERATIONS".into(), "1".into()),
    ])
}

/// The three functions, sharing one service as three Lambdas share one database.
pub struct Functions {
    pub forgot: Api,
    pub reset: Api,
    pub login: Api,
    pub service: Arc<sapk_core::Service>,
}

/// The DynamoDB operations a client sent (by their `X-Amz-Target`), counted by an SDK
/// interceptor.
#[derive(Debug, Clone, Default)]
pub struct DynamoCalls(Arc<std::sync::Mutex<Vec<String>>>);

impl DynamoCalls {
    /// Takes the operations sent so far, sorted (calls made at once have no order).
    pub fn take_sorted(&self) -> Vec<String> {
        let mut v = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        v.sort_unstable();
        v
    }
}

impl Intercept for DynamoCalls {
    fn name(&self) -> &'static str {
        "DynamoCalls"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(t) = ctx.request().headers().get("x-amz-target") {
            let op = t.rsplit('.').next().unwrap_or(t).to_owned();
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(op);
        }
        Ok(())
    }
}

pub async fn functions(dynamodb_endpoint: &str, env: &HashMap<String, String>) -> Functions {
    functions_counted(dynamodb_endpoint, env, None).await
}

/// The functions over a DynamoDB client whose every call `calls` records.
pub async fn functions_counted(
    dynamodb_endpoint: &str,
    env: &HashMap<String, String>,
    calls: Option<DynamoCalls>,
) -> Functions {
    let sdk = local_sdk_config(dynamodb_endpoint).await;
    let dynamodb = match calls {
        Some(c) => aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(c)
                .build(),
        ),
        None => dynamodb_client(&sdk),
    };
    let ses = sesv2_client(&local_sdk_config(&ses_url()).await);
    // The functions' wiring with the test's own settings (cheap argon2, no padding): below
    // the floors `build_service` holds deployed functions to, so injected directly.
    let get = |k: &str| env.get(k).cloned();
    let config = sapk_core::Config::from_lookup(&get).expect("test configuration");
    let tables = TableNames::from_env_required(&get).expect("table names");
    let key = sapk_core::TokenKey::from_secret_text(&env["SAPK_TOKEN_KEY"]).expect("token key");
    let service = Arc::new(
        sapk_functions::build_service_with(
            dynamodb,
            ses,
            tables,
            env["SAPK_MAIL_FROM"].clone(),
            key,
            config,
            None,
        )
        .expect("wiring"),
    );
    Functions {
        forgot: Api::new(service.clone(), sapk_functions::FORGOT_ROUTES),
        reset: Api::new(service.clone(), sapk_functions::RESET_ROUTES),
        login: Api::new(service.clone(), sapk_functions::LOGIN_ROUTES),
        service,
    }
}

/// An API Gateway v2 event, invoked on `api` as the Lambda runtime would.
pub async fn invoke(
    api: &Api,
    method: &str,
    path: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut headers = lambda_http::http::HeaderMap::new();
    if let Some(t) = bearer {
        if let Ok(v) = format!("Bearer {t}").parse() {
            headers.insert("authorization", v);
        }
    }
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let peer: SocketAddr = "203.0.113.10:443".parse().expect("addr");
    let event = sapk_local::apigw_v2_event(method, path, "", &headers, &bytes, peer);
    let req = lambda_http::request::from_str(&event.to_string()).expect("event");
    let resp = api.handle(req).await;
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let json = serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null);
    (status, json, retry)
}

/// The code in the newest reset-code e-mail aws-ses-v2-local holds for `to`.
pub async fn ses_code_for(to: &str) -> Option<String> {
    let store: Value = reqwest::get(format!("{}/store", ses_url()))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    store["emails"]
        .as_array()?
        .iter()
        .rev()
        .filter(|m| {
            m["destination"]["to"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == to))
        })
        .filter(|m| {
            m["subject"] == "Kode reset password SAPK" || m["subject"] == "SAPK password reset code"
        })
        .find_map(|m| crate::find_code(m["body"]["text"].as_str().unwrap_or("")))
}

/// Every message aws-ses-v2-local holds for `to`.
pub async fn ses_mail_for(to: &str) -> Vec<Value> {
    let Ok(resp) = reqwest::get(format!("{}/store", ses_url())).await else {
        return Vec::new();
    };
    let store: Value = resp.json().await.unwrap_or(Value::Null);
    store["emails"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m["destination"]["to"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == to))
        })
        .collect()
}
