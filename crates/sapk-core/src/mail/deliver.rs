//! Sending the use cases' e-mails, and delivering a queued one.

use crate::mail;
use crate::ports::OutgoingEmail;
use tracing::error;

use crate::service::{Delivery, Service};

impl Service {
    pub(crate) async fn send(&self, email: Result<OutgoingEmail, mail::TemplateError>) -> bool {
        let email = match email {
            Ok(m) => m,
            Err(e) => {
                error!(error = %e, "e-mail not rendered");
                return false;
            }
        };
        match self.mailer.send(&email).await {
            Ok(()) => true,
            Err(e) => {
                error!(error = %e, kind = email.kind.as_str(), "e-mail not sent");
                false
            }
        }
    }

    /// Sends one queued e-mail through `via` (the sender's real mailer: SES, the outbox). A
    /// reset-code e-mail whose code expired or was replaced (a newer code, a completed reset,
    /// an e-mail change) since it was queued is dropped, not sent: the code in it would not
    /// work. A store that cannot be read is a failure to retry, like a mailer that fails.
    pub async fn deliver(
        &self,
        email: &OutgoingEmail,
        via: &dyn crate::ports::Mailer,
    ) -> Result<Delivery, crate::ports::MailError> {
        if let Some(g) = &email.guard {
            if g.expires_at <= self.clock.now() {
                return Ok(Delivery::DroppedExpired);
            }
            match self.store.get_reset_code(&g.nip).await {
                Ok(Some(c)) if c.code_hash == g.code_hash => {}
                Ok(_) => return Ok(Delivery::DroppedSuperseded),
                Err(e) => return Err(crate::ports::MailError::Unavailable(e.to_string())),
            }
        }
        via.send(email).await.map(|()| Delivery::Sent)
    }
}
