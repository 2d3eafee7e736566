//! An employee's audit trail, and the check of its chain.

use crate::audit_chain::ChainReport;
use crate::audit_text::{Action, Outcome};
use crate::nip::Nip;
use crate::ports::{AuditEvent, StoreError};
use crate::service::Service;
use serde_json::json;

use super::{Operator, StaffError};

impl Service {
    /// The audit trail of an employee, newest first (the look-up is audited too).
    pub async fn audit_trail(
        &self,
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

    /// Checks the keyed hash chain of an employee's audit trail ([`crate::audit_chain`]):
    /// every record held, oldest first. The check is recorded after it, with what it found.
    pub async fn verify_audit_trail(
        &self,
        nip_raw: &str,
        op: &Operator,
    ) -> Result<ChainReport, StaffError> {
        let nip = self.nip(nip_raw)?;
        self.verify_chain(nip.as_str(), Some(&nip), op).await
    }

    /// [`Service::verify_audit_trail`] for the records without a NIP (import runs, the
    /// staff registry).
    pub async fn verify_system_audit(&self, op: &Operator) -> Result<ChainReport, StaffError> {
        self.verify_chain(crate::audit_chain::SYSTEM_CHAIN, None, op)
            .await
    }

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
        let mut report = key.verify(
            chain,
            &records,
            &crate::audit_chain::Evidence {
                head: head.as_ref(),
                checkpoint: trusted,
                expires: self.store.audit_expires(),
            },
        );
        if checkpoint.is_some() && trusted.is_none() {
            report
                .problems
                .push(crate::audit_chain::ChainProblem::CheckpointAltered);
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

    /// Writes a keyed checkpoint of every chain's kept head to the archive (heads whose
    /// seal does not hold are left out, and counted). Audited in the system chain.
    pub async fn write_audit_checkpoint(
        &self,
        op: &Operator,
    ) -> Result<crate::audit_chain::Checkpoint, StaffError> {
        let (Some(key), Some(archive)) = (&self.audit_key, &self.checkpoints) else {
            return Err(StaffError::Store(StoreError::Unavailable(
                "no audit key or no checkpoint archive configured".into(),
            )));
        };
        let heads = self.store.kept_audit_heads().await?;
        let cp = key.checkpoint(self.now(), &heads);
        archive.put_checkpoint(&cp).await?;
        self.staff_audit(self.staff_event(
            op,
            None,
            Action::AuditCheckpoint,
            Outcome::Done,
            json!({
                "chains": cp.heads.len(),
                "heads_refused": heads.len() - cp.heads.len(),
                "at": cp.at,
            }),
        ))
        .await?;
        Ok(cp)
    }
}
