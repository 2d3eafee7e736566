//! The in-memory store: the accounts, one per NIP and replaced only at the version read, and
//! the atomic steps that carry an account (a staff e-mail change, a new number).

use super::*;
use sapk_core::ports::Accounts;
use sapk_core::Email;

/// `EmailTaken` if `email` is claimed by an account other than `mine`.
fn free_for(s: &State, email: Option<&Email>, mine: &[&Nip]) -> Result<(), StoreError> {
    match email.and_then(|e| s.claims.get(&e.claim_key())) {
        Some(holder) if !mine.contains(&holder) => {
            Err(StoreError::EmailTaken(holder.as_str().to_owned()))
        }
        _ => Ok(()),
    }
}

/// Releases `previous` (held by `holder`) unless it is the same claim as `next`, and claims
/// `next` for `holder`.
fn move_claim(s: &mut State, holder: &Nip, previous: Option<&Email>, next: Option<&Email>) {
    if let Some(p) = previous {
        let key = p.claim_key();
        if next.map(Email::claim_key) != Some(key.clone()) && s.claims.get(&key) == Some(holder) {
            s.claims.remove(&key);
        }
    }
    if let Some(n) = next {
        s.claims.insert(n.claim_key(), holder.clone());
    }
}

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
            free_for(s, a.email.as_ref(), &[&a.nip])?;
            s.accounts.insert(a.nip.clone(), a.clone());
            move_claim(s, &a.nip, None, a.email.as_ref());
            Ok(())
        })
    }

    async fn update_account(&self, a: &Account, expected: u64) -> Result<(), StoreError> {
        self.with(|s| {
            if s.accounts.get(&a.nip).map(|c| &c.email) != Some(&a.email) {
                return Err(conflict("the e-mail changes only with its claim"));
            }
            replace_account(s, a, expected)
        })
    }

    async fn update_account_email(
        &self,
        a: &Account,
        expected: u64,
        previous: Option<&Email>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            free_for(s, a.email.as_ref(), &[&a.nip])?;
            replace_account(s, a, expected)?;
            move_claim(s, &a.nip, previous, a.email.as_ref());
            Ok(())
        })
    }

    async fn claim_email(&self, email: &Email, nip: &Nip) -> Result<bool, StoreError> {
        Ok(self.with(|s| {
            let holder = s
                .claims
                .entry(email.claim_key())
                .or_insert_with(|| nip.clone());
            holder == nip
        }))
    }

    async fn email_holder(&self, email: &Email) -> Result<Option<Nip>, StoreError> {
        Ok(self.with(|s| s.claims.get(&email.claim_key()).cloned()))
    }

    async fn accounts_page(
        &self,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Account>, Option<String>), StoreError> {
        let mut all: Vec<Account> = self.with(|s| {
            s.accounts
                .values()
                .filter(|a| cursor.as_deref().is_none_or(|c| a.nip.as_str() > c))
                .cloned()
                .collect()
        });
        all.sort_by(|a, b| a.nip.as_str().cmp(b.nip.as_str()));
        let more = all.len() > limit;
        all.truncate(limit);
        let next = more
            .then(|| all.last().map(|a| a.nip.as_str().to_owned()))
            .flatten();
        Ok((all, next))
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
        previous: Option<&Email>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if taken(s, audit) {
                return Err(conflict("audit chain place"));
            }
            free_for(s, a.email.as_ref(), &[&a.nip])?;
            replace_account(s, a, expected)?;
            move_claim(s, &a.nip, previous, a.email.as_ref());
            s.codes.remove(&a.nip);
            s.exceptions.remove(&a.nip);
            push_audit(s, audit)
        })
    }

    async fn renumber_account(
        &self,
        old: &Account,
        moved: &Account,
        replace: Option<&Account>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if s.accounts.get(&old.nip).map(|a| a.version) != Some(old.version) {
                return Err(conflict("old account version"));
            }
            let target = s.accounts.get(&moved.nip).map(|a| a.version);
            let mut next = moved.clone();
            match (replace.map(|r| r.version), target) {
                (None, None) => {}
                (Some(v), Some(cur)) if v == cur => next.version = v + 1,
                _ => return Err(conflict("new account")),
            }
            // An address another account claims is one shared from before claims: carried as
            // it is, unclaimed (the account keeps working until its address changes).
            let claimable = free_for(s, moved.email.as_ref(), &[&old.nip, &moved.nip]).is_ok();
            move_claim(s, &old.nip, old.email.as_ref(), None);
            let next_claim = moved.email.as_ref().filter(|_| claimable);
            move_claim(
                s,
                &moved.nip,
                replace.and_then(|r| r.email.as_ref()),
                next_claim,
            );
            if replace.is_some() {
                s.passkeys.retain(|_, p| p.nip != moved.nip);
            }
            for p in s.passkeys.values_mut().filter(|p| p.nip == old.nip) {
                p.nip = moved.nip.clone();
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
