//! Staff actions behind the admin CLI: import, look-up and the counter workflow. Each one is
//! audited with the operator's identity.

use crate::email::{Email, EmailError};
use crate::nip::{Nip, NipError, NipFacts};
use crate::ports::{Account, AuditEvent, StoreError};
use crate::service::Service;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

/// The officer at the keyboard, recorded on every action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub id: String,
    pub office: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("invalid NIP: {0}")]
    InvalidNip(#[from] NipError),
    #[error("invalid e-mail: {0}")]
    InvalidEmail(#[from] EmailError),
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    #[error("no employee with this NIP")]
    UnknownNip,
    #[error("the account is activated and its e-mail differs; change it at the counter with `email change`")]
    EmailNeedsCounter,
    #[error("someone else changed this account meanwhile; look it up again")]
    Conflict,
    #[error("store: {0}")]
    Store(StoreError),
}

impl From<StoreError> for StaffError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => StaffError::Conflict,
            other => StaffError::Store(other),
        }
    }
}

/// One row of an employee export (`nip,name,email[,instansi]`).
#[derive(Debug, Clone, Default)]
pub struct EmployeeRow {
    pub nip: String,
    pub name: String,
    pub email: String,
    pub instansi: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
pub struct CodeSummary {
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub attempts_left: u32,
}

/// What `employee show` tells an officer.
#[derive(Debug, Clone, Serialize)]
pub struct EmployeeOverview {
    pub nip: Nip,
    pub facts: NipFacts,
    pub name: String,
    pub email: Option<Email>,
    pub email_masked: Option<String>,
    pub instansi: Option<String>,
    /// `not_activated` (no password yet) or `active`.
    pub state: &'static str,
    pub login_failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub active_code: Option<CodeSummary>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub credential_version: u64,
    pub recent_audit: Vec<AuditEvent>,
}

fn clean_name(raw: &str) -> Result<String, StaffError> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(StaffError::InvalidName("empty"));
    }
    if name.chars().count() > 200 {
        return Err(StaffError::InvalidName("longer than 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(StaffError::InvalidName("control characters"));
    }
    Ok(name)
}

fn clean_optional(raw: Option<&str>) -> Option<String> {
    raw.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
}

impl Service {
    pub(crate) fn staff_event(
        &self,
        op: &Operator,
        nip: Option<&Nip>,
        action: &str,
        outcome: &str,
        details: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            actor: op.id.clone(),
            office: Some(op.office.clone()),
            nip: nip.cloned(),
            source_ip: None,
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            details,
        }
    }

    /// Staff audit records must be written: a failed append fails the action's report.
    async fn staff_audit(&self, event: AuditEvent) -> Result<(), StaffError> {
        self.store
            .append_audit(&event)
            .await
            .map_err(StaffError::Store)
    }

    /// Creates or updates one employee; idempotent. The e-mail of an activated account is
    /// only changed at the counter (identity check), never by import.
    pub async fn import_employee(
        &self,
        row: &EmployeeRow,
        op: &Operator,
    ) -> Result<ImportOutcome, StaffError> {
        let nip = self.parse_nip(&row.nip).map_err(|e| match e {
            crate::AuthError::InvalidNip(n) => StaffError::InvalidNip(n),
            _ => StaffError::InvalidName("unreachable"),
        })?;
        let name = clean_name(&row.name)?;
        let email = match row.email.trim() {
            "" => None,
            e => Some(Email::parse(e)?),
        };
        let instansi = clean_optional(row.instansi.as_deref());
        let now = self.now();
        let outcome = match self.store.get_account(&nip).await? {
            None => {
                let account = Account {
                    nip: nip.clone(),
                    name,
                    email: email.clone(),
                    instansi,
                    password_hash: None,
                    credential_version: 0,
                    password_changed_at: None,
                    created_at: now,
                    updated_at: now,
                    version: 0,
                };
                self.store.insert_account(&account).await?;
                ImportOutcome::Created
            }
            Some(existing) => {
                if existing.name == name && existing.email == email && existing.instansi == instansi
                {
                    ImportOutcome::Unchanged
                } else {
                    if existing.email != email && existing.password_hash.is_some() {
                        return Err(StaffError::EmailNeedsCounter);
                    }
                    let mut updated = existing.clone();
                    updated.name = name;
                    updated.email = email.clone();
                    updated.instansi = instansi;
                    updated.updated_at = now;
                    self.store
                        .update_account(&updated, existing.version)
                        .await?;
                    ImportOutcome::Updated
                }
            }
        };
        if outcome != ImportOutcome::Unchanged {
            self.staff_audit(self.staff_event(
                op,
                Some(&nip),
                "employee_imported",
                match outcome {
                    ImportOutcome::Created => "created",
                    _ => "updated",
                },
                json!({ "email": email.as_ref().map(Email::masked) }),
            ))
            .await?;
        }
        Ok(outcome)
    }

    /// Everything an officer needs to see about one employee. The look-up itself is audited.
    pub async fn employee_overview(
        &self,
        nip_raw: &str,
        op: &Operator,
        audit_limit: usize,
    ) -> Result<EmployeeOverview, StaffError> {
        let nip = Nip::parse(nip_raw, self.now().date_naive())?;
        let account = self.store.get_account(&nip).await?;
        let Some(a) = account else {
            self.staff_audit(self.staff_event(
                op,
                Some(&nip),
                "employee_viewed",
                "unknown_nip",
                json!(null),
            ))
            .await?;
            return Err(StaffError::UnknownNip);
        };
        let now = self.now();
        let throttle = self
            .store
            .get_throttle(&nip)
            .await?
            .filter(|t| t.expires_at > now);
        let code = self.store.get_reset_code(&nip).await?.filter(|c| {
            c.expires_at > now
                && c.attempts_left > 0
                && c.credential_version == a.credential_version
        });
        self.staff_audit(self.staff_event(op, Some(&nip), "employee_viewed", "ok", json!(null)))
            .await?;
        let recent_audit = self.store.list_audit(&nip, audit_limit).await?;
        Ok(EmployeeOverview {
            facts: nip.facts().clone(),
            nip,
            name: a.name,
            email_masked: a.email.as_ref().map(Email::masked),
            email: a.email,
            instansi: a.instansi,
            state: if a.password_hash.is_some() {
                "active"
            } else {
                "not_activated"
            },
            login_failures: throttle.as_ref().map_or(0, |t| t.failures),
            locked_until: throttle.and_then(|t| t.locked_until).filter(|u| *u > now),
            active_code: code.map(|c| CodeSummary {
                issued_at: c.issued_at,
                expires_at: c.expires_at,
                attempts_left: c.attempts_left,
            }),
            password_changed_at: a.password_changed_at,
            credential_version: a.credential_version,
            recent_audit,
        })
    }
}
