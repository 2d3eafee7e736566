//! The employee import: rows from the personnel data, in batches.

use crate::domain::email::Email;
use crate::domain::nip::Nip;
use crate::ports::Account;
use crate::service::Service;
use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Operator, StaffError};

/// One row of an employee export (`nip,name,email[,instansi]`).
#[derive(Debug, Clone, Default)]
pub struct EmployeeRow {
    pub nip: String,
    pub name: String,
    pub email: String,
    /// The agency; `None` when the export has no such column (the employee keeps theirs),
    /// an empty text when the column is there and empty (the agency is cleared).
    pub instansi: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    /// The row's e-mail differs from one verified at a counter: the e-mail was kept (any
    /// other change applied).
    KeptCounterEmail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeSummary {
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub attempts_left: u32,
}

/// Rows a bulk import reads in one batch (DynamoDB's BatchGetItem takes 100 keys).
pub const IMPORT_BATCH: usize = 100;

/// An agency name: invisible formatting and control characters dropped, white space
/// folded.
fn clean_optional(raw: Option<&str>) -> Option<String> {
    raw.map(|s| {
        s.chars()
            .filter(|c| !c.is_control() && !crate::text::i18n::is_invisible_format(*c))
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    })
    .filter(|s| !s.is_empty())
}

impl Staff<'_> {
    /// One record for a whole import run (its file, counts and time); the rows that changed
    /// have their own records.
    pub async fn record_import_run(
        self,
        op: &Operator,
        summary: serde_json::Value,
    ) -> Result<(), StaffError> {
        self.staff_audit(self.staff_event(
            op,
            None,
            Action::EmployeeImportRun,
            Outcome::Done,
            summary,
        ))
        .await
    }

    /// Creates or updates one employee; idempotent. The e-mail of an activated account is
    /// only changed at the counter (identity check), never by import.
    pub async fn import_employee(
        self,
        row: &EmployeeRow,
        op: &Operator,
    ) -> Result<ImportOutcome, StaffError> {
        self.import_row(row, op, None).await
    }

    /// Imports a batch of rows (a bulk import feeds [`IMPORT_BATCH`] at a time): one
    /// batched read of the accounts that exist (BatchGetItem on DynamoDB), then each row's
    /// conditional write, at most `jobs` at once. The writes stay one per row: a new account
    /// is created only if none appeared meanwhile, a change only at the version read, which a
    /// batched write cannot express. A row whose account changed since the batch read is
    /// read again and retried once; a failed batch read falls back to a read per row. One
    /// result per row, in order.
    pub async fn import_employees(
        self,
        rows: &[EmployeeRow],
        op: &Operator,
        jobs: usize,
    ) -> Vec<Result<ImportOutcome, StaffError>> {
        use futures_util::stream::{self, StreamExt};
        let nips: Vec<Option<Nip>> = rows.iter().map(|r| self.nip(&r.nip).ok()).collect();
        let valid: Vec<Nip> = nips.iter().flatten().cloned().collect();
        let mut found: std::collections::HashMap<Nip, Option<Account>> =
            match self.store.get_accounts(&valid).await {
                Ok(accounts) => valid.into_iter().zip(accounts).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "batched account read failed; reading per row");
                    std::collections::HashMap::new()
                }
            };
        let prefetched: Vec<Option<Option<Account>>> = nips
            .iter()
            .map(|n| n.as_ref().and_then(|n| found.get(n).cloned()))
            .collect();
        found.clear();
        stream::iter(rows.iter().zip(prefetched))
            .map(|(row, known)| async move {
                match self.import_row(row, op, known).await {
                    Err(StaffError::Conflict) => self.import_row(row, op, None).await,
                    other => other,
                }
            })
            .buffered(jobs.max(1))
            .collect()
            .await
    }
}

impl Service {
    /// An import row refused because another account claims its address names that account
    /// (masked): the file is the supervisor's, of every agency, and both rows need fixing.
    fn named_holder(&self, e: crate::ports::StoreError) -> StaffError {
        match e {
            crate::ports::StoreError::EmailTaken(holder) => StaffError::EmailTaken {
                holder: Nip::parse_with(
                    &holder,
                    self.now().date_naive(),
                    &crate::domain::nip::NipRules::permissive(),
                )
                .ok()
                .map(|n| n.masked()),
            },
            other => other.into(),
        }
    }

    /// One row; `known` is the account as a batch read found it (`None`: read it now).
    async fn import_row(
        &self,
        row: &EmployeeRow,
        op: &Operator,
        known: Option<Option<Account>>,
    ) -> Result<ImportOutcome, StaffError> {
        let nip = self.nip(&row.nip)?;
        let name = crate::domain::name::EmployeeName::parse(&row.name)?;
        let email = match row.email.trim() {
            "" => None,
            e => Some(Email::parse(e)?),
        };
        let instansi = clean_optional(row.instansi.as_deref());
        let now = self.now();
        let existing = match known {
            Some(k) => k,
            None => self.store.get_account(&nip).await?,
        };
        let outcome = match existing {
            None => {
                let account = Account {
                    nip: nip.clone(),
                    name,
                    email: email.clone(),
                    email_verified_at: None,
                    instansi,
                    password_hash: None,
                    credential_version: 0,
                    password_changed_at: None,
                    second_factor: None,
                    created_at: now,
                    updated_at: now,
                    version: 0,
                };
                self.store
                    .insert_account(&account)
                    .await
                    .map_err(|e| self.named_holder(e))?;
                ImportOutcome::Created
            }
            Some(existing) => {
                // An export without the agency column keeps each employee's agency.
                let instansi = match row.instansi {
                    None => existing.instansi.clone(),
                    Some(_) => instansi,
                };
                self.import_over(&existing, name, email.clone(), instansi, now)
                    .await?
            }
        };
        if outcome != ImportOutcome::Unchanged {
            self.staff_audit(self.staff_event(
                op,
                Some(&nip),
                Action::EmployeeImported,
                match outcome {
                    ImportOutcome::Created => Outcome::Created,
                    ImportOutcome::KeptCounterEmail => Outcome::KeptCounterEmail,
                    _ => Outcome::Updated,
                },
                json!({ "email": email.as_ref().map(Email::masked) }),
            ))
            .await?;
        }
        Ok(outcome)
    }

    /// A row over an existing account: name, e-mail and agency as the export has them, except
    /// an e-mail set at a counter after the in-person check (the export may be older than the
    /// visit), and no e-mail change for an account in use (that is the counter's). A changed
    /// address ends the codes sent to the old one, which is told.
    async fn import_over(
        &self,
        existing: &Account,
        name: crate::domain::name::EmployeeName,
        email: Option<Email>,
        instansi: Option<String>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ImportOutcome, StaffError> {
        let keep_email = existing.email_verified_at.is_some() && existing.email != email;
        let email = if keep_email {
            existing.email.clone()
        } else {
            email
        };
        let kept_or = |changed| {
            if keep_email {
                ImportOutcome::KeptCounterEmail
            } else {
                changed
            }
        };
        if existing.name == name && existing.email == email && existing.instansi == instansi {
            return Ok(kept_or(ImportOutcome::Unchanged));
        }
        if existing.email != email && existing.password_hash.is_some() {
            return Err(StaffError::EmailNeedsCounter);
        }
        let mut updated = existing.clone();
        updated.name = name;
        updated.email = email.clone();
        updated.instansi = instansi;
        updated.updated_at = now;
        let email_changed = existing.email != email;
        if email_changed {
            // Codes sent to the old address die with the credential version.
            updated.credential_version += 1;
        }
        if email_changed {
            // The claim moves with the address (refused if another account holds it).
            self.store
                .update_account_email(&updated, existing.version, existing.email.as_ref())
                .await
                .map_err(|e| self.named_holder(e))?;
            self.reclaim_if_shared(existing.email.as_ref()).await;
        } else {
            self.store
                .update_account(&updated, existing.version)
                .await?;
        }
        if let (true, Some(old)) = (email_changed, &existing.email) {
            self.send(crate::mail::email_changed_old_email(
                old,
                updated.name.as_str(),
                &email.as_ref().map_or_else(|| "-".to_owned(), Email::masked),
                crate::mail::ChangedBy::Import,
                now,
                crate::text::i18n::Lang::Id,
            ))
            .await;
        }
        Ok(kept_or(ImportOutcome::Updated))
    }
}
