//! `POST /v1/staff/employees/{nip}/email-exception/approve`: a second officer (another
//! person) applies the pending exception as an e-mail change.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{change_problem, ok};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "email_exception_approve",
    method: RouteMethod::Post,
    suffix: "/email-exception/approve",
    action: Action::EmailExceptionApprove,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        c.svc
            .staff()
            .approve_email_exception(&c.nip, &c.op, c.lang)
            .await
            .map(|out| ok(c.lang, &json!({ "ok": true, "outcome": out })))
            .map_err(|e| change_problem(e, c.lang))
    })
}
