//! `POST /v1/staff/employees/{nip}/passkeys/remove`: the core's `PasskeyRemovalRequest` (the
//! e-mail change's identity check, and the passkey's `id` or none for all); `409
//! no_passkey` when there is none to remove.

use super::{StaffAnswer, StaffCtx, StaffRouteDef};
use crate::staff::{body_json, change_problem, ok};
use crate::RouteMethod;
use sapk_core::audit_text::Action;
use sapk_core::staff::passkey_removal::PasskeyRemovalRequest;
use serde_json::json;

pub(super) const ROUTE: StaffRouteDef = StaffRouteDef {
    name: "passkeys_remove",
    method: RouteMethod::Post,
    suffix: "/passkeys/remove",
    action: Action::PasskeyRemove,
    handler,
};

fn handler<'a>(c: &'a StaffCtx<'a>) -> StaffAnswer<'a> {
    Box::pin(async move {
        let request = body_json::<PasskeyRemovalRequest>(c).await?;
        c.svc
            .staff()
            .remove_passkeys(&c.nip, &request, &c.op, c.lang)
            .await
            .map(|out| ok(c.lang, &json!({ "ok": true, "outcome": out })))
            .map_err(|e| change_problem(e, c.lang))
    })
}
