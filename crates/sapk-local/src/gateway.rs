//! A development stand-in for API Gateway's `AWS_IAM` authorizer, so the staff routes can be
//! exercised on one machine exactly as deployed: the request's SigV4 signature is verified
//! with test credentials (recomputed with the same signer the AWS SDKs use), and the IAM
//! identity is injected into `requestContext.authorizer.iam` as API Gateway does. Only the
//! staff function reads that identity; a request without a valid signature never reaches it.
//!
//! Test credentials are lines of `ACCESS_KEY_ID SECRET_ACCESS_KEY PRINCIPAL_ARN` (blank lines
//! and `#` comments allowed). This is for development and tests on 127.0.0.1 only; the binary
//! refuses to offer it on any other address.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use chrono::{NaiveDateTime, TimeZone, Utc};
use lambda_http::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;

/// The signing name of API Gateway.
pub const SERVICE: &str = "execute-api";
/// How far a signature's time may be from the gateway's clock (as AWS: 5 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

struct Principal {
    secret: SecretString,
    arn: String,
}

/// Test credentials and the principals they belong to.
pub struct IamGateway {
    principals: HashMap<String, Principal>,
}

/// Why the gateway refused a request: the messages API Gateway answers with (403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No `Authorization` header, or not a SigV4 one.
    Missing,
    /// The access key is not one of the test credentials.
    UnknownKey,
    /// The signature does not match the request.
    BadSignature,
    /// The signature's time is too far from now.
    Expired,
}

impl Denied {
    /// The body API Gateway sends with its 403.
    pub fn message(&self) -> &'static str {
        match self {
            Denied::Missing => "Forbidden",
            Denied::UnknownKey => "The security token included in the request is invalid.",
            Denied::BadSignature => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            Denied::Expired => "Signature expired: the request's X-Amz-Date is more than 5 minutes from the server's time.",
        }
    }
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => return None,
        }
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope.as_slice() else {
        return None;
    };
    Some(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl IamGateway {
    /// Reads `ACCESS_KEY_ID SECRET_ACCESS_KEY PRINCIPAL_ARN` lines.
    pub fn parse(text: &str) -> Result<IamGateway, String> {
        let mut principals = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [key, secret, arn] = fields.as_slice() else {
                return Err(format!(
                    "line {}: expected ACCESS_KEY_ID SECRET_ACCESS_KEY PRINCIPAL_ARN",
                    i + 1
                ));
            };
            if !arn.starts_with("arn:") {
                return Err(format!("line {}: {arn:?} is not an ARN", i + 1));
            }
            principals.insert(
                (*key).to_owned(),
                Principal {
                    secret: SecretString::from((*secret).to_owned()),
                    arn: (*arn).to_owned(),
                },
            );
        }
        if principals.is_empty() {
            return Err("no credentials".into());
        }
        Ok(IamGateway { principals })
    }

    /// Verifies the SigV4 signature of one request and returns the `authorizer` object of
    /// the API Gateway v2 event. `path_and_query` is as received (`/v1/…?…`).
    pub fn verify(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Value, Denied> {
        let auth = header(headers, "authorization")
            .and_then(parse_authorization)
            .ok_or(Denied::Missing)?;
        let principal = self
            .principals
            .get(auth.access_key)
            .ok_or(Denied::UnknownKey)?;
        if auth.service != SERVICE || !auth.signed_headers.contains(&"host") {
            return Err(Denied::BadSignature);
        }
        let signed_at = signing_time(headers, &auth, now)?;
        let host = header(headers, "host").ok_or(Denied::BadSignature)?;
        let token = header(headers, "x-amz-security-token");
        let mut signed = signed_headers(headers, &auth)?;
        signed.push(("host", host));
        let credentials = Credentials::new(
            auth.access_key,
            principal.secret.expose_secret(),
            token.map(str::to_owned),
            None,
            "sapk-local-gateway",
        );
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(auth.region)
            .name(SERVICE)
            .time(signed_at)
            .settings(SigningSettings::default())
            .build()
            .map_err(|_| Denied::BadSignature)?
            .into();
        let uri = format!("http://{host}{path_and_query}");
        let signable = SignableRequest::new(
            method,
            uri.as_str(),
            signed.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|_| Denied::BadSignature)?;
        let (instructions, expected) = sign(signable, &params)
            .map_err(|_| Denied::BadSignature)?
            .into_parts();
        // The same headers must have been signed, and the signature must be the one expected.
        let recomputed_names = instructions
            .headers()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| parse_authorization(v).map(|a| a.signed_headers.join(";")));
        let same_headers = recomputed_names.as_deref() == Some(&auth.signed_headers.join(";"));
        let same_signature: bool = expected.as_bytes().ct_eq(auth.signature.as_bytes()).into();
        if !(same_headers && same_signature) {
            return Err(Denied::BadSignature);
        }
        Ok(authorizer(principal, auth.access_key))
    }
}

/// When the request was signed (`X-Amz-Date`, on the credential's date), if within the
/// allowed skew of `now`.
fn signing_time(
    headers: &HeaderMap,
    auth: &Authorization<'_>,
    now: SystemTime,
) -> Result<SystemTime, Denied> {
    let amz_date = header(headers, "x-amz-date").ok_or(Denied::BadSignature)?;
    let signed_at = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map(|t| SystemTime::from(Utc.from_utc_datetime(&t)))
        .map_err(|_| Denied::BadSignature)?;
    if !amz_date.starts_with(auth.date) {
        return Err(Denied::BadSignature);
    }
    let skew = match now.duration_since(signed_at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > MAX_SKEW {
        return Err(Denied::Expired);
    }
    Ok(signed_at)
}

/// The headers the client signed, but host, date and token (the signer adds those itself);
/// a signed header that is absent fails.
fn signed_headers<'a>(
    headers: &'a HeaderMap,
    auth: &Authorization<'a>,
) -> Result<Vec<(&'a str, &'a str)>, Denied> {
    let mut signed = Vec::new();
    for name in &auth.signed_headers {
        if matches!(*name, "host" | "x-amz-date" | "x-amz-security-token") {
            continue;
        }
        let all: Vec<&str> = headers
            .get_all(*name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if all.is_empty() {
            return Err(Denied::BadSignature);
        }
        for v in all {
            signed.push((*name, v));
        }
    }
    Ok(signed)
}

/// The `authorizer` object API Gateway's IAM authorizer puts in the event for `principal`.
fn authorizer(principal: &Principal, access_key: &str) -> Value {
    let account = principal.arn.split(':').nth(4).unwrap_or("000000000000");
    let session = principal.arn.rsplit('/').next().unwrap_or("local");
    let caller = format!("AROALOCAL{access_key}:{session}");
    json!({
        "iam": {
            "accessKey": access_key,
            "accountId": account,
            "callerId": caller,
            "cognitoIdentity": null,
            "principalOrgId": null,
            "userArn": principal.arn,
            "userId": caller,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AKIALOCALTEST0000001";
    const SECRET: &str = "local-test-secret-0000000000000000000000";
    const ARN: &str = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/rina@example.go.id";

    fn gateway() -> IamGateway {
        IamGateway::parse(&format!("# test\n{KEY} {SECRET} {ARN}\n")).unwrap()
    }

    /// Signs as a client would, with the same library.
    fn signed(
        method: &str,
        url: &str,
        body: &[u8],
        at: SystemTime,
        secret: &str,
        token: Option<&str>,
    ) -> HeaderMap {
        let creds = Credentials::new(KEY, secret, token.map(str::to_owned), None, "test");
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("ap-southeast-3")
            .name(SERVICE)
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [("content-type", "application/json")];
        let req = SignableRequest::new(method, url, headers.into_iter(), SignableBody::Bytes(body))
            .unwrap();
        let (instr, _) = sign(req, &params).unwrap().into_parts();
        let mut map = HeaderMap::new();
        map.insert("host", "127.0.0.1:3000".parse().unwrap());
        map.insert("content-type", "application/json".parse().unwrap());
        for (k, v) in instr.headers() {
            map.insert(
                lambda_http::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    const URL: &str = "http://127.0.0.1:3000/v1/staff/employees/198609262015051001/email";
    const PATH: &str = "/v1/staff/employees/198609262015051001/email";

    #[test]
    fn a_correct_signature_yields_the_principal() {
        let now = SystemTime::now();
        for token in [None, Some("IQoJb3JpZ2luX2VjEXAMPLE")] {
            let h = signed("POST", URL, b"{}", now, SECRET, token);
            let ctx = gateway().verify("POST", PATH, &h, b"{}", now).unwrap();
            assert_eq!(ctx["iam"]["userArn"], ARN);
            assert_eq!(ctx["iam"]["accountId"], "123456789012");
        }
    }

    #[test]
    fn anything_changed_or_missing_is_refused() {
        let now = SystemTime::now();
        let g = gateway();
        let h = signed("POST", URL, b"{}", now, SECRET, None);
        // Another body, another path, another method.
        assert_eq!(
            g.verify("POST", PATH, &h, b"{\"x\":1}", now),
            Err(Denied::BadSignature)
        );
        assert_eq!(
            g.verify(
                "POST",
                "/v1/staff/employees/198609262015051001/unlock",
                &h,
                b"{}",
                now
            ),
            Err(Denied::BadSignature)
        );
        assert_eq!(
            g.verify("GET", PATH, &h, b"{}", now),
            Err(Denied::BadSignature)
        );
        // The wrong secret.
        let h2 = signed("POST", URL, b"{}", now, "not-the-secret", None);
        assert_eq!(
            g.verify("POST", PATH, &h2, b"{}", now),
            Err(Denied::BadSignature)
        );
        // No signature at all.
        let mut bare = h.clone();
        bare.remove("authorization");
        assert_eq!(
            g.verify("POST", PATH, &bare, b"{}", now),
            Err(Denied::Missing)
        );
        // A signed header changed after signing.
        let mut changed = h.clone();
        changed.insert("content-type", "text/plain".parse().unwrap());
        assert_eq!(
            g.verify("POST", PATH, &changed, b"{}", now),
            Err(Denied::BadSignature)
        );
        // Too old.
        let old = now - Duration::from_secs(6 * 60);
        let h3 = signed("POST", URL, b"{}", old, SECRET, None);
        assert_eq!(
            g.verify("POST", PATH, &h3, b"{}", now),
            Err(Denied::Expired)
        );
        // An unknown access key.
        let other = IamGateway::parse(&format!("AKIAOTHER {SECRET} {ARN}")).unwrap();
        assert_eq!(
            other.verify("POST", PATH, &h, b"{}", now),
            Err(Denied::UnknownKey)
        );
    }

    #[test]
    fn credential_files_are_checked() {
        assert!(IamGateway::parse("").is_err());
        assert!(IamGateway::parse("KEY SECRET").is_err());
        assert!(IamGateway::parse("KEY SECRET not-an-arn").is_err());
    }
}
