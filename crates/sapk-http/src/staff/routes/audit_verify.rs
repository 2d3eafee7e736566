//! `GET /v1/staff/employees/{nip}/audit/verify`: the check of the trail's keyed hash chain
//! (`problems` empty when intact). With `-` for the NIP, the chain of records without one
//! (the registry, import runs, checkpoints), for a BKN office's officers: the staff API
//! answers that before the NIP is read (`StaffApi`).

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{ok, staff_problem};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "audit_verify",
    method: RouteMethod::Get,
    suffix: "/audit/verify",
    action: Action::AuditVerified,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let report = c
            .svc
            .staff()
            .verify_audit_trail(c.nip.as_str(), &c.op)
            .await
            .map_err(|e| staff_problem(&e, c.lang))?;
        Ok(ok(c.lang, &json!(report)))
    })
}
