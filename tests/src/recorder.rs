//! An HTTP relay in front of the AWS stand-ins that writes down every AWS call passing
//! through it as IAM sees it: who made it (the access key id a function was started with),
//! the IAM action and the resource, transactions and batches broken into their items. The
//! functions reach it through `AWS_ENDPOINT_URL`; SES's calls go on to aws-ses-v2-local,
//! the rest to moto.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

/// One call as IAM authorises it: (caller, action, resource as sent).
pub type Call = (String, String, String);

#[derive(Clone)]
pub struct Recorder {
    pub url: String,
    calls: Arc<Mutex<BTreeSet<Call>>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

/// `Credential=KEY/date/region/service/aws4_request` of a SigV4 `Authorization` header.
fn credential(headers: &hyper::HeaderMap) -> (String, String) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let scope = auth
        .split("Credential=")
        .nth(1)
        .and_then(|s| s.split([',', ' ']).next())
        .unwrap_or("");
    let parts: Vec<&str> = scope.split('/').collect();
    (
        parts.first().copied().unwrap_or("").to_owned(),
        parts.get(3).copied().unwrap_or("").to_owned(),
    )
}

fn target(headers: &hyper::HeaderMap) -> String {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("")
        .to_owned()
}

/// The (action, resource) pairs one request needs.
pub fn actions(
    service: &str,
    method: &str,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Vec<(String, String)> {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let op = target(headers);
    match service {
        "dynamodb" => dynamodb_actions(&op, &json),
        "secretsmanager" => vec![(
            format!("secretsmanager:{op}"),
            json["SecretId"].as_str().unwrap_or("").to_owned(),
        )],
        "sqs" => {
            let (op, url) = if op.is_empty() {
                // The query protocol: Action=…&QueueUrl=… in a form body.
                let form: Vec<(String, String)> = url_pairs(&String::from_utf8_lossy(body));
                let get = |k: &str| {
                    form.iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                (get("Action"), get("QueueUrl"))
            } else {
                (op, json["QueueUrl"].as_str().unwrap_or("").to_owned())
            };
            let queue = url.rsplit('/').next().unwrap_or("").to_owned();
            vec![(format!("sqs:{op}"), queue)]
        }
        "s3" => s3_actions(method, path, query, headers),
        "ses" => ses_actions(method, path, &json),
        // Invoke: `/2015-03-31/functions/{name}/invocations?Qualifier={version}`.
        "lambda" => {
            let name = path
                .strip_prefix("/2015-03-31/functions/")
                .and_then(|p| p.strip_suffix("/invocations"))
                .map(decode)
                .unwrap_or_default();
            let qualifier = query
                .split('&')
                .find_map(|p| p.strip_prefix("Qualifier="))
                .map(|q| format!(":{q}"))
                .unwrap_or_default();
            vec![(
                "lambda:InvokeFunction".to_owned(),
                format!("function:{name}{qualifier}"),
            )]
        }
        // A deployment's calls are on its deployment group, which the request does not name:
        // the relay adds them when it has seen the deployment (see `relay`).
        "codedeploy" if op == "GetApplicationRevision" => vec![(
            "codedeploy:GetApplicationRevision".to_owned(),
            format!(
                "application:{}",
                json["applicationName"].as_str().unwrap_or("")
            ),
        )],
        "codedeploy" => Vec::new(),
        other => vec![(format!("{other}:{method} {path}"), String::new())],
    }
}

/// A DynamoDB request's (action, table) pairs ([`crate::aws::iam_pairs`]), an item call on
/// an item of the accounts table that is not an account (an e-mail claim `email#…`, a passkey
/// `passkey#…`, an account's list of passkeys `passkeys#…`) marked with that prefix
/// (`?leading=email#`): a role may be let at those items alone (`dynamodb:LeadingKeys`). A
/// batch read is marked when every key it reads has the same prefix.
fn dynamodb_actions(op: &str, v: &Value) -> Vec<(String, String)> {
    let prefix = |k: &str| k.find('#').map(|i| k[..=i].to_owned());
    let leading = |x: &Value| -> Option<String> {
        if let Some(k) = x["Key"]["nip"]["S"]
            .as_str()
            .or_else(|| x["Item"]["nip"]["S"].as_str())
        {
            return prefix(k);
        }
        // BatchGetItem: every key of every table read.
        let tables = x["RequestItems"].as_object()?;
        let mut found: Option<String> = None;
        for t in tables.values() {
            for key in t["Keys"].as_array()? {
                let p = prefix(key["nip"]["S"].as_str()?)?;
                match &found {
                    Some(f) if *f != p => return None,
                    _ => found = Some(p),
                }
            }
        }
        found
    };
    let mark = |t: &str, x: &Value| match leading(x) {
        Some(p) => format!("{t}?leading={p}"),
        None => t.to_owned(),
    };
    if v["TransactItems"].as_array().is_none() {
        return crate::aws::iam_pairs(op, v)
            .0
            .into_iter()
            .map(|(a, t)| {
                let t = mark(&t, v);
                (a, t)
            })
            .collect();
    }
    crate::aws::transaction_items(v)
        .into_iter()
        .map(|(_, a, part)| {
            let t = part["TableName"].as_str().unwrap_or_default();
            (format!("dynamodb:{a}"), mark(t, part))
        })
        .collect()
}

fn url_pairs(form: &str) -> Vec<(String, String)> {
    form.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// `%XX` escapes (and `+`) decoded.
pub fn percent_decode(s: &str) -> String {
    decode(s)
}

fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(&bytes[i + 1..i + 3]), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// S3's REST calls, path-style (`/bucket/key`), as IAM names them: object calls on
/// `bucket/key`, bucket calls on `bucket`. A put with Object Lock headers also needs
/// `s3:PutObjectRetention` (and a legal hold `s3:PutObjectLegalHold`).
fn s3_actions(
    method: &str,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
) -> Vec<(String, String)> {
    let path = decode(path.trim_start_matches('/'));
    let (bucket, key) = path.split_once('/').unwrap_or((path.as_str(), ""));
    let has = |q: &str| {
        query
            .split('&')
            .any(|p| p == q || p.starts_with(&format!("{q}=")))
    };
    let object = format!("{bucket}/{key}");
    let a = |x: &str, r: &str| (format!("s3:{x}"), r.to_owned());
    match (method, key.is_empty()) {
        ("GET", true) if has("object-lock") => vec![a("GetBucketObjectLockConfiguration", bucket)],
        ("GET", true) if has("versions") => vec![a("ListBucketVersions", bucket)],
        // The prefix a listing asks for, which a policy's `s3:prefix` condition may restrict.
        ("GET" | "HEAD", true) => {
            let prefix = query
                .split('&')
                .find_map(|p| p.strip_prefix("prefix="))
                .map(decode)
                .unwrap_or_default();
            vec![a("ListBucket", &format!("{bucket}?prefix={prefix}"))]
        }
        ("GET", false) if has("retention") => vec![a("GetObjectRetention", &object)],
        ("GET" | "HEAD", false) => vec![a("GetObject", &object)],
        ("PUT", false) if has("retention") => vec![a("PutObjectRetention", &object)],
        ("PUT", false) => {
            let mut v = vec![a("PutObject", &object)];
            if headers.contains_key("x-amz-object-lock-mode") {
                v.push(a("PutObjectRetention", &object));
            }
            if headers.contains_key("x-amz-object-lock-legal-hold") {
                v.push(a("PutObjectLegalHold", &object));
            }
            v
        }
        ("DELETE", false) => vec![a("DeleteObject", &object)],
        _ => vec![a(&format!("{method}?{query}"), &object)],
    }
}

/// SES v2's REST calls. Sending needs the sender's identity and the configuration set; the
/// suppression list has no resource-level permissions (`*`).
fn ses_actions(method: &str, path: &str, json: &Value) -> Vec<(String, String)> {
    let a = |x: &str, r: &str| (format!("ses:{x}"), r.to_owned());
    let suppression = path.starts_with("/v2/email/suppression/addresses");
    match method {
        "POST" if path == "/v2/email/outbound-emails" => {
            let from = json["FromEmailAddress"].as_str().unwrap_or("");
            let address = from
                .rsplit('<')
                .next()
                .unwrap_or(from)
                .trim_end_matches('>');
            let domain = address.rsplit('@').next().unwrap_or("");
            let mut v = vec![a("SendEmail", &format!("identity/{domain}"))];
            if let Some(set) = json["ConfigurationSetName"].as_str() {
                v.push(a("SendEmail", &format!("configuration-set/{set}")));
            }
            v
        }
        "DELETE" if suppression => vec![a("DeleteSuppressedDestination", "*")],
        "GET" if suppression => vec![a("GetSuppressedDestination", "*")],
        "PUT" if suppression => vec![a("PutSuppressedDestination", "*")],
        _ => vec![a(&format!("{method} {path}"), "*")],
    }
}

/// Where the relay sends each service's calls, and what it learnt of deployments.
struct Upstreams {
    moto: String,
    others: Vec<(String, String)>,
    /// Deployment id → `deploymentgroup:{application}/{group}`, from `GetDeployment` answers.
    deployments: Mutex<std::collections::HashMap<String, String>>,
}

impl Upstreams {
    fn for_service(&self, service: &str) -> &str {
        self.others
            .iter()
            .find(|(s, _)| s == service)
            .map_or(self.moto.as_str(), |(_, u)| u.as_str())
    }

    /// The deployment-group calls, named once the deployment is known.
    fn codedeploy(&self, op: &str, request: &Value, response: &[u8]) -> Option<(String, String)> {
        let id = request["deploymentId"].as_str()?.to_owned();
        let mut known = self.deployments.lock().unwrap_or_else(|p| p.into_inner());
        if op == "GetDeployment" {
            let v: Value = serde_json::from_slice(response).ok()?;
            let info = &v["deploymentInfo"];
            let group = format!(
                "deploymentgroup:{}/{}",
                info["applicationName"].as_str()?,
                info["deploymentGroupName"].as_str()?
            );
            known.insert(id.clone(), group);
        }
        let group = known
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("deploymentgroup:?/{id}"));
        Some((format!("codedeploy:{op}"), group))
    }
}

async fn relay(
    req: hyper::Request<hyper::body::Incoming>,
    calls: Arc<Mutex<BTreeSet<Call>>>,
    upstreams: Arc<Upstreams>,
    http: reqwest::Client,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (caller, service) = credential(&parts.headers);
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    {
        let mut c = calls.lock().unwrap_or_else(|p| p.into_inner());
        for (action, resource) in actions(
            &service,
            parts.method.as_str(),
            &path,
            &query,
            &parts.headers,
            &body,
        ) {
            c.insert((caller.clone(), action, resource));
        }
    }
    let upstream = upstreams.for_service(&service).to_owned();
    let url = match parts.uri.path_and_query() {
        Some(pq) => format!("{upstream}{pq}"),
        None => format!("{upstream}{path}"),
    };
    let mut out = http.request(parts.method.clone(), url).body(body.to_vec());
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
            out = out.header(name, value);
        }
    }
    let bad = |e: String| {
        hyper::Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(e)))
            .unwrap_or_default()
    };
    let resp = match out.send().await {
        Ok(r) => r,
        Err(e) => return bad(e.to_string()),
    };
    let mut b = hyper::Response::builder().status(resp.status().as_u16());
    for (name, value) in resp.headers() {
        if name != hyper::header::CONTENT_LENGTH && name != hyper::header::TRANSFER_ENCODING {
            b = b.header(name.as_str(), value.as_bytes());
        }
    }
    match resp.bytes().await {
        Ok(bytes) => {
            if service == "codedeploy" {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let op = target(&parts.headers);
                if op != "GetApplicationRevision" {
                    if let Some((action, resource)) = upstreams.codedeploy(&op, &request, &bytes) {
                        calls.lock().unwrap_or_else(|p| p.into_inner()).insert((
                            caller.clone(),
                            action,
                            resource,
                        ));
                    }
                }
            }
            b.body(Full::new(bytes)).unwrap_or_default()
        }
        Err(e) => bad(e.to_string()),
    }
}

impl Recorder {
    /// Starts the relay on a free local port: SES to `ses`, everything else to `moto`.
    pub async fn start(moto: &str, ses: &str) -> Recorder {
        Recorder::start_with(moto, &[("ses", ses)]).await
    }

    /// Starts the relay: each `(service, url)` of `others` there (by the service of the
    /// request's SigV4 scope), everything else to `moto`.
    pub async fn start_with(moto: &str, others: &[(&str, &str)]) -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the recorder");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let calls = Arc::new(Mutex::new(BTreeSet::new()));
        let upstreams = Arc::new(Upstreams {
            moto: moto.trim_end_matches('/').to_owned(),
            others: others
                .iter()
                .map(|(s, u)| ((*s).to_owned(), u.trim_end_matches('/').to_owned()))
                .collect(),
            deployments: Mutex::new(std::collections::HashMap::new()),
        });
        let http = reqwest::Client::new();
        let c = calls.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (c, up, http) = (c.clone(), upstreams.clone(), http.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let (c, up, http) = (c.clone(), up.clone(), http.clone());
                        async move { Ok::<_, Infallible>(relay(req, c, up, http).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Recorder {
            url,
            calls,
            task: Arc::new(task),
        }
    }

    /// The calls recorded since the last take.
    pub fn take(&self) -> BTreeSet<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
