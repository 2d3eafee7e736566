//! `POST /v1/staff/employees/{nip}/email`: the core's `EmailChangeRequest` (new address, NIK,
//! documents, the officer's confirmation, optionally the version seen); the change after the
//! identity check.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{body_json, change_problem, ok};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use sapk_core::staff::EmailChangeRequest;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "email_change",
    method: RouteMethod::Post,
    suffix: "/email",
    action: Action::EmailChange,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let request = body_json::<EmailChangeRequest>(c).await?;
        c.svc
            .staff()
            .change_email(&c.nip, &request, &c.op, c.lang)
            .await
            .map(|out| ok(c.lang, &json!({ "ok": true, "outcome": out })))
            .map_err(|e| change_problem(e, c.lang))
    })
}
