//! `GET /v1/staff/employees/{nip}/email-exception`: the pending exception, or `null`.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{ok, staff_problem};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "email_exception_view",
    method: RouteMethod::Get,
    suffix: "/email-exception",
    action: Action::EmailExceptionViewed,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let pending = c
            .svc
            .staff()
            .view_email_exception(&c.nip, &c.op)
            .await
            .map_err(|e| staff_problem(&e, c.lang))?;
        // Whether the reader asked for it: they may not decide it, and are told before any
        // question.
        let yours = match &pending {
            Some(p) => c
                .svc
                .staff()
                .is_requester(p, &c.op)
                .await
                .map_err(|e| staff_problem(&e, c.lang))?,
            None => false,
        };
        Ok(ok(c.lang, &json!({ "pending": pending, "yours": yours })))
    })
}
