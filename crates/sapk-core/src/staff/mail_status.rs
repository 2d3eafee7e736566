//! Records the mail service's events about an account's last e-mail (the status the
//! counter shows, [`crate::domain::mail_status`]), auditing what went wrong.

use crate::domain::mail_status::{MailEvent, MailStatus};
use crate::domain::nip::Nip;
use crate::service::Mail;
use crate::service::Service;
use crate::text::audit_text::{Action, Outcome};
use serde_json::json;

impl Mail<'_> {
    /// Records the mail service's events: the newest status per account whose e-mail is the
    /// event's address (an older event does not overwrite a newer one); a problem (bounce,
    /// complaint, suppression, rejection) is audited in the account's trail too. Events for
    /// addresses no account has are ignored.
    pub async fn record_mail_events(
        self,
        events: &[MailEvent],
    ) -> Result<usize, crate::ports::StoreError> {
        let mut recorded = 0;
        for e in events {
            let mut status = e.status.clone();
            status.diagnostic = status
                .diagnostic
                .map(|d| d.chars().take(300).collect::<String>());
            for nip in self.store.accounts_with_email(&e.to, 10).await? {
                if !self.newer_than_stored(&nip, &status).await? {
                    continue;
                }
                self.store.put_mail_status(&nip, &status).await?;
                recorded += 1;
                if status.state.is_problem() {
                    self.record_mail_problem(&nip, &status).await;
                }
            }
        }
        Ok(recorded)
    }

    /// The last mail status of an account, for the counter.
    pub async fn mail_status(
        self,
        nip: &Nip,
    ) -> Result<Option<MailStatus>, crate::ports::StoreError> {
        self.store.get_mail_status(nip).await
    }
}

impl Service {
    async fn newer_than_stored(
        &self,
        nip: &Nip,
        status: &MailStatus,
    ) -> Result<bool, crate::ports::StoreError> {
        Ok(match self.store.get_mail_status(nip).await? {
            Some(old) => status.at >= old.at,
            None => true,
        })
    }

    async fn record_mail_problem(&self, nip: &Nip, status: &MailStatus) {
        let event = crate::ports::AuditEvent {
            at: self.now(),
            actor: "mail-service".to_owned(),
            office: None,
            nip: Some(nip.clone()),
            source_ip: None,
            action: Action::MailStatus.code().to_owned(),
            outcome: Outcome::Problem.code().to_owned(),
            details: json!({
                "state": status.state.code(),
                "at": status.at,
                "to": status.address.masked(),
                "diagnostic": status.diagnostic,
            }),
            link: None,
        };
        self.audit(event).await;
    }
}
