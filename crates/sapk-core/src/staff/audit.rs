//! An employee's audit trail, and the check of its chain.

use crate::domain::audit_chain::ChainReport;
use crate::domain::nip::Nip;
use crate::ports::{AuditEvent, StoreError};
use crate::service::Service;
use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome};
use serde_json::json;

use super::{Operator, StaffError};

impl Staff<'_> {
    /// The audit trail of an employee, newest first (the look-up is audited too).
    pub async fn audit_trail(
        self,
        nip_raw: &str,
        limit: usize,
        op: &Operator,
    ) -> Result<Vec<AuditEvent>, StaffError> {
        let nip = self.nip(nip_raw)?;
        self.staff_audit(self.staff_event(
            op,
            Some(&nip),
            Action::AuditViewed,
            Outcome::Ok,
            json!(null),
        ))
        .await?;
        Ok(self.store.list_audit(&nip, limit).await?)
    }

    /// Checks the keyed hash chain of an employee's audit trail ([`crate::domain::audit_chain`]):
    /// every record held, oldest first. The check is recorded after it, with what it found.
    pub async fn verify_audit_trail(
        self,
        nip_raw: &str,
        op: &Operator,
    ) -> Result<ChainReport, StaffError> {
        let nip = self.nip(nip_raw)?;
        self.verify_chain(nip.as_str(), Some(&nip), op).await
    }

    /// [`Service::verify_audit_trail`] for the records without a NIP (import runs, the
    /// staff registry).
    pub async fn verify_system_audit(self, op: &Operator) -> Result<ChainReport, StaffError> {
        self.verify_chain(crate::domain::audit_chain::SYSTEM_CHAIN, None, op)
            .await
    }

    /// Writes a keyed checkpoint of every chain's kept head to the archive, built on the
    /// newest trusted one (heads whose seal does not hold are left out; a chain the store
    /// now holds shorter than the last checkpoint saw keeps that entry and is reported).
    /// Audited in the system chain with the checkpoint's time and MAC, which a verification
    /// then requires the archive to hold.
    pub async fn write_audit_checkpoint(
        self,
        op: &Operator,
    ) -> Result<crate::domain::audit_chain::Checkpoint, StaffError> {
        let (Some(key), Some(archive)) = (&self.audit_key, &self.checkpoints) else {
            return Err(StaffError::Store(StoreError::Unavailable(
                "no audit key or no checkpoint archive configured".into(),
            )));
        };
        let previous = archive
            .latest_checkpoint()
            .await?
            .filter(|cp| key.checkpoint_ok(cp));
        let heads = self.store.kept_audit_heads().await?;
        let (cp, regressed) = key.checkpoint(self.now(), &heads, previous.as_ref());
        archive.put_checkpoint(&cp).await?;
        if !regressed.is_empty() {
            tracing::error!(
                chains = regressed.len(),
                "audit chains held shorter than the last checkpoint saw (deleted or rolled back)"
            );
        }
        self.staff_audit(self.staff_event(
            op,
            None,
            Action::AuditCheckpoint,
            if regressed.is_empty() {
                Outcome::Done
            } else {
                Outcome::Broken
            },
            json!({
                "chains": cp.heads.len(),
                "at": cp.at,
                "mac": cp.mac,
                "regressed": regressed.len(),
                "regressed_chains": regressed.iter().take(20).collect::<Vec<_>>(),
            }),
        ))
        .await?;
        Ok(cp)
    }
}

impl Service {
    async fn verify_chain(
        &self,
        chain: &str,
        nip: Option<&Nip>,
        op: &Operator,
    ) -> Result<ChainReport, StaffError> {
        let Some(key) = &self.audit_key else {
            return Err(StaffError::Store(StoreError::Unavailable(
                "no audit key configured (SAPK_AUDIT_KEY)".into(),
            )));
        };
        let (records, head) = tokio::join!(
            self.store.audit_chain(chain),
            self.store.kept_audit_head(chain)
        );
        let (records, head) = (records?, head?);
        let checkpoint = match &self.checkpoints {
            Some(archive) => archive.latest_checkpoint().await?,
            None => None,
        };
        let trusted = checkpoint.as_ref().filter(|cp| key.checkpoint_ok(cp));
        let recorded = match &self.checkpoints {
            Some(_) => self.newest_recorded_checkpoint(key).await?,
            None => None,
        };
        let mut report = key.verify(
            chain,
            &records,
            &crate::domain::audit_chain::Evidence {
                head: head.as_ref(),
                checkpoint: trusted,
                expires: self.store.audit_expires(),
            },
        );
        if checkpoint.is_some() && trusted.is_none() {
            report
                .problems
                .push(crate::domain::audit_chain::ChainProblem::CheckpointAltered);
        }
        if let Some((at, mac)) = recorded {
            let held = trusted.is_some_and(|cp| cp.at > at || (cp.at == at && cp.mac == mac));
            if !held {
                report
                    .problems
                    .push(crate::domain::audit_chain::ChainProblem::CheckpointMissing { at });
            }
        }
        let outcome = if report.intact() {
            Outcome::Intact
        } else {
            Outcome::Broken
        };
        self.staff_audit(self.staff_event(
            op,
            nip,
            Action::AuditVerified,
            outcome,
            json!({
                "records": report.records,
                "first_seq": report.first_seq,
                "last_seq": report.last_seq,
                "head_seq": report.head_seq,
                "checkpoint_at": report.checkpoint_at,
                "problems": report.problems.len(),
            }),
        ))
        .await?;
        Ok(report)
    }

    /// The newest checkpoint the system chain's own sealed records say was written (its time
    /// and MAC), to hold the archive to it: a checkpoint deleted from the archive, or an
    /// older one put in its place, shows.
    async fn newest_recorded_checkpoint(
        &self,
        key: &crate::domain::audit_chain::AuditKey,
    ) -> Result<Option<(chrono::DateTime<chrono::Utc>, String)>, StaffError> {
        let records = self
            .store
            .audit_chain(crate::domain::audit_chain::SYSTEM_CHAIN)
            .await?;
        Ok(records
            .iter()
            .rev()
            .filter(|e| {
                e.action == Action::AuditCheckpoint.code()
                    && e.link.as_ref().is_some_and(|l| l.sealer.is_empty())
                    && key.record_ok(e)
            })
            .find_map(|e| {
                let at = serde_json::from_value(e.details["at"].clone()).ok()?;
                Some((at, e.details["mac"].as_str()?.to_owned()))
            }))
    }
}
