//! The local mail pipeline, with the deployed one's semantics: the use cases queue e-mails
//! (a table in the SQLite file), and a sender delivers them through the outbox, at least
//! once, retrying with back-off, setting aside what keeps failing (dead), and dropping a
//! reset-code e-mail whose code expired or was replaced before it could go
//! (`Service::deliver`). A request's answer never waits for the mail.

use crate::SqliteStore;
use async_trait::async_trait;
use sapk_core::mail::deliver::{Fate, MailTally, Pace};
use sapk_core::ports::{MailError, Mailer, OutgoingEmail, StoreError};
use sapk_core::{Delivery, Service};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Tries before a message is set aside as dead.
pub const MAX_ATTEMPTS: u32 = 5;

/// The `Mailer` the use cases see: it queues.
#[derive(Clone)]
pub struct MailQueue {
    store: SqliteStore,
    wake: Arc<Notify>,
}

impl MailQueue {
    pub fn new(store: SqliteStore) -> MailQueue {
        MailQueue {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    /// A sender for this queue, delivering through `via` with `service`'s rules and clock.
    pub fn sender(&self, service: Arc<Service>, via: Arc<dyn Mailer>) -> Sender {
        Sender {
            store: self.store.clone(),
            service,
            via,
            wake: self.wake.clone(),
        }
    }
}

#[async_trait]
impl Mailer for MailQueue {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let body = serde_json::to_string(email).map_err(|e| MailError::Rejected(e.to_string()))?;
        self.store
            .enqueue_mail(body)
            .await
            .map_err(|e| MailError::Unavailable(e.to_string()))?;
        self.wake.notify_one();
        Ok(())
    }

    fn queues(&self) -> bool {
        true
    }
}

/// Delivers the queue.
pub struct Sender {
    store: SqliteStore,
    service: Arc<Service>,
    via: Arc<dyn Mailer>,
    wake: Arc<Notify>,
}

/// The wait before try `attempt + 1`: 2, 4, 8, 16 seconds.
fn backoff(attempt: u32) -> chrono::Duration {
    chrono::Duration::seconds(1i64 << attempt.min(10))
}

impl Sender {
    /// Delivers everything due now, until nothing due is left. Messages that fail wait for
    /// their back-off, so one pass ends. Returns what the pass did, `set_aside` counting the messages it gave up on (unreadable, or
    /// failed for the last time).
    pub async fn drain(&self) -> Result<MailTally, StoreError> {
        let mut done = MailTally::default();
        loop {
            let now = self.service.now();
            let due = self.store.due_mail(now, 50).await?;
            if due.is_empty() {
                return Ok(done);
            }
            let messages = due
                .into_iter()
                .map(|(id, body, attempts)| ((id, attempts), Some(body)))
                .collect();
            let (fates, tally) = self
                .service
                .mail()
                .deliver_queued(self.via.as_ref(), &Pace::unpaced(), messages)
                .await;
            done.sent += tally.sent;
            done.dropped_expired += tally.dropped_expired;
            done.dropped_superseded += tally.dropped_superseded;
            done.failed += tally.failed;
            for ((id, attempts), fate) in fates {
                if self.settle(id, attempts, fate, now).await? {
                    done.set_aside += 1;
                }
            }
        }
    }

    /// Settles one message by its fate: done (sent or dropped), tried again after its back-off,
    /// or set aside (unreadable, or failed for the last time). Whether it was set aside.
    async fn settle(
        &self,
        id: i64,
        attempts: u32,
        fate: Fate,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        match fate {
            Fate::Delivered(outcome) => {
                self.store.finish_mail(id).await?;
                if outcome != Delivery::Sent {
                    tracing::info!(id, ?outcome, "queued e-mail dropped");
                }
                Ok(false)
            }
            Fate::Unreadable(e) => {
                tracing::error!(id, error = %e, "queued e-mail unreadable: set aside");
                self.store
                    .retry_mail(id, attempts + 1, now, true, e)
                    .await?;
                Ok(true)
            }
            Fate::Failed(e) => {
                let attempts = attempts + 1;
                let dead = attempts >= MAX_ATTEMPTS;
                tracing::warn!(id, attempts, dead, error = %e, "e-mail not sent");
                self.store
                    .retry_mail(id, attempts, now + backoff(attempts), dead, e)
                    .await?;
                Ok(dead)
            }
        }
    }

    /// Runs for as long as the process: drains when woken by a new message, and every
    /// second for retries.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.drain().await {
                tracing::error!(error = %e, "mail queue unreadable");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
