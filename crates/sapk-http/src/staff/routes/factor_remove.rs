//! `POST /v1/staff/employees/{nip}/second-factor/remove`: the core's
//! `FactorRemovalRequest` (the e-mail change's identity check); `409 no_second_factor` when
//! there is none.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{body_json, change_problem, ok};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use sapk_core::staff::factor_removal::FactorRemovalRequest;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "second_factor_remove",
    method: RouteMethod::Post,
    suffix: "/second-factor/remove",
    action: Action::SecondFactorRemove,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let request = body_json::<FactorRemovalRequest>(c).await?;
        c.svc
            .staff()
            .remove_second_factor(&c.nip, &request, &c.op, c.lang)
            .await
            .map(|out| ok(c.lang, &json!({ "ok": true, "outcome": out })))
            .map_err(|e| change_problem(e, c.lang))
    })
}
