//! The event builder against the events in `data/` (in the format API Gateway delivers, as
//! AWS documents it for HTTP APIs, payload 2.0): what the local server, the tests, the route
//! bench and the load harness build is what a function receives.

use chrono::{TimeZone, Utc};
use sapk_http::ApiGatewayV2;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// The fixture as the builder makes it: `queryStringParameters` is left out (the runtime
/// reads the raw query string; see lambda_http's `into_api_gateway_v2_request`).
fn without_parsed_query(mut e: Value) -> Value {
    if let Some(o) = e.as_object_mut() {
        o.remove("queryStringParameters");
    }
    e
}

fn assert_same(built: &ApiGatewayV2, name: &str) {
    let want = without_parsed_query(fixture(name));
    assert_eq!(built.to_json(), want, "{name}");
    // And the runtime reads both alike.
    let (a, b) = (
        built.request().expect("built event"),
        lambda_http::request::from_str(&fixture(name).to_string()).expect("fixture event"),
    );
    assert_eq!(a.method(), b.method());
    assert_eq!(a.uri(), b.uri());
    assert_eq!(a.headers(), b.headers());
    assert_eq!(a.body().as_ref(), b.body().as_ref());
}

fn gateway_headers(e: ApiGatewayV2, user_agent: &str, source: &str) -> ApiGatewayV2 {
    e.header("host", "abc123.execute-api.ap-southeast-3.amazonaws.com")
        .header("user-agent", user_agent)
        .header("x-forwarded-for", source)
        .header("x-forwarded-port", "443")
        .header("x-forwarded-proto", "https")
        .source_ip(source)
}

#[test]
fn a_public_post_with_a_json_body() {
    let e = ApiGatewayV2::new("POST", "/v1/password/forgot")
        .header("accept", "application/json")
        .header("accept-language", "id-ID,id;q=0.9,en;q=0.8")
        .header("content-length", "29")
        .header(
            "x-amzn-trace-id",
            "Root=1-6746d300-0123456789abcdef01234567",
        );
    let e = gateway_headers(e, "Mozilla/5.0 (Linux; Android 14) Mobile", "203.0.113.7")
        .json(&json!({ "nip": "198609262015051001" }));
    assert_same(&e, "apigw_v2_forgot_request.json");
}

#[test]
fn a_get_with_a_query_and_a_bearer_token_from_ipv6() {
    let e = ApiGatewayV2::new("GET", "/v1/account/activity")
        .query("limit=5")
        .header("accept", "application/json")
        .header("accept-language", "en")
        .bearer(&"A".repeat(43));
    let e = gateway_headers(e, "curl/8.5.0", "2001:db8:1:2::7");
    assert_same(&e, "apigw_v2_activity_request.json");
    let req = e.request().expect("event");
    use lambda_http::RequestExt;
    assert_eq!(
        req.query_string_parameters_ref()
            .and_then(|q| q.first("limit")),
        Some("5")
    );
}

#[test]
fn a_staff_request_through_the_iam_authorizer() {
    let rina = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b3c4d5e6f7a8b/rina@bandung.go.id";
    let e = ApiGatewayV2::new("GET", "/v1/staff/employees/198609262015051001")
        .route_key("GET /v1/staff/employees/{nip}")
        .path_parameter("nip", "198609262015051001")
        .header("accept", "application/json")
        .header("accept-language", "id")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY/20261128/ap-southeast-3/execute-api/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=0000000000000000000000000000000000000000000000000000000000000000")
        .header("content-length", "0")
        .header("x-amz-date", "20261128T030000Z")
        .header("x-amz-security-token", "IQoJb3JpZ2luX2VjEXAMPLE")
        .header("x-amzn-trace-id", "Root=1-6747e1c0-0123456789abcdef01234567")
        .request_id("Cm3eXjYhoAMEJ5A=")
        .at(Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap())
        .iam_caller(rina);
    let e = gateway_headers(e, "sapk-admin/0.1.0", "198.51.100.20");
    assert_same(&e, "apigw_v2_iam_staff_request.json");
    let req = e.request().expect("event");
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        panic!("not an HTTP API context");
    };
    let arn = ctx
        .authorizer
        .as_ref()
        .and_then(|a| a.iam.as_ref())
        .and_then(|i| i.user_arn.as_deref());
    assert_eq!(arn, Some(rina));
}

#[test]
fn a_body_that_is_not_text_goes_base64() {
    let e = ApiGatewayV2::new("POST", "/v1/login").body(vec![0xff, 0xfe, b'{']);
    let j = e.to_json();
    assert_eq!(j["isBase64Encoded"], json!(true));
    assert_eq!(j["body"], json!("//57"));
    let req = e.request().expect("event");
    assert_eq!(req.body().as_ref(), &[0xff, 0xfe, b'{']);
    // Text can be sent base64 too, as API Gateway does for some content types.
    let t = ApiGatewayV2::new("POST", "/v1/login").base64_body("{}");
    assert_eq!(t.to_json()["body"], json!("e30="));
    assert_eq!(t.request().expect("event").body().as_ref(), b"{}");
    // Repeated headers are joined, names lower-cased; no body, no `body` field.
    let h = ApiGatewayV2::new("GET", "/v1/session")
        .header("X-Forwarded-For", "192.0.2.1")
        .header("x-forwarded-for", "203.0.113.9");
    assert_eq!(
        h.to_json()["headers"]["x-forwarded-for"],
        json!("192.0.2.1,203.0.113.9")
    );
    assert!(h.to_json().get("body").is_none());
}
