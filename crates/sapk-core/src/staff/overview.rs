//! What the counter sees of an employee.

use crate::domain::email::Email;
use crate::domain::nip::{Nip, NipFacts};
use crate::ports::AuditEvent;
use crate::service::Service;
use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{CodeSummary, Operator, StaffError};

/// Whether the employee has ever set a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// No password yet: the account is activated by the first reset.
    NotActivated,
    Active,
}

impl AccountState {
    /// What the officer reads.
    pub fn text(self, l: crate::text::i18n::Lang) -> &'static str {
        match self {
            AccountState::Active => l.pick("aktif", "active"),
            AccountState::NotActivated => l.pick(
                "belum aktivasi (belum pernah membuat password)",
                "not activated (no password set yet)",
            ),
        }
    }
}

/// What `employee show` tells an officer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmployeeOverview {
    pub nip: Nip,
    pub facts: NipFacts,
    pub name: String,
    pub email: Option<Email>,
    pub email_masked: Option<String>,
    /// When staff set the e-mail after the in-person check (import never changes it then).
    pub email_verified_at: Option<DateTime<Utc>>,
    pub instansi: Option<String>,
    pub state: AccountState,
    pub login_failures: u32,
    /// When logins are refused until: from every address (the NIP's ceiling) or from the one
    /// address that failed (`locked_source`).
    pub locked_until: Option<DateTime<Utc>>,
    /// The network (`203.0.113.x`) whose wrong passwords set the lock, when it is one address's
    /// lock (others still get in); `None` for the NIP's own lock or none.
    #[serde(default)]
    pub locked_source: Option<String>,
    pub active_code: Option<CodeSummary>,
    pub password_changed_at: Option<DateTime<Utc>>,
    /// Whether two-step login (an authenticator app) is on.
    #[serde(default)]
    pub second_factor: bool,
    pub credential_version: u64,
    /// Guards a following change (`email change --if-version`).
    pub version: u64,
    pub recent_audit: Vec<AuditEvent>,
    /// When asked about a new address: the other employees within the officer's scope
    /// (masked NIPs) who have it.
    #[serde(default)]
    pub new_email_holders: Vec<String>,
    /// When asked about a new address: how many employees outside the officer's scope have
    /// it (never named).
    #[serde(default)]
    pub new_email_elsewhere: usize,
    /// What became of the last e-mail (delivered, bounced…), from the mail service's events.
    #[serde(default)]
    pub mail_status: Option<crate::domain::mail_status::MailStatus>,
    /// The employee's passkeys (names and dates), oldest first.
    #[serde(default)]
    pub passkeys: Vec<crate::domain::passkey::PasskeyView>,
}

impl Staff<'_> {
    /// Everything an officer needs to see about one employee. The look-up itself is audited.
    pub async fn employee_overview(
        self,
        nip_raw: &str,
        op: &Operator,
        audit_limit: usize,
    ) -> Result<EmployeeOverview, StaffError> {
        self.employee_overview_for(nip_raw, op, audit_limit, None)
            .await
    }

    /// [`Service::employee_overview`] before an e-mail change to `new_email`: also says who
    /// else already has that address, so the officer is warned before any question.
    pub async fn employee_overview_for(
        self,
        nip_raw: &str,
        op: &Operator,
        audit_limit: usize,
        new_email: Option<&str>,
    ) -> Result<EmployeeOverview, StaffError> {
        let nip = self.nip(nip_raw)?;
        let account = self.store.get_account(&nip).await?;
        let Some(a) = account else {
            self.staff_audit(self.staff_event(
                op,
                Some(&nip),
                Action::EmployeeViewed,
                Outcome::UnknownNip,
                json!(null),
            ))
            .await?;
            return Err(StaffError::UnknownNip);
        };
        let now = self.now();
        let throttle = self
            .store
            .get_throttles(&[nip.as_str().to_owned()])
            .await?
            .pop()
            .flatten()
            .filter(|t| t.expires_at > now);
        let code = self.store.get_reset_code(&nip).await?.filter(|c| {
            c.expires_at > now
                && c.attempts_left > 0
                && c.credential_version == a.credential_version
        });
        let holders = self.viewed_with_holders(&nip, op, new_email).await?;
        let recent_audit = self
            .store
            .list_audit(&nip, audit_limit.max(LOCK_SCAN))
            .await?;
        let nip_lock = throttle
            .as_ref()
            .and_then(|t| t.locked_until)
            .filter(|u| *u > now);
        let address_lock = address_lock(&recent_audit, now);
        let (locked_until, locked_source) = match (nip_lock, address_lock) {
            (Some(n), Some((a, _))) if n >= a => (Some(n), None),
            (Some(n), None) => (Some(n), None),
            (_, Some((a, source))) => (Some(a), source),
            (None, None) => (None, None),
        };
        let recent_audit: Vec<_> = recent_audit.into_iter().take(audit_limit).collect();
        let mail_status = self.store.get_mail_status(&nip).await?;
        Ok(EmployeeOverview {
            new_email_holders: holders.named,
            new_email_elsewhere: holders.elsewhere,
            mail_status,
            passkeys: self.passkey_views(&nip).await?,
            facts: nip.facts().clone(),
            nip,
            name: a.name.into_string(),
            email_masked: a.email.as_ref().map(Email::masked),
            email_verified_at: a.email_verified_at,
            email: a.email,
            instansi: a.instansi,
            state: if a.password_hash.is_some() {
                AccountState::Active
            } else {
                AccountState::NotActivated
            },
            login_failures: throttle.as_ref().map_or(0, |t| t.failures),
            locked_until,
            locked_source,
            active_code: code.map(|c| CodeSummary {
                issued_at: c.issued_at,
                expires_at: c.expires_at,
                attempts_left: c.attempts_left,
            }),
            password_changed_at: a.password_changed_at,
            second_factor: a
                .second_factor
                .as_ref()
                .is_some_and(crate::domain::factor::SecondFactor::is_active),
            credential_version: a.credential_version,
            version: a.version,
            recent_audit,
        })
    }
}

/// Audit records read to find a lock set from one address.
const LOCK_SCAN: usize = 200;

/// The lock one address's wrong guesses set, if it holds now: the newest record of an attempt
/// that set a lock or met one (`locked_until` in its details), from an address whose counts
/// nothing cleared since: a completed login clears its own address, a reset or a counter
/// unlock every address. With the source network it came from.
fn address_lock(
    newest_first: &[crate::ports::AuditEvent],
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, Option<String>)> {
    use crate::text::audit_text::{Action as A, Outcome as O};
    let mut cleared: Vec<Option<&str>> = Vec::new();
    for e in newest_first {
        let source = e.source_ip.as_deref();
        match (A::parse(&e.action), O::parse(&e.outcome)) {
            (Some(A::Reset), Some(O::Succeeded))
            | (Some(A::AccountUnlock), Some(O::Done | O::Ok | O::Succeeded)) => return None,
            (Some(A::Login | A::LoginSecondStep), Some(O::Succeeded | O::RecoveryCodeUsed)) => {
                cleared.push(source);
            }
            _ => {
                let until = e.details["locked_until"]
                    .as_str()
                    .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
                    .map(|u| u.with_timezone(&Utc));
                if let (Some(u), false) = (until, cleared.contains(&source)) {
                    if u > now {
                        return Some((u, source.map(crate::text::i18n::coarse_source)));
                    }
                }
            }
        }
    }
    None
}

impl Service {
    /// Audits the look-up, with the address asked about (masked, keyed-hashed) and what the
    /// officer was told of its other holders (within the officer's scope, and elsewhere).
    async fn viewed_with_holders(
        &self,
        nip: &crate::domain::nip::Nip,
        op: &Operator,
        new_email: Option<&str>,
    ) -> Result<super::Holders, StaffError> {
        let new_email = new_email.map(Email::parse).and_then(Result::ok);
        let holders = match &new_email {
            Some(e) => self.other_holders(e, nip, op).await?,
            None => super::Holders::default(),
        };
        let details = match &new_email {
            Some(e) => json!({
                "new_email": self.email_for_audit(e),
                "holders_named": holders.named.len(),
                "holders_elsewhere": holders.elsewhere,
            }),
            None => json!(null),
        };
        self.staff_audit(self.staff_event(
            op,
            Some(nip),
            Action::EmployeeViewed,
            Outcome::Ok,
            details,
        ))
        .await?;
        Ok(holders)
    }
}
