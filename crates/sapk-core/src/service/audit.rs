//! Audit records of the public use cases, sealed into their NIP's chain ([`crate::domain::audit_chain`]).

use crate::domain::nip::Nip;
use crate::ports::{AuditEvent, StoreError};
use crate::text::audit_text::{Action, Outcome};
use tracing::error;

use super::{Head, RequestMeta, Service};

impl Service {
    pub(crate) async fn audit(&self, event: AuditEvent) {
        self.audit_on(event, Head::Unknown).await;
    }

    /// [`Service::audit`] sealed on a head read earlier, beside the request's first reads
    /// (one round trip less); a stale head only costs a retry.
    pub(crate) async fn audit_on(&self, event: AuditEvent, head: Head) {
        if let Err(e) = self.append_chained_on(&event, head).await {
            error!(error = %e, action = %event.action, "audit append failed");
        }
    }

    /// Seals `event` on its chain's head and appends it; when another append took the place
    /// first, seals again on the new head (a few times, with a short random pause).
    pub(crate) async fn append_chained(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.append_chained_on(event, Head::Unknown).await
    }

    async fn append_chained_on(&self, event: &AuditEvent, head: Head) -> Result<(), StoreError> {
        if let Some(key) = &self.audit_key {
            if self.store.append_audit_sealed(event, key).await? {
                return Ok(());
            }
        }
        self.sealed_write(event, head, |sealed| async move {
            self.store.append_audit(&sealed).await
        })
        .await
    }

    /// The head of `nip`'s audit chain, to read beside a request's first reads.
    pub(crate) async fn audit_head(&self, nip: &Nip) -> Head {
        match self.store.audit_head(nip.as_str()).await {
            Ok(h) => Head::Known(h),
            Err(_) => Head::Unknown,
        }
    }

    /// `write` with `event` sealed on its chain's current head, again on a newer head when
    /// the write meets a conflict and the head moved (a conflict with an unmoved head is the
    /// write's own and is returned).
    pub(crate) async fn sealed_write<F, Fut>(
        &self,
        event: &AuditEvent,
        head: Head,
        write: F,
    ) -> Result<(), StoreError>
    where
        F: Fn(AuditEvent) -> Fut,
        Fut: std::future::Future<Output = Result<(), StoreError>>,
    {
        const ATTEMPTS: u32 = 24;
        let Some(key) = &self.audit_key else {
            return Err(StoreError::Unavailable(
                "no audit key configured (SAPK_AUDIT_KEY): audit records cannot be sealed".into(),
            ));
        };
        let chain = crate::domain::audit_chain::chain_of(event);
        let mut head = match head {
            Head::Known(h) => h,
            Head::Unknown => self.store.audit_head(chain).await?,
        };
        for attempt in 0..ATTEMPTS {
            let mut sealed = event.clone();
            sealed.link = Some(key.seal(event, head.as_ref()));
            match write(sealed).await {
                Err(StoreError::Conflict(why)) => {
                    let mut now = self.store.audit_head(chain).await?;
                    if now == head {
                        // The records did not move, yet the place was refused: the kept head
                        // is past them (the chain's newest records were deleted). Append after
                        // the kept head, so that the gap stays for every later check to see.
                        now = self.kept_head_beyond(chain, head.as_ref()).await?;
                        if now == head {
                            return Err(StoreError::Conflict(why));
                        }
                    }
                    head = now;
                    let spread = 1u64 << attempt.min(5);
                    let jitter =
                        u64::from(crate::domain::keys::random_bytes::<1>().map_or(0, |b| b[0]));
                    tokio::time::sleep(std::time::Duration::from_micros(
                        200 * spread + jitter * 4 * spread,
                    ))
                    .await;
                }
                done => return done,
            }
        }
        Err(StoreError::Conflict(format!(
            "audit chain {chain}: {ATTEMPTS} appends lost the race"
        )))
    }

    /// The kept head of `chain` as a sealing base, when it is past `head`; else `head`.
    async fn kept_head_beyond(
        &self,
        chain: &str,
        head: Option<&crate::domain::audit_chain::AuditLink>,
    ) -> Result<Option<crate::domain::audit_chain::AuditLink>, StoreError> {
        // Only a head the service sealed: a writer's key could seal one at any place.
        let trusted = |k: &crate::domain::audit_chain::ChainHead| {
            k.sealer.is_empty() && self.audit_key.as_ref().is_some_and(|key| key.head_ok(k))
        };
        let kept = self.store.kept_audit_head(chain).await?;
        Ok(match kept {
            Some(k) if trusted(&k) && head.is_none_or(|h| k.seq > h.seq) => {
                Some(crate::domain::audit_chain::AuditLink {
                    seq: k.seq,
                    prev: String::new(),
                    mac: k.mac,
                    head_seal: String::new(),
                    sealer: String::new(),
                })
            }
            _ => head.cloned(),
        })
    }

    pub(crate) fn public_event(
        &self,
        nip: &Nip,
        meta: &RequestMeta,
        action: Action,
        outcome: Outcome,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            actor: "self".to_owned(),
            office: None,
            nip: Some(nip.clone()),
            source_ip: meta.source_ip.clone(),
            action: action.code().to_owned(),
            outcome: outcome.code().to_owned(),
            details: serde_json::Value::Null,
            link: None,
        }
    }
}
