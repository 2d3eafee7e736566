//! Who may act: an officer's registration, authorisation and scope.

use crate::audit_text::{Action, Outcome};
use crate::nip::Nip;
use crate::ports::Account;
use crate::service::Service;
use serde_json::json;

use super::{Forbidden, Operator, StaffError};

impl crate::ports::Officer {
    /// The identity every audit record of this officer's actions carries: the IAM
    /// principal and the registered office.
    pub fn operator(&self) -> Operator {
        Operator {
            id: self.principal.clone(),
            office: self.office.clone(),
        }
    }
}

impl Service {
    /// The registered, active officer signed in as `principal`. An unregistered or
    /// deactivated principal is refused, and the refusal audited (in the trail of the
    /// employee the request was about, `target`, when there is one).
    pub async fn authorize_officer(
        &self,
        principal: &str,
        target: Option<&Nip>,
    ) -> Result<crate::ports::Officer, StaffError> {
        let officer = self.store.get_officer(principal).await?;
        let why = match &officer {
            None => Forbidden::Unregistered,
            Some(o) if !o.active => Forbidden::Deactivated,
            Some(o) => return Ok(o.clone()),
        };
        let op = Operator {
            id: principal.to_owned(),
            office: officer.map_or_else(|| "UNREGISTERED".to_owned(), |o| o.office),
        };
        let mut ev = self.staff_event(
            &op,
            target,
            Action::StaffRequest,
            Outcome::Refused,
            json!({}),
        );
        ev.details = json!({ "reason": why.code() });
        self.staff_audit(ev).await?;
        Err(StaffError::Forbidden(why))
    }

    /// Refuses, audited, an action on `account` outside the officer's scope (an agency HR
    /// officer may act only on employees of their own `instansi`).
    pub async fn check_scope(
        &self,
        officer: &crate::ports::Officer,
        account: &Account,
        action: Action,
    ) -> Result<(), StaffError> {
        if officer.scope.covers(account.instansi.as_deref()) {
            return Ok(());
        }
        self.refuse_audited(
            &officer.operator(),
            &account.nip,
            action,
            Forbidden::OutOfScope.reason_code(),
            json!({ "scope": officer.scope.as_text() }),
        )
        .await?;
        Err(StaffError::Forbidden(Forbidden::OutOfScope))
    }

    /// Registers or replaces an officer (a supervisor's action, audited under the
    /// supervisor's identity).
    pub async fn register_officer(
        &self,
        mut officer: crate::ports::Officer,
        by: &Operator,
    ) -> Result<(), StaffError> {
        officer.principal = officer.principal.trim().to_owned();
        if officer.principal.is_empty() || officer.office.trim().is_empty() {
            return Err(StaffError::InvalidName("principal and office are required"));
        }
        officer.name = crate::EmployeeName::parse(&officer.name)?.into_string();
        officer.updated_at = self.now();
        self.store.put_officer(&officer).await?;
        self.staff_audit(self.staff_event(
            by,
            None,
            Action::StaffRegistry,
            if officer.active {
                Outcome::Registered
            } else {
                Outcome::Deactivated
            },
            json!({
                "principal": officer.principal,
                "officer_id": officer.officer_id,
                "office": officer.office,
                "scope": officer.scope.as_text(),
            }),
        ))
        .await
    }
}
