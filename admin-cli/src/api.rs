//! `--api URL`: the counter commands through the staff API. Each request is signed with SigV4
//! (service `execute-api`) with the officer's own credentials from the standard AWS chain:
//! an IAM Identity Center (SSO) profile after `aws sso login`, environment variables, or a
//! credentials file. The tool needs no token key, no table names and no DynamoDB or SES
//! permission: the server checks the signature, finds the officer in the staff registry and
//! decides.

use crate::error::CounterError;
use anyhow::Context;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sapk_core::Lang;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Whole-request time limit (the staff function answers in well under a second).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Everything but unreserved characters is encoded in a path segment.
pub struct StaffClient {
    base: String,
    region: String,
    credentials: SharedCredentialsProvider,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    lang: Lang,
}

/// `abc123.execute-api.ap-southeast-3.amazonaws.com` → `ap-southeast-3`.
fn region_of_url(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let mut labels = host.split('.');
    labels.next()?;
    (labels.next()? == "execute-api")
        .then(|| labels.next().map(str::to_owned))
        .flatten()
}

/// Plain HTTP only to this machine: the body carries the NIK.
fn check_url(url: &str) -> anyhow::Result<()> {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    anyhow::ensure!(
        url.starts_with("https://") || loopback,
        "--api {url:?}: use https:// (plain http only to 127.0.0.1 for development)"
    );
    Ok(())
}

impl StaffClient {
    pub async fn new(url: &str, profile: Option<&str>, lang: Lang) -> anyhow::Result<StaffClient> {
        let base = url.trim().trim_end_matches('/').to_owned();
        check_url(&base)?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let conf = loader.load().await;
        let region = conf
            .region()
            .map(|r| r.to_string())
            .or_else(|| region_of_url(&base))
            .context("no AWS region: set it in the profile or AWS_REGION")?;
        let credentials = conf
            .credentials_provider()
            .context("no AWS credentials provider")?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .context("the system's trusted certificates")?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(https);
        Ok(StaffClient {
            base,
            region,
            credentials,
            http,
            lang,
        })
    }

    /// One signed request: the status and the answer's JSON (`Null` when it is not), or
    /// why no answer came.
    pub(crate) async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Value), CounterError> {
        let l = self.lang;
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| {
                CounterError::Failed(anyhow::anyhow!(
                    "{}: {e}",
                    l.pick(
                        "tidak ada kredensial AWS; masuk dulu, misalnya `aws sso login --profile PROFIL`",
                        "no AWS credentials; sign in first, e.g. `aws sso login --profile PROFILE`",
                    )
                ))
            })?;
        let url = format!("{}{path_and_query}", self.base);
        let body = body.unwrap_or_default();
        let req = self
            .signed_request(creds, method, &url, body)
            .map_err(CounterError::Failed)?;
        let unreachable = |e: &dyn std::fmt::Display| {
            CounterError::Failed(anyhow::anyhow!(
                "{} {}: {e}",
                l.pick(
                    "layanan tidak dapat dihubungi:",
                    "cannot reach the service:"
                ),
                self.base
            ))
        };
        let exchange = async {
            let resp = self.http.request(req).await.map_err(|e| unreachable(&e))?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(&e))?
                .to_bytes();
            Ok::<_, CounterError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(&"timed out"))??;
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status.as_u16(), json))
    }

    /// The request signed with SigV4 for API Gateway (`execute-api`) in the client's region,
    /// with the officer's language.
    fn signed_request(
        &self,
        creds: aws_credential_types::Credentials,
        method: &str,
        url: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
        let lang_header = self.lang.pick("id", "en");
        let mut headers = vec![("accept-language", lang_header)];
        if !body.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("execute-api")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        let mut req = hyper::Request::builder().method(method).uri(url).header(
            "user-agent",
            concat!("sapk-admin/", env!("CARGO_PKG_VERSION")),
        );
        for (k, v) in headers.iter().copied().chain(instructions.headers()) {
            req = req.header(k, v);
        }
        Ok(req.body(Full::new(Bytes::from(body)))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_an_execute_api_host() {
        assert_eq!(
            region_of_url("https://abc123.execute-api.ap-southeast-3.amazonaws.com").as_deref(),
            Some("ap-southeast-3")
        );
        assert_eq!(region_of_url("https://staff.sapk.bkn.go.id"), None);
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(check_url("https://abc.execute-api.ap-southeast-3.amazonaws.com").is_ok());
        assert!(check_url("http://127.0.0.1:3000").is_ok());
        assert!(check_url("http://localhost").is_ok());
        assert!(check_url("http://127.0.0.1.example.com").is_err());
        assert!(check_url("http://10.0.0.5:3000").is_err());
        assert!(check_url("ftp://x").is_err());
    }

    #[test]
    fn a_typed_nip_is_one_path_segment() {
        use sapk_http::staff::routes;
        assert_eq!(
            routes::EMAIL_CHANGE.path("19860926 201505 1 001"),
            "/v1/staff/employees/19860926%20201505%201%20001/email"
        );
        assert_eq!(
            routes::EMPLOYEE.path("../x?y"),
            "/v1/staff/employees/..%2Fx%3Fy"
        );
    }
}
