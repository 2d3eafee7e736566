//! Every AWS call each function binary makes, recorded at the wire (issue #29): each binary
//! runs under a Lambda Runtime API on 127.0.0.1 with exactly the environment
//! `infra/template.yaml` gives it (its secrets in Secrets Manager, its queues, tables and
//! bucket on moto, SES on aws-ses-v2-local), its own access key id, and `AWS_ENDPOINT_URL`
//! pointing at a relay that writes down each call as IAM authorises it. It is fed a harmless
//! event of every kind it serves (every route of the API functions, an SQS batch from each
//! queue, an SNS notice, a stream batch, a schedule tick), once with the custom domain on and
//! once off. The recording must equal `infra/aws-calls.json`, which `infra/checks.py`
//! evaluates against each function's role in the translated template (`scripts/check-infra`):
//! every call allowed, every permission used or excepted with a reason.
//!
//! `SAPK_UPDATE_AWS_CALLS=1` writes the file instead of comparing it.

use sapk_e2e::aws::{
    dynamodb_url, fresh_tables, function_env as harness_env, functions, register_bkn_officer,
    register_bkn_officer_as, seed, ses_code_for, ses_url,
};
use sapk_e2e::control_plane::ControlPlane;
use sapk_e2e::lambda_runtime::LambdaProcess;
use sapk_e2e::recorder::Recorder;
use sapk_e2e::workspace_bin;
use sapk_http::ApiGatewayV2;
use serde_json::{json, Value};
use serde_norway::Value as Y;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const PW: &str = "Sungai-Kapuas-Senja-58";
const PW2: &str = "Perahu-Layar-Biru-27";
const FROM: &str = "SAPK BKN <no-reply@sapk.example.go.id>";
const IDENTITY: &str = "sapk.example.go.id";
const ANDI: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1/andi@bkn.go.id";
const BUDI: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1/budi@bkn.go.id";

/// The functions deployed gradually, each probed by the pre-traffic hook.
const PROBED: [&str; 7] = [
    "ForgotFunction",
    "ResetFunction",
    "LoginFunction",
    "StaffFunction",
    "MailerFunction",
    "MailStatusFunction",
    "AuditArchiveFunction",
];

/// Phase → sorted (action, resource) pairs, per function.
type Recording = BTreeMap<String, BTreeMap<String, BTreeSet<(String, String)>>>;

fn template() -> Y {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).expect("template")).expect("yaml")
}

/// What the stack's resources and parameters are called here.
struct World {
    refs: HashMap<String, String>,
    /// Concrete name → the template's name for it, for the recording.
    names: Vec<(String, String)>,
    origin_value: String,
    sqs: sapk_aws::aws_sdk_sqs::Client,
    /// The stand-in for the Pwned Passwords range API (`BreachRangeUrl`).
    range: sapk_e2e::range_api::RangeApi,
}

async fn world(tag: &str) -> World {
    let sdk = sapk_aws::local_sdk_config(&dynamodb_url()).await;
    let tables = fresh_tables(&dynamodb_url()).await;
    let pid = std::process::id();
    let mut refs = HashMap::new();
    let mut names = Vec::new();
    for (logical, name) in [
        ("AccountsTable", &tables.accounts),
        ("EphemeralTable", &tables.ephemeral),
        ("AuditTable", &tables.audit),
        ("StaffTable", &tables.staff),
    ] {
        refs.insert(logical.to_owned(), name.clone());
        names.push((name.clone(), logical.to_owned()));
    }
    let sqs = sapk_aws::sqs_client(&sdk);
    for logical in ["MailQueue", "MailNoticeQueue"] {
        let name = format!("calls-{pid}-{tag}-{logical}");
        let url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("queue");
        refs.insert(
            logical.to_owned(),
            url.queue_url().unwrap_or_default().to_owned(),
        );
        names.push((name, logical.to_owned()));
    }
    let secrets = sapk_aws::aws_sdk_secretsmanager::Client::new(&sdk);
    let origin_value = format!(
        "origin-{pid}-{}",
        sapk_core::TokenKey::generate().expect("key").to_base64()
    );
    for logical in [
        "TokenKeySecret",
        "AuditKeySecret",
        "PiiKeySecret",
        "FactorKeySecret",
        "OriginVerifySecret",
        "SupervisorAuditKeySecret",
        "DataAdminAuditKeySecret",
    ] {
        let value = if logical == "OriginVerifySecret" {
            origin_value.clone()
        } else {
            sapk_core::TokenKey::generate().expect("key").to_base64()
        };
        let out = secrets
            .create_secret()
            .name(format!("calls-{pid}-{tag}-{logical}"))
            .secret_string(value)
            .send()
            .await
            .expect("secret");
        let arn = out.arn().unwrap_or_default().to_owned();
        refs.insert(logical.to_owned(), arn.clone());
        names.push((arn, logical.to_owned()));
    }
    let s3 = sapk_aws::s3_client(&sdk);
    let bucket = format!("calls-{pid}-{tag}-archive").to_lowercase();
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            sapk_aws::aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint("ap-southeast-3".into())
                .build(),
        )
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("bucket");
    refs.insert("AuditArchiveBucket".into(), bucket.clone());
    names.push((bucket, "AuditArchiveBucket".into()));
    let set = format!("calls-{pid}-{tag}-mail");
    refs.insert("MailConfigurationSet".into(), set.clone());
    names.push((set, "MailConfigurationSet".into()));
    names.push((IDENTITY.into(), "SesIdentity".into()));
    // The functions by their logical names (the control plane knows them so), and the
    // CodeDeploy application SAM creates.
    for f in PROBED {
        refs.insert(f.to_owned(), f.to_owned());
    }
    names.push((
        "sapk-codedeploy-app".into(),
        "ServerlessDeploymentApplication".into(),
    ));
    for (param, value) in [
        ("MailFrom", FROM),
        ("SecondFactorRequiredFor", ""),
        ("AuditRetentionDays", "1825"),
        ("SesMaxSendRate", "14"),
        ("PublicUrl", "https://sapk.example.go.id/"),
    ] {
        refs.insert(param.into(), value.into());
    }
    let range = sapk_e2e::range_api::RangeApi::start(&[]).await;
    refs.insert("BreachRangeUrl".into(), range.url.clone());
    // Longest first, so that no name is replaced inside a longer one.
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    World {
        refs,
        names,
        origin_value,
        sqs,
        range,
    }
}

/// A value of the template's environment under `conds`: `!Ref`, `!If`, text and numbers.
fn env_value(v: &Y, world: &World, conds: &HashMap<&str, bool>) -> String {
    match v {
        Y::String(s) => s.clone(),
        Y::Number(n) => n.to_string(),
        Y::Bool(b) => b.to_string(),
        Y::Tagged(t) if t.tag == "!Ref" => {
            let name = t.value.as_str().expect("a Ref names something");
            world
                .refs
                .get(name)
                .unwrap_or_else(|| panic!("the test gives no value for !Ref {name}"))
                .clone()
        }
        Y::Tagged(t) if t.tag == "!Sub" => {
            let mut text = t.value.as_str().expect("!Sub text").to_owned();
            while let Some(start) = text.find("${") {
                let end = start + text[start..].find('}').expect("a closed ${…}");
                let name = &text[start + 2..end];
                let value = world
                    .refs
                    .get(name)
                    .unwrap_or_else(|| panic!("the test gives no value for ${{{name}}}"))
                    .clone();
                text.replace_range(start..=end, &value);
            }
            text
        }
        Y::Tagged(t) if t.tag == "!If" => {
            let arms = t.value.as_sequence().expect("!If [cond, yes, no]");
            let cond = arms[0].as_str().expect("condition");
            let on = *conds
                .get(cond)
                .unwrap_or_else(|| panic!("condition {cond}"));
            env_value(&arms[if on { 1 } else { 2 }], world, conds)
        }
        other => panic!("an environment value the test cannot resolve: {other:?}"),
    }
}

/// The environment the template gives `function` (globals, then its own), as deployed.
fn deployed_env(
    t: &Y,
    function: &str,
    world: &World,
    conds: &HashMap<&str, bool>,
) -> HashMap<String, String> {
    let mut env = HashMap::new();
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    let own = &t["Resources"][function]["Properties"]["Environment"]["Variables"];
    for vars in [globals, own] {
        for (k, v) in vars.as_mapping().into_iter().flatten() {
            let value = env_value(v, world, conds);
            let key = k.as_str().expect("name").to_owned();
            if value.is_empty() {
                env.remove(&key);
            } else {
                env.insert(key, value);
            }
        }
    }
    env
}

fn binary_of(t: &Y, function: &str) -> String {
    t["Resources"][function]["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .unwrap_or_else(|| panic!("{function} names its binary"))
        .to_owned()
}

struct Run<'a> {
    t: &'a Y,
    world: &'a World,
    conds: HashMap<&'static str, bool>,
    recorder: &'a Recorder,
    recording: Recording,
}

impl Run<'_> {
    fn normalise(&self, resource: &str) -> String {
        let mut r = resource.to_owned();
        for (concrete, logical) in &self.world.names {
            r = r.replace(concrete.as_str(), logical);
        }
        // Object keys carry dates and digests: one shape per kind of object.
        if let Some((bucket, key)) = r
            .split_once('/')
            .filter(|(b, _)| *b == "AuditArchiveBucket")
        {
            let shape: String = key
                .split('/')
                .map(|seg| {
                    let (stem, ext) = seg.split_once('.').unwrap_or((seg, ""));
                    let stem = if stem.chars().any(|c| c.is_ascii_digit()) {
                        "*"
                    } else {
                        stem
                    };
                    if ext.is_empty() {
                        stem.to_owned()
                    } else {
                        format!("{stem}.{ext}")
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            r = format!("{bucket}/{shape}");
        }
        r
    }

    fn note(&mut self, function: &str, phase: &str) {
        self.note_each(&[(function, phase)]);
    }

    /// The calls since the last note, each under its caller's phase; a call from any other
    /// caller fails the test.
    fn note_each(&mut self, phases: &[(&str, &str)]) {
        for (caller, action, resource) in self.recorder.take() {
            let (_, phase) = phases
                .iter()
                .find(|(f, _)| *f == caller)
                .unwrap_or_else(|| panic!("a call by {caller} while {phases:?} ran: {action}"));
            let pair = (action, self.normalise(&resource));
            self.recording
                .entry(caller.clone())
                .or_default()
                .entry((*phase).to_owned())
                .or_default()
                .insert(pair);
        }
        for (function, phase) in phases {
            self.recording
                .entry((*function).to_owned())
                .or_default()
                .entry((*phase).to_owned())
                .or_default();
        }
    }

    async fn start(&mut self, function: &str) -> LambdaProcess {
        self.start_with(function, &[]).await
    }

    /// [`Run::start`] with `extra` variables on top of the deployed ones.
    async fn start_with(&mut self, function: &str, extra: &[(&str, &str)]) -> LambdaProcess {
        let mut env = deployed_env(self.t, function, self.world, &self.conds);
        env.extend([
            ("AWS_REGION".to_owned(), "ap-southeast-3".to_owned()),
            ("AWS_ACCESS_KEY_ID".to_owned(), function.to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
            ("AWS_ENDPOINT_URL".to_owned(), self.recorder.url.clone()),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ]);
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.recorder.take();
        let p = LambdaProcess::start(&workspace_bin(&binary_of(self.t, function)), function, &env)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.note(function, "start");
        p
    }

    /// Invokes `event` as `phase`; the function's answer.
    async fn call(
        &mut self,
        p: &LambdaProcess,
        function: &str,
        phase: &str,
        event: Value,
    ) -> Value {
        let answer = p
            .invoke(event)
            .await
            .unwrap_or_else(|e| panic!("{function} {phase}: {e}\n{}", p.output()));
        self.note(function, phase);
        answer
    }

    /// An API Gateway request through the edge when the custom domain is on.
    async fn api(
        &mut self,
        p: &LambdaProcess,
        function: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        bearer: Option<&str>,
    ) -> (u16, Value) {
        let (route, query) = path.split_once('?').unwrap_or((path, ""));
        let mut e = ApiGatewayV2::new(method, route)
            .query(query)
            .source_ip("203.0.113.10");
        if self.conds["HasApiDomain"] {
            e = e
                .header(sapk_http::ORIGIN_VERIFY_HEADER, &self.world.origin_value)
                .header(sapk_http::VIEWER_ADDRESS_HEADER, "203.0.113.10:443");
        }
        if let Some(b) = body {
            e = e.json(&b);
        }
        if let Some(t) = bearer {
            e = e.bearer(t);
        }
        let answer = self
            .call(p, function, &format!("{method} {route}"), e.to_json())
            .await;
        answered(&answer)
    }

    async fn staff(
        &mut self,
        p: &LambdaProcess,
        method: &str,
        path: &str,
        body: Option<Value>,
        who: &str,
    ) -> (u16, Value) {
        let (route, query) = path.split_once('?').unwrap_or((path, ""));
        let mut e = ApiGatewayV2::new(method, route)
            .query(query)
            .source_ip("198.51.100.20")
            .header("content-type", "application/json")
            .iam_caller(who);
        if let Some(b) = body {
            e = e.body(b.to_string());
        }
        let phase = staff_phase(method, route);
        let answer = self.call(p, "StaffFunction", &phase, e.to_json()).await;
        answered(&answer)
    }

    /// Everything on `queue` now, handed to the mailer as Lambda's SQS batches.
    async fn drain(&mut self, p: &LambdaProcess, queue: &str) -> usize {
        let url = self.world.refs[queue].clone();
        let sample: Value =
            serde_json::from_str(include_str!("../../data/sqs_event.json")).expect("fixture");
        let mut n = 0;
        loop {
            let got = self
                .world
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let messages = got.messages();
            if messages.is_empty() {
                return n;
            }
            n += messages.len();
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    let mut r = sample["Records"][0].clone();
                    r["messageId"] = json!(m.message_id());
                    r["receiptHandle"] = json!(m.receipt_handle());
                    r["body"] = json!(m.body());
                    r["md5OfBody"] = json!(m.md5_of_body());
                    r
                })
                .collect();
            let answer = self
                .call(
                    p,
                    "MailerFunction",
                    &format!("SQS {queue}"),
                    json!({ "Records": records }),
                )
                .await;
            assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
        }
    }
}

fn answered(answer: &Value) -> (u16, Value) {
    let status = answer["statusCode"].as_u64().unwrap_or(0) as u16;
    let body = answer["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

/// `POST /v1/staff/employees/{nip}/email`: the route with the NIP as a parameter (a path
/// about no NIP as it is).
fn staff_phase(method: &str, path: &str) -> String {
    let Some(rest) = path.strip_prefix(sapk_http::staff::routes::PREFIX) else {
        return format!("{method} {path}");
    };
    let suffix = rest.find('/').map_or("", |i| &rest[i..]);
    format!(
        "{method} {}{{nip}}{suffix}",
        sapk_http::staff::routes::PREFIX
    )
}

fn sns_event(fixture: &str, to: &str) -> Value {
    let path = format!(
        "{}/../crates/sapk-aws/tests/data/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let message = v["Records"][0]["Sns"]["Message"]
        .as_str()
        .expect("message")
        .replace("RECIPIENT", to);
    v["Records"][0]["Sns"]["Message"] = json!(message);
    v
}

/// The public functions, the mailer and mail-status: a reset from start to finish, and every
/// route each API function serves.
async fn public_flow(run: &mut Run<'_>, nip: &str, email: &str) {
    let forgot = run.start("ForgotFunction").await;
    let mailer = run.start("MailerFunction").await;
    for n in [nip, "197512312000121009"] {
        let (s, b) = run
            .api(
                &forgot,
                "ForgotFunction",
                "POST",
                "/v1/password/forgot",
                Some(json!({ "nip": n })),
                None,
            )
            .await;
        assert_eq!(s, 202, "{b}");
    }
    let (s, b) = run
        .api(
            &forgot,
            "ForgotFunction",
            "POST",
            "/v1/nip/check",
            Some(json!({ "nip": nip })),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(run.drain(&mailer, "MailQueue").await >= 1);
    let code = ses_code_for(email).await.expect("the code reached SES");

    let reset = run.start("ResetFunction").await;
    for (path, body) in [("/v1/password/policy", None), ("/v1/help", None)] {
        let (s, b) = run
            .api(&reset, "ResetFunction", "GET", path, body, None)
            .await;
        assert_eq!(s, 200, "{path}: {b}");
    }
    let wrong = json!({ "nip": nip, "token": "AAAA-AAAA", "new_password": PW });
    run.api(
        &reset,
        "ResetFunction",
        "POST",
        "/v1/password/reset",
        Some(wrong),
        None,
    )
    .await;
    let right = json!({ "nip": nip, "token": code, "new_password": PW });
    let (s, b) = run
        .api(
            &reset,
            "ResetFunction",
            "POST",
            "/v1/password/reset",
            Some(right),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    run.drain(&mailer, "MailNoticeQueue").await;

    login_flow(run, nip).await;
    run.drain(&mailer, "MailNoticeQueue").await;

    let status = run.start("MailStatusFunction").await;
    for fixture in ["ses_delivery.json", "ses_bounce_permanent.json"] {
        run.call(
            &status,
            "MailStatusFunction",
            "SNS MailEventsTopic",
            sns_event(fixture, email),
        )
        .await;
    }
}

async fn login_flow(run: &mut Run<'_>, nip: &str) {
    let login = run.start("LoginFunction").await;
    let f = "LoginFunction";
    run.api(
        &login,
        f,
        "POST",
        "/v1/login",
        Some(json!({ "nip": nip, "password": "Salah-Sandi-123" })),
        None,
    )
    .await;
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/login",
            Some(json!({ "nip": nip, "password": PW })),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let token = b["access_token"].as_str().expect("token").to_owned();
    for path in ["/v1/session", "/v1/account/activity"] {
        let (s, b) = run.api(&login, f, "GET", path, None, Some(&token)).await;
        assert_eq!(s, 200, "{path}: {b}");
    }
    let change = json!({ "current_password": PW, "new_password": PW2 });
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/password/change",
            Some(change),
            Some(&token),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/login",
            Some(json!({ "nip": nip, "password": PW2 })),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let token = b["access_token"].as_str().expect("token").to_owned();
    // The passkey's removal ends the other sessions and renews this one.
    let token = passkey_flow(run, &token).await;
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/account/second-factor",
            Some(json!({ "current_password": PW2 })),
            Some(&token),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let uri = b["otpauth_uri"].as_str().expect("uri").to_owned();
    let now = chrono::Utc::now();
    let confirm = json!({ "code": sapk_e2e::totp_code(&uri, now) });
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/account/second-factor/confirm",
            Some(confirm),
            Some(&token),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/account/recovery-codes",
            Some(json!({
                "current_password": PW2,
                "code": sapk_e2e::totp_code(&uri, now + chrono::Duration::seconds(30)),
            })),
            Some(&token),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let recovery = b["recovery_codes"][0]
        .as_str()
        .expect("a recovery code")
        .to_owned();
    let (_, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/login",
            Some(json!({ "nip": nip, "password": PW2 })),
            None,
        )
        .await;
    let challenge = b["challenge"].as_str().expect("a challenge").to_owned();
    let step = json!({ "challenge": challenge, "code": recovery });
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/login/second-factor",
            Some(step),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let token = b["access_token"].as_str().expect("token").to_owned();
    let (s, b) = run
        .api(&login, f, "POST", "/v1/logout", None, Some(&token))
        .await;
    assert!(s < 300, "{s} {b}");
}

/// Passkeys through the login function, served at a page's domain: two added (options, a
/// device's credential), listed, one signed in with and removed (the other is the staff
/// flow's to remove).
async fn passkey_flow(run: &mut Run<'_>, token: &str) -> String {
    const PAGE: &str = "https://akun.bkn.go.id";
    let login = run
        .start_with(
            "LoginFunction",
            &[("SAPK_PUBLIC_URL", "https://akun.bkn.go.id/")],
        )
        .await;
    let f = "LoginFunction";
    let mut phone = sapk_e2e::passkey_device::Device::at(PAGE);
    let (s, options) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/account/passkeys/options",
            Some(json!({ "current_password": PW2 })),
            Some(token),
        )
        .await;
    assert_eq!(s, 200, "{options}");
    let credential = phone.create(&options).await.expect("a credential");
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/account/passkeys/add",
            Some(json!({ "credential": credential })),
            Some(token),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    // A second device's, left for the counter to remove (the staff flow).
    let (_, options) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/account/passkeys/options",
            Some(json!({ "current_password": PW2 })),
            Some(token),
        )
        .await;
    let laptop = sapk_e2e::passkey_device::Device::at(PAGE)
        .create(&options)
        .await
        .expect("a credential");
    let (s, b2) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/account/passkeys/add",
            Some(json!({ "credential": laptop })),
            Some(token),
        )
        .await;
    assert_eq!(s, 201, "{b2}");
    let id = b["passkey"]["id"].as_str().expect("an id").to_owned();
    let (s, b) = run
        .api(&login, f, "GET", "/v1/account/passkeys", None, Some(token))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, options) = run
        .api(&login, f, "POST", "/v1/login/passkey/options", None, None)
        .await;
    assert_eq!(s, 200, "{options}");
    let assertion = phone.get(&options).await.expect("an assertion");
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/login/passkey",
            Some(json!({ "credential": assertion })),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = run
        .api(
            &login,
            f,
            "POST",
            "/v1/account/passkeys/remove",
            Some(json!({ "id": id, "current_password": PW2 })),
            Some(token),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    b["access_token"].as_str().expect("a new token").to_owned()
}

/// The staff function: every route, the two-officer exception included (one officer asks,
/// another decides).
async fn staff_flow(run: &mut Run<'_>, nip: &str, held: &str) {
    let staff = run.start("StaffFunction").await;
    let base = format!("/v1/staff/employees/{nip}");
    // An address another account holds: the overview names its holder (a batched read of
    // the holders' accounts)...
    let (s, o) = run
        .staff(
            &staff,
            "GET",
            &format!("{base}?new_email={held}"),
            None,
            ANDI,
        )
        .await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(
        o["new_email_holders"].as_array().map(Vec::len),
        Some(1),
        "{o}"
    );
    let (s, o) = run.staff(&staff, "GET", &base, None, ANDI).await;
    assert_eq!(s, 200, "{o}");
    let (s, b) = run
        .staff(
            &staff,
            "POST",
            &format!("{base}/export"),
            Some(json!({})),
            ANDI,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["text"].as_str().is_some_and(|t| t.contains(nip)), "{b}");
    let pid = std::process::id();
    let check = |extra: Value| {
        let mut body = json!({
            "nik": "3174051403920001",
            "documents": [{ "kind": "ktp" }],
            "person_confirmed": true,
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        body
    };
    // ...and a change or an exception to it is refused (one address, one ASN).
    for route in ["email", "email-exception"] {
        let mut body = check(json!({ "new_email": held }));
        if route == "email-exception" {
            body["exception_reason"] = json!("Akta kelahiran: lahir 14-03-1992");
        }
        let (s, b) = run
            .staff(&staff, "POST", &format!("{base}/{route}"), Some(body), ANDI)
            .await;
        assert_eq!(
            (s, b["reason"].as_str()),
            (422, Some("email_in_use")),
            "{route}: {b}"
        );
    }
    let new_email = json!({ "new_email": format!("calls.baru.{pid}@example.go.id"), "if_version": o["version"] });
    let (s, b) = run
        .staff(
            &staff,
            "POST",
            &format!("{base}/email"),
            Some(check(new_email)),
            ANDI,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = run
        .staff(
            &staff,
            "POST",
            &format!("{base}/second-factor/remove"),
            Some(check(json!({}))),
            ANDI,
        )
        .await;
    assert_eq!(s, 200, "the authenticator set up at login is removed: {b}");
    let (s, b) = run
        .staff(
            &staff,
            "POST",
            &format!("{base}/passkeys/remove"),
            Some(check(json!({}))),
            ANDI,
        )
        .await;
    assert_eq!(s, 200, "the passkey left at login is removed: {b}");
    for (method, suffix) in [
        ("POST", "/unlock"),
        ("POST", "/sessions/revoke"),
        ("GET", "/audit"),
        ("GET", "/audit/verify"),
    ] {
        let (s, b) = run
            .staff(&staff, method, &format!("{base}{suffix}"), None, ANDI)
            .await;
        assert_eq!(s, 200, "{suffix}: {b}");
    }
    // An exception (the NIK on the documents is not the NIP's): asked by one, decided by another.
    for (decision, n) in [("approve", 1), ("reject", 2)] {
        let wrong = "3273015409900002";
        let ask = json!({
            "new_email": format!("calls.pengecualian.{n}.{pid}@example.go.id"),
            "nik": wrong,
            "documents": [{ "kind": "ktp", "number": wrong }, { "kind": "akta_kelahiran", "number": "AL.123.0456789" }],
            "person_confirmed": true,
            "exception_reason": "Akta kelahiran: lahir 14-03-1992",
        });
        let (s, b) = run
            .staff(
                &staff,
                "POST",
                &format!("{base}/email-exception"),
                Some(ask),
                ANDI,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        // The list of waiting requests (an index query, then each request).
        let (s, b) = run
            .staff(&staff, "GET", "/v1/staff/email-exceptions", None, BUDI)
            .await;
        assert_eq!(s, 200, "{b}");
        assert!(
            b["waiting"]
                .as_array()
                .is_some_and(|w| w.iter().any(|x| x["nip"] == nip)),
            "{b}"
        );
        let (s, b) = run
            .staff(
                &staff,
                "GET",
                &format!("{base}/email-exception"),
                None,
                BUDI,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let body = (decision == "reject").then(|| json!({ "why": "Dokumen tidak cocok" }));
        let (s, b) = run
            .staff(
                &staff,
                "POST",
                &format!("{base}/email-exception/{decision}"),
                body,
                BUDI,
            )
            .await;
        assert_eq!(s, 200, "{decision}: {b}");
    }
}

async fn audit_flow(run: &mut Run<'_>) {
    let archive = run.start("AuditArchiveFunction").await;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/sapk-aws/tests/data/audit_stream.json"
    );
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    run.call(
        &archive,
        "AuditArchiveFunction",
        "DynamoDB AuditTable stream",
        event,
    )
    .await;
    let checkpoint = run.start("AuditCheckpointFunction").await;
    let tick = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-12-06T00:00:00Z",
        "region": "ap-southeast-3", "resources": ["arn:aws:events:ap-southeast-3:123456789012:rule/hourly"], "detail": {}
    });
    // The first checkpoint, then one after it (which reads the one before).
    for _ in 0..2 {
        let answer = run
            .call(
                &checkpoint,
                "AuditCheckpointFunction",
                "Schedule",
                tick.clone(),
            )
            .await;
        assert!(answer["chains"].as_u64().is_some(), "{answer}");
    }
}

/// The pre-traffic hook: for each gradually deployed function, a deployment whose new
/// version is a fresh process of its binary; the hook must pass every one, and fail a new
/// login version whose store is unreachable (it answers 503).
async fn pre_traffic_flow(run: &mut Run<'_>, plane: &ControlPlane) {
    let hook = run.start("PreTrafficHookFunction").await;
    let h = "PreTrafficHookFunction";
    for (n, function) in PROBED.iter().enumerate() {
        let version = std::sync::Arc::new(run.start(function).await);
        let id = format!("d-{function}");
        // Half carry the AppSpec inline, half make the hook fetch the revision.
        plane.deploy(&id, function, "2", version, n % 2 == 0);
        let event =
            json!({ "DeploymentId": id, "LifecycleEventHookExecutionId": format!("h-{function}") });
        let answer = hook
            .invoke(event)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", hook.output()));
        run.note_each(&[
            (h, "CodeDeploy BeforeAllowTraffic"),
            (function, "pre-traffic probe"),
        ]);
        assert_eq!(
            answer["succeeded"],
            true,
            "{function}: {answer}\n{}",
            hook.output()
        );
    }
    // A new version whose store is unreachable fails its probe, whichever kind reads it.
    for function in [
        "LoginFunction",
        "StaffFunction",
        "MailerFunction",
        "MailStatusFunction",
    ] {
        let broken = run
            .start_with(
                function,
                &[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")],
            )
            .await;
        let id = format!("d-broken-{function}");
        plane.deploy(&id, function, "3", std::sync::Arc::new(broken), true);
        let hook_id = format!("h-broken-{function}");
        let event = json!({ "DeploymentId": id, "LifecycleEventHookExecutionId": hook_id });
        let answer = hook.invoke(event).await.unwrap_or_else(|e| panic!("{e}"));
        run.note_each(&[
            (h, "CodeDeploy BeforeAllowTraffic"),
            (function, "pre-traffic probe"),
        ]);
        assert_eq!(
            answer["succeeded"], false,
            "{function}: a version without its store passed: {answer}"
        );
        assert!(
            plane
                .verdicts()
                .iter()
                .any(|(_, x, s)| *x == hook_id && s == "Failed"),
            "{function}"
        );
    }
    let verdicts = plane.verdicts();
    for function in PROBED {
        let mine = format!("h-{function}");
        assert!(
            verdicts
                .iter()
                .any(|(_, h, s)| *h == mine && s == "Succeeded"),
            "{function}: {verdicts:?}"
        );
    }
}

async fn record(t: &Y, recorder: &Recorder, plane: &ControlPlane, with_domain: bool) -> Recording {
    let tag = if with_domain { "d" } else { "n" };
    let world = world(tag).await;
    // The accounts and officers, written as a supervisor would (not a function: not recorded).
    let env = harness_env(&sapk_aws::TableNames {
        accounts: world.refs["AccountsTable"].clone(),
        ephemeral: world.refs["EphemeralTable"].clone(),
        audit: world.refs["AuditTable"].clone(),
        staff: world.refs["StaffTable"].clone(),
    });
    let f = functions(&dynamodb_url(), &env).await;
    let nip = "199203142022211001";
    let email = format!("calls.{tag}.{}@example.go.id", std::process::id());
    seed(&f.service, nip, &email).await;
    let held = format!("calls.held.{tag}.{}@example.go.id", std::process::id());
    seed(&f.service, "199009132025242014", &held).await;
    register_bkn_officer(&f.service, ANDI).await;
    register_bkn_officer_as(&f.service, BUDI, "198501052010121003", "Budi").await;
    recorder.take();
    let mut run = Run {
        t,
        world: &world,
        conds: HashMap::from([
            ("HasApiDomain", with_domain),
            ("HasCmk", false),
            ("HasAlarmEmail", false),
        ]),
        recorder,
        recording: Recording::new(),
    };
    public_flow(&mut run, nip, &email).await;
    // The two resets (a wrong code, then the right one) and the change each asked the range
    // API once: the binaries wire it as deployed.
    let asked = world.range.requests();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(asked
        .iter()
        .all(|r| r.padding && r.path.len() == "/range/".len() + 5));
    // The archive and a checkpoint first, so that the counter's `audit/verify` reads one.
    audit_flow(&mut run).await;
    staff_flow(&mut run, nip, &held).await;
    pre_traffic_flow(&mut run, plane).await;
    run.recording
}

fn to_json(r: &Recording) -> Value {
    json!(r
        .iter()
        .map(|(f, phases)| (
            f.clone(),
            phases
                .iter()
                .map(|(p, calls)| (
                    p.clone(),
                    calls.iter().map(|(a, r)| json!([a, r])).collect::<Vec<_>>()
                ))
                .collect::<BTreeMap<_, _>>()
        ))
        .collect::<BTreeMap<_, _>>())
}

#[tokio::test]
async fn every_aws_call_of_every_function_binary_is_recorded_in_infra() {
    let t = template();
    let plane = ControlPlane::start().await;
    let recorder = Recorder::start_with(
        &dynamodb_url(),
        &[
            ("ses", &ses_url()),
            ("codedeploy", &plane.url),
            ("lambda", &plane.url),
        ],
    )
    .await;
    let mut all = BTreeMap::new();
    for with_domain in [false, true] {
        let r = record(&t, &recorder, &plane, with_domain).await;
        // Every function of the template ran, and every route it serves was called.
        let functions: BTreeSet<String> = t["Resources"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
            .collect();
        assert_eq!(r.keys().cloned().collect::<BTreeSet<_>>(), functions);
        for (function, routes) in [
            ("ForgotFunction", sapk_functions::FORGOT_ROUTES),
            ("ResetFunction", sapk_functions::RESET_ROUTES),
            ("LoginFunction", sapk_functions::LOGIN_ROUTES),
        ] {
            for route in routes {
                let phase = format!("{} {}", route.method.as_str(), route.path);
                assert!(
                    r[function].contains_key(&phase),
                    "{function}: {phase} not exercised"
                );
            }
        }
        for route in sapk_http::staff::routes::ALL {
            let phase = format!(
                "{} {}{{nip}}{}",
                route.method.as_str(),
                sapk_http::staff::routes::PREFIX,
                route.suffix
            );
            assert!(
                r["StaffFunction"].contains_key(&phase),
                "staff: {phase} not exercised"
            );
        }
        all.insert(format!("HasApiDomain={with_domain}"), to_json(&r));
    }
    let recorded = serde_json::to_string_pretty(&json!(all)).expect("json") + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/aws-calls.json");
    if std::env::var("SAPK_UPDATE_AWS_CALLS").is_ok_and(|v| v == "1") {
        std::fs::write(path, &recorded).expect("write infra/aws-calls.json");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != recorded {
        let out = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/aws-calls.json");
        let _ = std::fs::write(out, &recorded);
        panic!(
            "the functions' AWS calls differ from infra/aws-calls.json (the recording is in target/aws-calls.json; \
             review the difference, then SAPK_UPDATE_AWS_CALLS=1 cargo test -p sapk-e2e --test e2e aws_calls, \
             and scripts/check-infra checks the roles against it)"
        );
    }
}
