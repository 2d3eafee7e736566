//! The in-memory store: the accounts, one per NIP and replaced only at the version read, and
//! the atomic steps that carry an account (a staff e-mail change, a new number).

use super::*;
use sapk_core::ports::Accounts;

#[async_trait]
impl Accounts for MemoryStore {
    async fn get_account(&self, nip: &Nip) -> Result<Option<Account>, StoreError> {
        Ok(self.with(|s| s.accounts.get(nip).cloned()))
    }

    async fn get_accounts(&self, nips: &[Nip]) -> Result<Vec<Option<Account>>, StoreError> {
        Ok(self.with(|s| nips.iter().map(|n| s.accounts.get(n).cloned()).collect()))
    }

    async fn insert_account(&self, a: &Account) -> Result<(), StoreError> {
        self.with(|s| {
            if s.accounts.contains_key(&a.nip) {
                return Err(conflict("account exists"));
            }
            s.accounts.insert(a.nip.clone(), a.clone());
            Ok(())
        })
    }

    async fn update_account(&self, a: &Account, expected: u64) -> Result<(), StoreError> {
        self.with(|s| replace_account(s, a, expected))
    }

    async fn has_accounts(&self) -> Result<bool, StoreError> {
        Ok(self.with(|s| !s.accounts.is_empty()))
    }

    async fn accounts_with_email(
        &self,
        email: &sapk_core::Email,
        limit: usize,
    ) -> Result<Vec<Nip>, StoreError> {
        let mut nips: Vec<Nip> = self.with(|s| {
            s.accounts
                .values()
                .filter(|a| a.email.as_ref() == Some(email))
                .map(|a| a.nip.clone())
                .collect()
        });
        nips.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        nips.truncate(limit);
        Ok(nips)
    }

    async fn change_email_audited(
        &self,
        a: &Account,
        expected: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if taken(s, audit) {
                return Err(conflict("audit chain place"));
            }
            replace_account(s, a, expected)?;
            s.codes.remove(&a.nip);
            s.exceptions.remove(&a.nip);
            push_audit(s, audit)
        })
    }

    async fn renumber_account(
        &self,
        old: &Account,
        moved: &Account,
        replace: Option<u64>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if s.accounts.get(&old.nip).map(|a| a.version) != Some(old.version) {
                return Err(conflict("old account version"));
            }
            let target = s.accounts.get(&moved.nip).map(|a| a.version);
            let mut next = moved.clone();
            match (replace, target) {
                (None, None) => {}
                (Some(v), Some(cur)) if v == cur => next.version = v + 1,
                _ => return Err(conflict("new account")),
            }
            s.accounts.remove(&old.nip);
            s.codes.remove(&old.nip);
            s.exceptions.remove(&old.nip);
            s.throttles.remove(old.nip.as_str());
            s.sessions.retain(|_, x| x.nip != old.nip);
            s.accounts.insert(next.nip.clone(), next);
            Ok(())
        })
    }
}
