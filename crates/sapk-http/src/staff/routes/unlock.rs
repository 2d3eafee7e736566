//! `POST /v1/staff/employees/{nip}/unlock`: lifts a lock-out; says whether there was one.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{ok, staff_problem};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "unlock",
    method: RouteMethod::Post,
    suffix: "/unlock",
    action: Action::AccountUnlock,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let was_locked = c
            .svc
            .staff()
            .unlock_account(c.nip.as_str(), &c.op)
            .await
            .map_err(|e| staff_problem(&e, c.lang))?;
        Ok(ok(c.lang, &json!({ "ok": true, "was_locked": was_locked })))
    })
}
