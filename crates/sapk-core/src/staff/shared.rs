//! Addresses more than one account has (from before one address per ASN was held by the
//! store), listed for the agencies to clean: each account keeps working until its address
//! changes, and no new account may join one.

use super::{Operator, StaffError};
use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// One address and the accounts that have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedAddress {
    /// The address as the first account (by NIP) has it.
    pub email: String,
    /// The accounts in the officer's scope (and the agency asked for): NIP, name, agency.
    pub holders: Vec<SharedHolder>,
    /// How many other accounts have it, outside that scope (never named).
    pub elsewhere: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedHolder {
    pub nip: String,
    pub name: String,
    pub instansi: Option<String>,
}

/// Accounts read a page at a time while listing.
const PAGE: usize = 500;

/// What a listing keeps of an account: not the account (its hashes stay in the store).
struct Held {
    email: String,
    holder: SharedHolder,
}

/// The outcome of a listing: the shared addresses, and how many addresses held by one
/// account alone were claimed now (with `claim`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedReport {
    pub shared: Vec<SharedAddress>,
    pub claimed: usize,
}

impl Staff<'_> {
    /// Every address two or more accounts have (compared as one claim: whole address, any
    /// case), with the holders within `op`'s scope and, if given, of `instansi`; addresses
    /// with no such holder are left out. With `claim`, every address one account alone has
    /// is claimed for it (what accounts from before claims lack: run once after upgrading).
    /// One audit record for the run.
    pub async fn shared_addresses(
        self,
        op: &Operator,
        instansi: Option<&str>,
        claim: bool,
    ) -> Result<SharedReport, StaffError> {
        let mut by_address: BTreeMap<String, Vec<Held>> = BTreeMap::new();
        let mut cursor = None;
        loop {
            let (page, next) = self.store.accounts_page(cursor, PAGE).await?;
            for a in page {
                let Some(e) = &a.email else { continue };
                by_address
                    .entry(e.as_str().to_lowercase())
                    .or_default()
                    .push(Held {
                        email: e.as_str().to_owned(),
                        holder: SharedHolder {
                            nip: a.nip.as_str().to_owned(),
                            name: a.name.as_str().to_owned(),
                            instansi: a.instansi,
                        },
                    });
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        let claimed = if claim {
            self.claim_single(&by_address).await?
        } else {
            0
        };
        let wanted = |h: &SharedHolder| {
            op.covers(h.instansi.as_deref())
                && instansi.is_none_or(|i| h.instansi.as_deref() == Some(i))
        };
        let mut shared = Vec::new();
        for (_, mut held) in by_address.into_iter().filter(|(_, v)| v.len() > 1) {
            held.sort_by(|a, b| a.holder.nip.cmp(&b.holder.nip));
            let email = held[0].email.clone();
            let total = held.len();
            let holders: Vec<SharedHolder> = held
                .into_iter()
                .map(|h| h.holder)
                .filter(|h| wanted(h))
                .collect();
            if holders.is_empty() {
                continue;
            }
            shared.push(SharedAddress {
                email,
                elsewhere: total - holders.len(),
                holders,
            });
        }
        self.staff_audit(self.staff_event(
            op,
            None,
            Action::SharedAddressesListed,
            Outcome::Done,
            json!({ "instansi": instansi, "addresses": shared.len(), "claimed": claimed }),
        ))
        .await?;
        Ok(SharedReport { shared, claimed })
    }

    /// Claims every address: for the account that alone has it, and an address accounts
    /// share (from before the rule) for the first of them by NIP, so that no other account can
    /// take it either; how many it claimed (or were held already).
    async fn claim_single(
        &self,
        by_address: &BTreeMap<String, Vec<Held>>,
    ) -> Result<usize, StaffError> {
        let mut claimed = 0;
        for held in by_address.values() {
            let Some(h) = held.iter().min_by(|a, b| a.holder.nip.cmp(&b.holder.nip)) else {
                continue;
            };
            let (Ok(email), Ok(nip)) = (
                crate::domain::email::Email::parse_stored(&h.email),
                crate::domain::nip::Nip::from_stored(&h.holder.nip),
            ) else {
                continue;
            };
            if self.store.claim_email(&email, &nip).await? {
                claimed += 1;
            }
        }
        Ok(claimed)
    }
}

impl crate::service::Service {
    /// After an account left `previous`: if other accounts still have it (shared from before
    /// the rule), it is claimed again for one of them, so that it stays closed to newcomers.
    pub(crate) async fn reclaim_if_shared(&self, previous: Option<&crate::domain::email::Email>) {
        let Some(previous) = previous else { return };
        let holders = match self.store.accounts_with_email(previous, 2).await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "could not look up who else has a released address");
                return;
            }
        };
        if let Some(nip) = holders.into_iter().next() {
            if let Err(e) = self.store.claim_email(previous, &nip).await {
                tracing::error!(error = %e, "could not claim a shared address again");
            }
        }
    }
}
