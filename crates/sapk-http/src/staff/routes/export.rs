//! `POST /v1/staff/employees/{nip}/export`: what the service holds about the person, as the
//! text to hand over (UU PDP art. 32), in the request's language; recorded in their trail.
//! `POST` because it writes that record.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{ok, staff_problem};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "export",
    method: RouteMethod::Post,
    suffix: "/export",
    action: Action::SubjectAccessExport,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let text = c
            .svc
            .staff()
            .subject_access_export(c.nip.as_str(), &c.op, c.lang)
            .await
            .map_err(|e| staff_problem(&e, c.lang))?;
        Ok(ok(c.lang, &json!({ "text": text })))
    })
}
