//! `GET /v1/staff/employees/{nip}/audit?limit=N`: the trail, newest first.

use super::{limit, StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{ok, staff_problem};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "audit",
    method: RouteMethod::Get,
    suffix: "/audit",
    action: Action::AuditViewed,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let events = c
            .svc
            .staff()
            .audit_trail(c.nip.as_str(), limit(c.req, 50), &c.op)
            .await
            .map_err(|e| staff_problem(&e, c.lang))?;
        Ok(ok(c.lang, &json!(events)))
    })
}
