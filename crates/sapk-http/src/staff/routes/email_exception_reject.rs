//! `POST /v1/staff/employees/{nip}/email-exception/reject`: `{"why"?}` or an empty body.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{body_json, change_problem, ok};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "email_exception_reject",
    method: RouteMethod::Post,
    suffix: "/email-exception/reject",
    action: Action::EmailExceptionReject,
    handler,
};

/// The body of a rejection: why, optionally.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    #[serde(default)]
    why: Option<String>,
}

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let body = body_json::<RejectBody>(c).await?;
        c.svc
            .staff()
            .reject_email_exception(&c.nip, &c.op, body.why.as_deref())
            .await
            .map_err(|e| change_problem(e, c.lang))?;
        Ok(ok(c.lang, &json!({ "ok": true })))
    })
}
