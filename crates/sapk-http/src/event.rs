//! API Gateway HTTP API events (payload format 2.0), the one builder of them: the local
//! server turns each HTTP request into the event AWS would deliver, and the tests, the
//! route bench and the load harness build theirs here. What it builds has the shape of the
//! fixtures in `tests/data/` (`apigw_v2_*.json`), and a test holds it to them.

use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use lambda_http::http::HeaderMap;
use serde_json::{json, Map, Value};

/// One event, built up from a method and a path.
#[derive(Debug, Clone)]
pub struct ApiGatewayV2 {
    method: String,
    path: String,
    query: String,
    headers: Map<String, Value>,
    body: Option<Vec<u8>>,
    /// The body goes base64-encoded even when it is text (API Gateway does so for some
    /// content types).
    base64: bool,
    source_ip: String,
    route_key: Option<String>,
    account_id: String,
    api_id: String,
    domain_name: String,
    request_id: String,
    at: DateTime<Utc>,
    authorizer: Option<Value>,
    path_parameters: Map<String, Value>,
}

impl ApiGatewayV2 {
    /// `method` on `path`, from 203.0.113.7 (a documentation address), without headers
    /// or body, at 2026-11-27 08:00 UTC, on an API `abc123` in ap-southeast-3.
    pub fn new(method: &str, path: &str) -> ApiGatewayV2 {
        ApiGatewayV2 {
            method: method.to_owned(),
            path: path.to_owned(),
            query: String::new(),
            headers: Map::new(),
            body: None,
            base64: false,
            source_ip: "203.0.113.7".to_owned(),
            route_key: None,
            account_id: "123456789012".to_owned(),
            api_id: "abc123".to_owned(),
            domain_name: "abc123.execute-api.ap-southeast-3.amazonaws.com".to_owned(),
            request_id: "JKJaXmPLvHcESHA=".to_owned(),
            at: Utc
                .with_ymd_and_hms(2026, 11, 27, 8, 0, 0)
                .single()
                .unwrap_or_default(),
            authorizer: None,
            path_parameters: Map::new(),
        }
    }

    /// The raw query string, without `?`.
    pub fn query(mut self, query: &str) -> Self {
        self.query = query.to_owned();
        self
    }

    /// One header (names are lower case in the event, as API Gateway sends them; a repeated
    /// header's values are joined with `,`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        match self.headers.get_mut(&name) {
            Some(Value::String(v)) => {
                v.push(',');
                v.push_str(value);
            }
            _ => {
                self.headers.insert(name, Value::String(value.to_owned()));
            }
        }
        self
    }

    /// Every header of `headers` (a value that is not UTF-8 is read lossily).
    pub fn headers(self, headers: &HeaderMap) -> Self {
        headers.iter().fold(self, |e, (name, value)| {
            e.header(name.as_str(), &String::from_utf8_lossy(value.as_bytes()))
        })
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// The body: as text when it is UTF-8, else base64 with `isBase64Encoded`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The body, base64-encoded with `isBase64Encoded` whatever it holds.
    pub fn base64_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.base64 = true;
        self
    }

    /// A JSON body with `content-type: application/json`.
    pub fn json(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }

    /// The caller's address (`requestContext.http.sourceIp`).
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.to_owned();
        self
    }

    /// The route key (default: `METHOD path`, as for a route of the stack's API).
    pub fn route_key(mut self, key: &str) -> Self {
        self.route_key = Some(key.to_owned());
        self
    }

    /// The API the event came through: account, API id and domain name.
    pub fn api(mut self, account_id: &str, api_id: &str, domain_name: &str) -> Self {
        self.account_id = account_id.to_owned();
        self.api_id = api_id.to_owned();
        self.domain_name = domain_name.to_owned();
        self
    }

    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }

    /// When API Gateway received the request.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }

    /// A path parameter of the route (`/v1/staff/employees/{nip}`).
    pub fn path_parameter(mut self, name: &str, value: &str) -> Self {
        self.path_parameters
            .insert(name.to_owned(), Value::String(value.to_owned()));
        self
    }

    /// The IAM authorizer's context, as API Gateway adds it after verifying a SigV4
    /// signature made by `user_arn` (an assumed role's session, e.g. an SSO user).
    pub fn iam_caller(self, user_arn: &str) -> Self {
        let session = user_arn.rsplit('/').next().unwrap_or(user_arn);
        let account = user_arn.split(':').nth(4).unwrap_or("123456789012");
        self.authorizer(json!({
            "iam": {
                "accessKey": "ASIAEXAMPLEKEY",
                "accountId": account,
                "callerId": format!("AROAEXAMPLEROLEID:{session}"),
                "cognitoIdentity": null,
                "principalOrgId": "o-exampleorg",
                "userArn": user_arn,
                "userId": format!("AROAEXAMPLEROLEID:{session}"),
            }
        }))
    }

    /// An authorizer context as given (`{"iam": {...}}`).
    pub fn authorizer(mut self, authorizer: Value) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// The event as JSON.
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// The event as JSON, without copying what it holds (the local server, per request).
    pub fn into_json(self) -> Value {
        let route_key = self
            .route_key
            .unwrap_or_else(|| format!("{} {}", self.method, self.path));
        let user_agent = self
            .headers
            .get("user-agent")
            .and_then(Value::as_str)
            .unwrap_or("");
        let domain_prefix = self.domain_name.split('.').next().unwrap_or("");
        let mut context = json!({
            "accountId": self.account_id,
            "apiId": self.api_id,
            "domainName": self.domain_name,
            "domainPrefix": domain_prefix,
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": "HTTP/1.1",
                "sourceIp": self.source_ip,
                "userAgent": user_agent,
            },
            "requestId": self.request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": self.at.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": self.at.timestamp_millis(),
        });
        if let Some(a) = self.authorizer {
            context["authorizer"] = a;
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": Value::Null,
            "requestContext": context,
            "isBase64Encoded": false,
        });
        event["headers"] = Value::Object(self.headers);
        if !self.path_parameters.is_empty() {
            event["pathParameters"] = Value::Object(self.path_parameters);
        }
        match self.body {
            None => {}
            Some(bytes) if bytes.is_empty() => {}
            Some(bytes) => match String::from_utf8(bytes) {
                Ok(text) if !self.base64 => event["body"] = Value::String(text),
                not_text_or_base64 => {
                    let bytes =
                        not_text_or_base64.map_or_else(|e| e.into_bytes(), String::into_bytes);
                    event["body"] =
                        Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
                    event["isBase64Encoded"] = Value::Bool(true);
                }
            },
        }
        event
    }

    /// The request the Lambda runtime hands the function for this event.
    pub fn request(&self) -> Result<lambda_http::Request, lambda_http::Error> {
        Ok(lambda_http::request::from_str(&self.to_json().to_string())?)
    }
}
