//! `POST /v1/staff/employees/{nip}/email-exception`: an e-mail change whose NIK disagrees
//! with the NIP (with `exception_reason`), kept pending for a second officer.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{body_json, change_problem, ok};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use sapk_core::staff::EmailChangeRequest;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "email_exception",
    method: RouteMethod::Post,
    suffix: "/email-exception",
    action: Action::EmailExceptionRequest,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let request = body_json::<EmailChangeRequest>(c).await?;
        c.svc
            .staff()
            .request_email_exception(&c.nip, &request, &c.op)
            .await
            .map(|p| ok(c.lang, &json!({ "ok": true, "pending": p })))
            .map_err(|e| change_problem(e, c.lang))
    })
}
