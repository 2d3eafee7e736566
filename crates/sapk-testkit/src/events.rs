//! An API called with an API Gateway event, as the Lambda runtime calls a function.

use lambda_http::http::HeaderMap;
use lambda_http::{Body, Response};
use sapk_http::{Api, ApiGatewayV2, StaffApi};
use serde_json::Value;

/// What a function answered.
#[derive(Debug, Clone)]
pub struct Answered {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when it is not).
    pub json: Value,
}

impl Answered {
    pub fn of(resp: &Response<Body>) -> Answered {
        Answered {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            json: body_json(resp),
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// A response body as JSON (`Null` when it is not).
pub fn body_json(resp: &Response<Body>) -> Value {
    serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null)
}

/// The public API's answer to `event`.
pub async fn call(api: &Api, event: &ApiGatewayV2) -> Answered {
    let req = event.request().expect("a valid API Gateway v2 event");
    Answered::of(&api.handle(req).await)
}

/// The staff API's answer to `event`.
pub async fn call_staff(api: &StaffApi, event: &ApiGatewayV2) -> Answered {
    let req = event.request().expect("a valid API Gateway v2 event");
    Answered::of(&api.handle(req).await)
}
