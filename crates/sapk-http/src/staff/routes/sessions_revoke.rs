//! `POST /v1/staff/employees/{nip}/sessions/revoke`: ends every session of the account.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{ok, staff_problem};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "sessions_revoke",
    method: RouteMethod::Post,
    suffix: "/sessions/revoke",
    action: Action::SessionRevoke,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        c.svc
            .staff()
            .revoke_sessions(c.nip.as_str(), &c.op)
            .await
            .map_err(|e| staff_problem(&e, c.lang))?;
        Ok(ok(c.lang, &json!({ "ok": true })))
    })
}
