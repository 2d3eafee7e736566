//! The Lambda functions wired as their `main`s wire them, over the DynamoDB (moto) and SES
//! (aws-ses-v2-local) stand-ins that `scripts/test` starts.

use sapk_aws::aws_sdk_dynamodb;
use sapk_aws::aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use sapk_aws::aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use sapk_aws::{create_tables, dynamodb_client, local_sdk_config, Entry, Settings, TableNames};
use sapk_http::{Api, ApiGatewayV2};
use serde_json::Value;
use std::collections::HashMap;
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
        ("SAPK_TABLE_STAFF".into(), tables.staff.clone()),
        (
            "SAPK_MAIL_FROM".into(),
            "SAPK BKN <no-reply@sapk.example.go.id>".into(),
        ),
        (
            "SAPK_TOKEN_KEY".into(),
            sapk_core::TokenKey::generate().expect("key").to_base64(),
        ),
        (
            "SAPK_PII_KEY".into(),
            sapk_core::TokenKey::generate().expect("key").to_base64(),
        ),
        (
            "SAPK_FACTOR_KEY".into(),
            sapk_core::TokenKey::generate().expect("key").to_base64(),
        ),
        ("SAPK_FORGOT_MIN_MS".into(), "0".into()),
        ("SAPK_ARGON2_MEMORY_KIB".into(), "1024".into()),
        ("SAPK_ARGON2_ITERATIONS".into(), "1".into()),
    ])
}

/// The functions as deployed, each with its own service over the same tables; `service` is
/// the staff function's (the widest wiring), for the tests' own set-up.
pub struct Functions {
    pub forgot: Api,
    pub reset: Api,
    pub login: Api,
    pub staff: sapk_http::StaffApi,
    pub service: Arc<sapk_core::Service>,
}

impl Functions {
    /// `POST /v1/password/forgot` on the forgot function.
    pub async fn post_forgot(&self, nip: &str) -> (u16, Value, Option<String>) {
        post_forgot_on(&self.forgot, nip).await
    }

    /// `POST /v1/password/reset` on the reset function.
    pub async fn post_reset(
        &self,
        nip: &str,
        code: &str,
        pw: &str,
    ) -> (u16, Value, Option<String>) {
        let body = serde_json::json!({ "nip": nip, "token": code, "new_password": pw });
        invoke(&self.reset, "POST", "/v1/password/reset", Some(body), None).await
    }

    /// `POST /v1/login` on the login function.
    pub async fn post_login(&self, nip: &str, pw: &str) -> (u16, Value, Option<String>) {
        let body = serde_json::json!({ "nip": nip, "password": pw });
        invoke(&self.login, "POST", "/v1/login", Some(body), None).await
    }

    /// forgot → the code through SES → reset → login; the session token.
    pub async fn activate(&self, nip: &str, email: &str, pw: &str) -> String {
        let (s, body, _) = self.post_forgot(nip).await;
        assert_eq!(s, 202, "{body}");
        let code = ses_code_for(email).await.expect("code mailed through SES");
        let (s, body, _) = self.post_reset(nip, &code, pw).await;
        assert_eq!(s, 200, "{body}");
        let (s, body, _) = self.post_login(nip, pw).await;
        assert_eq!(s, 200, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }
}

/// The DynamoDB operations a client sent (by their `X-Amz-Target`), counted by an SDK
/// interceptor once per operation: the SDK's retries of one call are that call.
#[derive(Debug, Clone, Default)]
pub struct DynamoCalls {
    ops: Arc<std::sync::Mutex<Vec<String>>>,
    /// Each call's operation, when its first attempt was sent and when its last answer was
    /// read.
    timeline: Arc<std::sync::Mutex<Vec<TimedCall>>>,
    /// Every (IAM action, table or `table/index/name`) a request needed, transactions and
    /// batches broken into their items.
    actions: Arc<std::sync::Mutex<std::collections::BTreeSet<(String, String)>>>,
    /// Every item write: (IAM action, table, its condition expression if any).
    writes: Arc<std::sync::Mutex<std::collections::BTreeSet<ItemWrite>>>,
}

/// One item write as sent: (IAM action, table, condition expression).
pub type ItemWrite = (String, String, Option<String>);

/// A DynamoDB transaction's items: (kind, the IAM action it needs, the item's part), e.g.
/// `("Put", "PutItem", {"TableName": …, "Item": …})`.
pub fn transaction_items(v: &Value) -> Vec<(&'static str, &'static str, &Value)> {
    let mut out = Vec::new();
    for item in v["TransactItems"].as_array().into_iter().flatten() {
        for (kind, a) in [
            ("Put", "PutItem"),
            ("Delete", "DeleteItem"),
            ("Update", "UpdateItem"),
            ("ConditionCheck", "ConditionCheckItem"),
            ("Get", "GetItem"),
        ] {
            if item[kind]["TableName"].is_string() {
                out.push((kind, a, &item[kind]));
            }
        }
    }
    out
}

/// The IAM (action, resource) pairs one DynamoDB request needs, and its item writes. A
/// query or scan of an index needs the action on the index (`table/index/name`), not the
/// table; a transaction or a batch needs each item's own action on each item's table.
pub fn iam_pairs(op: &str, v: &Value) -> (Vec<(String, String)>, Vec<ItemWrite>) {
    let action = |a: &str| format!("dynamodb:{a}");
    let cond = |x: &Value| x["ConditionExpression"].as_str().map(str::to_owned);
    let mut pairs = Vec::new();
    let mut writes = Vec::new();
    match op {
        "TransactWriteItems" | "TransactGetItems" => {
            for (kind, a, part) in transaction_items(v) {
                let t = part["TableName"].as_str().unwrap_or_default();
                pairs.push((action(a), t.to_owned()));
                if kind != "Get" && kind != "ConditionCheck" {
                    writes.push((action(a), t.to_owned(), cond(part)));
                }
            }
        }
        "BatchGetItem" | "BatchWriteItem" => {
            for t in v["RequestItems"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(t, _)| t)
            {
                pairs.push((action(op), t.clone()));
                if op == "BatchWriteItem" {
                    writes.push((action(op), t.clone(), None));
                }
            }
        }
        _ => {
            if let Some(t) = v["TableName"].as_str() {
                let target = match v["IndexName"].as_str() {
                    Some(i) => format!("{t}/index/{i}"),
                    None => t.to_owned(),
                };
                pairs.push((action(op), target));
                if ["PutItem", "UpdateItem", "DeleteItem"].contains(&op) {
                    writes.push((action(op), t.to_owned(), cond(v)));
                }
            }
        }
    }
    (pairs, writes)
}

/// One call, keyed by its operation's configuration bag (one per operation invocation,
/// alive from its request through its retries to its answer).
#[derive(Debug, Clone)]
struct TimedCall {
    op: String,
    key: usize,
    sent: Option<std::time::Instant>,
    answered: Option<std::time::Instant>,
}

fn call_key(cfg: &ConfigBag) -> usize {
    cfg as *const ConfigBag as usize
}

/// The longest chain of calls each sent after the one before it was answered: the round
/// trips a request waited for one after another (calls made at once overlap).
pub fn sequential_depth(calls: &[(String, std::time::Instant, std::time::Instant)]) -> usize {
    let mut by_end: Vec<_> = calls.iter().collect();
    by_end.sort_by_key(|c| c.2);
    let mut depth = 0;
    let mut last_end: Option<std::time::Instant> = None;
    for (_, sent, answered) in by_end {
        if last_end.is_none_or(|e| *sent >= e) {
            depth += 1;
            last_end = Some(*answered);
        }
    }
    depth
}

impl DynamoCalls {
    /// Takes the answered calls so far, as (operation, sent, answered).
    pub fn take_timeline(&self) -> Vec<(String, std::time::Instant, std::time::Instant)> {
        std::mem::take(&mut *self.timeline.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .filter_map(|c| Some((c.op, c.sent?, c.answered?)))
            .collect()
    }

    /// Takes the operations sent so far, sorted (calls made at once have no order).
    pub fn take_sorted(&self) -> Vec<String> {
        let mut v = std::mem::take(&mut *self.ops.lock().unwrap_or_else(|p| p.into_inner()));
        v.sort_unstable();
        v
    }

    /// Takes the (IAM action, table name or `table/index/name`) pairs used so far.
    pub fn take_actions(&self) -> std::collections::BTreeSet<(String, String)> {
        std::mem::take(&mut *self.actions.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Takes the item writes sent so far.
    pub fn take_writes(&self) -> std::collections::BTreeSet<ItemWrite> {
        std::mem::take(&mut *self.writes.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The newest call of the operation `cfg` belongs to.
    fn with_call(&self, cfg: &ConfigBag, f: impl FnOnce(&mut TimedCall)) {
        let key = call_key(cfg);
        let mut t = self.timeline.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = t.iter_mut().rev().find(|c| c.key == key) {
            f(c);
        }
    }

    fn record(&self, op: &str, body: &[u8]) {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let (pairs, writes) = iam_pairs(op, &v);
        self.writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(writes);
        self.ops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(op.to_owned());
        self.actions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(pairs);
    }
}

impl Intercept for DynamoCalls {
    fn name(&self) -> &'static str {
        "DynamoCalls"
    }

    /// Once per operation, before its retry loop: an SDK retry of a transient failure (a
    /// slow or dropped answer from the stand-in) is the same call, not another one.
    fn read_after_serialization(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(t) = ctx.request().headers().get("x-amz-target") {
            let op = t.rsplit('.').next().unwrap_or(t);
            self.record(op, ctx.request().body().bytes().unwrap_or_default());
            self.timeline
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(TimedCall {
                    op: op.to_owned(),
                    key: call_key(cfg),
                    sent: None,
                    answered: None,
                });
        }
        Ok(())
    }

    /// Each attempt: the call runs from its first attempt's sending to its last answer.
    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.with_call(cfg, |c| {
            c.sent.get_or_insert_with(std::time::Instant::now);
            c.answered = None;
        });
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _ctx: &sapk_aws::aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.with_call(cfg, |c| c.answered = Some(std::time::Instant::now()));
        Ok(())
    }
}

/// Makes one DynamoDB operation fail while armed: before it is sent (nothing reaches the
/// table), or after its answer arrived (the write is done, the answer is lost). Meant for
/// one such request at a time.
#[derive(Debug, Clone, Default)]
pub struct DynamoFault {
    pub operation: &'static str,
    pub after_commit: bool,
    pub armed: Arc<std::sync::atomic::AtomicBool>,
    /// Set when the armed operation was sent, for `read_after_transmit`.
    sent: Arc<std::sync::atomic::AtomicBool>,
}

impl DynamoFault {
    pub fn new(operation: &'static str, after_commit: bool) -> DynamoFault {
        DynamoFault {
            operation,
            after_commit,
            ..DynamoFault::default()
        }
    }

    pub fn arm(&self, on: bool) {
        self.armed.store(on, Ordering::SeqCst);
    }
}

impl Intercept for DynamoFault {
    fn name(&self) -> &'static str {
        "DynamoFault"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let hit = self.armed.load(Ordering::SeqCst)
            && ctx
                .request()
                .headers()
                .get("x-amz-target")
                .is_some_and(|t| t.rsplit('.').next() == Some(self.operation));
        if hit && !self.after_commit {
            return Err("injected: connection lost before sending".into());
        }
        self.sent.store(hit, Ordering::SeqCst);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _ctx: &sapk_aws::aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.after_commit && self.sent.swap(false, Ordering::SeqCst) {
            return Err("injected: connection lost after the write".into());
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
    functions_intercepted(dynamodb_endpoint, env, calls, None).await
}

/// The functions over a DynamoDB client with a call log and a fault, as given.
pub async fn functions_intercepted(
    dynamodb_endpoint: &str,
    env: &HashMap<String, String>,
    calls: Option<DynamoCalls>,
    fault: Option<DynamoFault>,
) -> Functions {
    functions_with(dynamodb_endpoint, env, calls, fault, None).await
}

/// The functions with every SES request recorded in `ses` (method and path).
pub async fn functions_recording_ses(
    dynamodb_endpoint: &str,
    env: &HashMap<String, String>,
    ses: HttpCalls,
) -> Functions {
    functions_with(dynamodb_endpoint, env, None, None, Some(ses)).await
}

/// The requests a client sent, as (method, path), one per attempt.
#[derive(Debug, Clone, Default)]
pub struct HttpCalls(Arc<std::sync::Mutex<Vec<(String, String)>>>);

impl HttpCalls {
    pub fn take(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Intercept for HttpCalls {
    fn name(&self) -> &'static str {
        "HttpCalls"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let r = ctx.request();
        let path = r.uri().split('?').next().unwrap_or_default();
        let path = path
            .split_once("://")
            .map_or(path, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((r.method().to_owned(), path.to_owned()));
        Ok(())
    }
}

async fn functions_with(
    dynamodb_endpoint: &str,
    env: &HashMap<String, String>,
    calls: Option<DynamoCalls>,
    fault: Option<DynamoFault>,
    ses_calls: Option<HttpCalls>,
) -> Functions {
    let sdk = local_sdk_config(dynamodb_endpoint).await;
    let mut cfg = sapk_aws::dynamodb_config(&sdk);
    if let Some(c) = calls {
        cfg = cfg.interceptor(c);
    }
    if let Some(f) = fault {
        cfg = cfg.interceptor(f);
    }
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(cfg.build());
    let aws = local_sdk_config(dynamodb_endpoint).await;
    let mut ses =
        sapk_aws::aws_sdk_sesv2::config::Builder::from(&local_sdk_config(&ses_url()).await);
    if let Some(c) = ses_calls {
        ses = ses.interceptor(c);
    }
    let clients = sapk_functions::Clients {
        dynamodb,
        ses: sapk_aws::aws_sdk_sesv2::Client::from_conf(ses.build()),
        sqs: sapk_aws::sqs_client(&aws),
        s3: sapk_aws::s3_client(&aws),
    };
    // The functions' settings reader with the test's own settings (cheap argon2, no padding):
    // below the floors `Settings::for_function` holds deployed functions to, so read without
    // that check. Then each function wired by the very functions its `main` calls: its own
    // service over the same tables (as the Lambdas share one database), the public ones with
    // the edge trust of SAPK_ORIGIN_VERIFY, the staff one with SES's suppression list and the
    // archive's checkpoints.
    let get = |k: &str| env.get(k).cloned();
    let settings = Settings::read(Entry::Function, &get).expect("test settings");
    let api = |routes| sapk_functions::build_api(&settings, &clients, routes).expect("wiring");
    let staff = sapk_functions::build_staff(&settings, &clients).expect("staff wiring");
    Functions {
        forgot: api(sapk_functions::FORGOT_ROUTES),
        reset: api(sapk_functions::RESET_ROUTES),
        login: api(sapk_functions::LOGIN_ROUTES),
        service: staff.service().clone(),
        staff,
    }
}

/// An API Gateway v2 event, invoked on `api` as the Lambda runtime would: the status, the
/// body and `Retry-After`.
pub async fn invoke(
    api: &Api,
    method: &str,
    path: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> (u16, Value, Option<String>) {
    invoke_from(api, "203.0.113.10", method, path, body, bearer).await
}

/// [`invoke`] from the source address `ip`.
pub async fn invoke_from(
    api: &Api,
    ip: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut event = ApiGatewayV2::new(method, path).source_ip(ip);
    if let Some(b) = body {
        event = event.json(&b);
    }
    if let Some(t) = bearer {
        event = event.bearer(t);
    }
    let a = sapk_testkit::events::call(api, &event).await;
    let retry = a.header("retry-after");
    (a.status, a.json, retry)
}

/// `POST /v1/password/forgot` on `api` (a forgot function wired some other way).
pub async fn post_forgot_on(api: &Api, nip: &str) -> (u16, Value, Option<String>) {
    let body = serde_json::json!({ "nip": nip });
    invoke(api, "POST", "/v1/password/forgot", Some(body), None).await
}

/// A staff request as API Gateway delivers it after its IAM authorizer verified `principal`.
pub async fn invoke_staff(
    api: &sapk_http::StaffApi,
    method: &str,
    path: &str,
    body: Option<Value>,
    principal: &str,
) -> (u16, Value) {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut event = ApiGatewayV2::new(method, path)
        .query(query)
        .source_ip("198.51.100.20")
        .header("content-type", "application/json")
        .iam_caller(principal);
    if let Some(b) = body {
        event = event.body(b.to_string());
    }
    let a = sapk_testkit::events::call_staff(api, &event).await;
    (a.status, a.json)
}

/// The code in the newest reset-code e-mail aws-ses-v2-local holds for `to`.
pub async fn ses_code_for(to: &str) -> Option<String> {
    sapk_testkit::ses::code_for(&ses_url(), to).await
}

/// Every message aws-ses-v2-local holds for `to`.
pub async fn ses_mail_for(to: &str) -> Vec<Value> {
    sapk_testkit::ses::mail_for(&ses_url(), to).await
}

/// An employee (name Rina Kartika, agency BKN) imported as the data administrator would.
pub async fn seed(svc: &sapk_core::Service, nip: &str, email: &str) {
    use sapk_core::staff::{EmployeeRow, Operator};
    svc.staff()
        .import_employee(
            &EmployeeRow {
                nip: nip.into(),
                name: "Rina Kartika".into(),
                email: email.into(),
                instansi: Some("BKN".into()),
            },
            &Operator {
                id: "test".into(),
                office: "TEST".into(),
                officer_id: None,
                scope: None,
                office_name: None,
            },
        )
        .await
        .expect("seed");
}

/// A counter at the wire: a TCP relay in front of the DynamoDB stand-in that counts every
/// HTTP request passing through it by its `X-Amz-Target` operation (SDK retries included,
/// as the endpoint sees them). The SDK is pointed at [`WireCounter::url`].
#[derive(Clone)]
pub struct WireCounter {
    pub url: String,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

/// Finds `x-amz-target:` header lines in a request stream (case-insensitive), keeping a
/// tail across reads so that a line split between two reads is still found once.
#[derive(Default)]
struct TargetScanner {
    carry: Vec<u8>,
}

impl TargetScanner {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<String>) {
        self.carry.extend_from_slice(bytes);
        let lower = self.carry.to_ascii_lowercase();
        let needle = b"\r\nx-amz-target:";
        let mut done = 0;
        let mut i = 0;
        while i + needle.len() <= lower.len() {
            if &lower[i..i + needle.len()] == needle {
                let start = i + needle.len();
                match self.carry[start..].windows(2).position(|w| w == b"\r\n") {
                    Some(end) => {
                        let value = String::from_utf8_lossy(&self.carry[start..start + end]);
                        let op = value.trim().rsplit('.').next().unwrap_or("").to_owned();
                        out.push(op);
                        i = start + end;
                        done = i;
                        continue;
                    }
                    None => break,
                }
            }
            i += 1;
        }
        // Keep what may still hold the start of a header line.
        let keep_from = done.max(self.carry.len().saturating_sub(needle.len() + 64));
        self.carry.drain(..keep_from);
    }
}

impl WireCounter {
    /// Starts the relay to `upstream` (`http://127.0.0.1:PORT`) on a free local port.
    pub async fn start(upstream: &str) -> WireCounter {
        let target = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the wire counter");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (target, seen) = (target.clone(), s.clone());
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.split();
                    let (mut sr, mut sw) = server.split();
                    let up = async {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut scanner = TargetScanner::default();
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            let mut ops = Vec::new();
                            scanner.feed(&buf[..n], &mut ops);
                            seen.lock().unwrap_or_else(|p| p.into_inner()).extend(ops);
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        use tokio::io::AsyncWriteExt;
                        let _ = cw.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        WireCounter { url, seen }
    }

    /// The requests seen since the last call, as sorted operation names.
    pub fn take_sorted(&self) -> Vec<String> {
        let mut v = std::mem::take(&mut *self.seen.lock().unwrap_or_else(|p| p.into_inner()));
        v.sort_unstable();
        v
    }
}

/// Andi, a BKN office's officer (scope: every employee), as a supervisor registers him.
pub async fn register_bkn_officer(service: &sapk_core::Service, principal: &str) {
    register_bkn_officer_as(service, principal, "198807122019032001", "Andi").await;
}

/// A BKN office's officer `name` with the officer ID (NIP) `officer_id`.
pub async fn register_bkn_officer_as(
    service: &sapk_core::Service,
    principal: &str,
    officer_id: &str,
    name: &str,
) {
    service
        .staff()
        .register_officer(
            sapk_core::ports::Officer {
                principal: principal.into(),
                officer_id: officer_id.into(),
                name: name.into(),
                office: "KANREG-III".into(),
                scope: sapk_core::ports::StaffScope::Bkn,
                active: true,
                updated_at: chrono::Utc::now(),
                office_name: None,
            },
            &sapk_core::staff::Operator {
                id: "supervisor".into(),
                office: "KANREG-III".into(),
                officer_id: None,
                scope: None,
                office_name: None,
            },
            false,
        )
        .await
        .expect("officer registered");
}
