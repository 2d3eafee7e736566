//! Sending the use cases' e-mails, and delivering a queued one.

use crate::mail;
use crate::ports::OutgoingEmail;
use crate::service::Mail;
use tracing::error;

use crate::service::{Delivery, Service};

impl Mail<'_> {
    /// Sends one queued e-mail through `via` (the sender's real mailer: SES, the outbox). A
    /// reset-code e-mail whose code expired or was replaced (a newer code, a completed reset,
    /// an e-mail change) since it was queued is dropped, not sent: the code in it would not
    /// work. A store that cannot be read is a failure to retry, like a mailer that fails.
    pub async fn deliver(
        self,
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
}

/// What a batch of queued e-mails came to, the same counts for the Lambda mailer (SQS) and the
/// embedded sender (the SQLite queue): logged, and what operations alarm on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailTally {
    pub sent: u64,
    pub dropped_expired: u64,
    pub dropped_superseded: u64,
    /// Not sent: the mailer or the store failed, or the message could not be read.
    pub failed: u64,
    /// Of those, the ones the queue gives up on (the local dead letters; SQS counts its own).
    pub set_aside: u64,
}

impl MailTally {
    fn count(&mut self, fate: &Fate) {
        match fate {
            Fate::Delivered(Delivery::Sent) => self.sent += 1,
            Fate::Delivered(Delivery::DroppedExpired) => self.dropped_expired += 1,
            Fate::Delivered(Delivery::DroppedSuperseded) => self.dropped_superseded += 1,
            Fate::Failed(_) | Fate::Unreadable(_) => self.failed += 1,
        }
    }

    /// Logs the batch's counts.
    pub fn log(&self) {
        tracing::info!(
            sent = self.sent,
            dropped_expired = self.dropped_expired,
            dropped_superseded = self.dropped_superseded,
            failed = self.failed,
            set_aside = self.set_aside,
            "mail batch"
        );
    }
}

/// What became of one queued e-mail.
#[derive(Debug)]
pub enum Fate {
    /// Sent, or dropped because its code expired or was replaced.
    Delivered(Delivery),
    /// Not sent (the mailer or the store failed): to try again.
    Failed(String),
    /// The message is not an e-mail this service queued: never to be sent.
    Unreadable(String),
}

/// Spaces sends out to a rate (SES's per-second quota shared by the mailer's concurrent
/// instances): each send takes the next free slot.
pub struct Pace {
    interval: std::time::Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pace {
    /// `per_sec` sends a second (at least one a minute).
    pub fn new(per_sec: f64) -> Pace {
        let per_sec = if per_sec.is_finite() && per_sec > 0.0 {
            per_sec.max(1.0 / 60.0)
        } else {
            1.0
        };
        Pace {
            interval: std::time::Duration::from_secs_f64(1.0 / per_sec),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// No pacing (a mailer with no quota of its own, such as the outbox).
    pub fn unpaced() -> Pace {
        Pace {
            interval: std::time::Duration::ZERO,
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this send's slot.
    pub async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

impl Mail<'_> {
    /// The one drain loop of every mail queue: each message's body, as it came off the queue,
    /// read as the e-mail a use case queued, then (at `pace`) sent through `via` or dropped
    /// ([`Service::deliver`]). Each message's fate, under its key, for the queue to settle
    /// (delete, report, retry or set aside), and the batch's counts.
    pub async fn deliver_queued<K>(
        self,
        via: &dyn crate::ports::Mailer,
        pace: &Pace,
        messages: Vec<(K, Option<String>)>,
    ) -> (Vec<(K, Fate)>, MailTally) {
        let mut tally = MailTally::default();
        let mut fates = Vec::with_capacity(messages.len());
        for (key, body) in messages {
            let fate = match body.as_deref().map(serde_json::from_str::<OutgoingEmail>) {
                None => Fate::Unreadable("no body".to_owned()),
                Some(Err(e)) => Fate::Unreadable(e.to_string()),
                Some(Ok(mail)) => {
                    pace.wait().await;
                    match self.deliver(&mail, via).await {
                        Ok(outcome) => Fate::Delivered(outcome),
                        Err(e) => Fate::Failed(format!("{} ({})", e, mail.kind.as_str())),
                    }
                }
            };
            tally.count(&fate);
            fates.push((key, fate));
        }
        (fates, tally)
    }
}
