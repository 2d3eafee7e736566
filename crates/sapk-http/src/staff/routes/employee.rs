//! `GET /v1/staff/employees/{nip}?limit=N[&new_email=A]`: the employee overview (N recent
//! audit events; with `new_email`, who else within the officer's scope has that address).

use super::{limit, StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{ok, staff_problem};
use crate::RouteMethod;
use lambda_http::RequestExt;
use sapk_core::audit_text::Action;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "employee",
    method: RouteMethod::Get,
    suffix: "",
    action: Action::EmployeeViewed,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let new_email = c
            .req
            .query_string_parameters_ref()
            .and_then(|q| q.first("new_email"))
            .map(str::to_owned);
        let o = c
            .svc
            .staff()
            .employee_overview_for(
                c.nip.as_str(),
                &c.op,
                limit(c.req, 10),
                new_email.as_deref(),
            )
            .await
            .map_err(|e| staff_problem(&e, c.lang))?;
        Ok(ok(c.lang, &json!(o)))
    })
}
