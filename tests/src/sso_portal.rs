//! A stand-in for IAM Identity Center's portal on 127.0.0.1, so that a counter officer's
//! `aws sso login` profile can be exercised without AWS: `GET /federation/credentials`
//! (the SSO `GetRoleCredentials` call the AWS SDK makes with the cached access token)
//! answers the role's temporary keys when the bearer token, account and role are the ones it
//! was started with, and 401 otherwise. The SDK is pointed at it with
//! `AWS_ENDPOINT_URL_SSO` (or `endpoint_url` in the profile's `services` section). It records
//! every request's path and query.
//!
//! [`write_sso_profile`] writes what `aws sso login` leaves behind: a profile with an
//! `sso-session` in `config`, and the session's token in `sso/cache/<sha1(session)>.json`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The account, role and access token of the stand-in's one assignment.
pub const SSO_ACCOUNT: &str = "123456789012";
pub const SSO_ROLE: &str = "CounterStaff";
pub const SSO_TOKEN: &str = "aoa-test-access-token-rina-loket";

pub struct SsoPortal {
    /// The endpoint (`http://127.0.0.1:PORT`).
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SsoPortal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the portal answers: the keys for the assignment, or 401.
fn answer(req: &hyper::Request<hyper::body::Incoming>, keys: &(String, String)) -> (u16, String) {
    let token = req
        .headers()
        .get("x-amz-sso_bearer_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let query = req.uri().query().unwrap_or_default();
    let assigned = query.contains(&format!("account_id={SSO_ACCOUNT}"))
        && query.contains(&format!("role_name={SSO_ROLE}"));
    if req.uri().path() != "/federation/credentials" || token != SSO_TOKEN || !assigned {
        return (
            401,
            r#"{"message":"Session token not found or invalid"}"#.to_owned(),
        );
    }
    let expiration = chrono::Utc::now().timestamp_millis() + 3_600_000;
    let body = serde_json::json!({ "roleCredentials": {
        "accessKeyId": keys.0,
        "secretAccessKey": keys.1,
        "sessionToken": "sso-session-token",
        "expiration": expiration,
    }});
    (200, body.to_string())
}

impl SsoPortal {
    /// Starts the portal; its one assignment yields the keys `access_key` / `secret`.
    pub async fn start(access_key: &str, secret: &str) -> SsoPortal {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SSO portal stand-in");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let keys = Arc::new((access_key.to_owned(), secret.to_owned()));
        let r = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (r, keys) = (r.clone(), keys.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (r, keys) = (r.clone(), keys.clone());
                        async move {
                            r.lock().expect("lock").push(req.uri().to_string());
                            let (status, body) = answer(&req, &keys);
                            let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
                            *resp.status_mut() =
                                hyper::StatusCode::from_u16(status).expect("status");
                            resp.headers_mut().insert(
                                "content-type",
                                hyper::header::HeaderValue::from_static("application/json"),
                            );
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        SsoPortal {
            url,
            requests,
            task,
        }
    }

    /// The paths and queries asked for so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

/// Writes, in the `.aws` folder `aws`, what `aws sso login --profile PROFILE` leaves: the
/// profile `profile` with the `sso-session` `session` (pointing at `portal` through the
/// `services` section, as an operator could for a test), and the session's cached access
/// token, valid for eight more hours. `newline` is the file's line ending (`\r\n` on Windows).
pub fn write_sso_profile(aws: &Path, profile: &str, session: &str, portal: &str, newline: &str) {
    use sha1::Digest;
    std::fs::create_dir_all(aws.join("sso").join("cache")).expect("the .aws folder");
    let config = [
        format!("[profile {profile}]"),
        format!("sso_session = {session}"),
        format!("sso_account_id = {SSO_ACCOUNT}"),
        format!("sso_role_name = {SSO_ROLE}"),
        "region = ap-southeast-3".to_owned(),
        "services = sso-stand-in".to_owned(),
        String::new(),
        format!("[sso-session {session}]"),
        "sso_start_url = https://bkn-test.awsapps.com/start".to_owned(),
        "sso_region = ap-southeast-3".to_owned(),
        "sso_registration_scopes = sso:account:access".to_owned(),
        String::new(),
        "[services sso-stand-in]".to_owned(),
        "sso =".to_owned(),
        format!("  endpoint_url = {portal}"),
        String::new(),
    ]
    .join(newline);
    std::fs::write(aws.join("config"), config).expect("the config file");
    let digest = sha1::Sha1::digest(session.as_bytes());
    let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let expires = (chrono::Utc::now() + chrono::Duration::hours(8))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let token = serde_json::json!({
        "accessToken": SSO_TOKEN,
        "expiresAt": expires,
        "region": "ap-southeast-3",
        "startUrl": "https://bkn-test.awsapps.com/start",
    });
    std::fs::write(
        aws.join("sso").join("cache").join(format!("{name}.json")),
        token.to_string(),
    )
    .expect("the token cache");
}
