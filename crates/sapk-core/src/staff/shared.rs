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

impl Staff<'_> {
    /// Every address two or more accounts have (compared as one claim: whole address, any
    /// case), with the holders within `op`'s scope and, if given, of `instansi`; addresses
    /// with no such holder are left out. One audit record for the run.
    pub async fn shared_addresses(
        self,
        op: &Operator,
        instansi: Option<&str>,
    ) -> Result<Vec<SharedAddress>, StaffError> {
        let mut by_address: BTreeMap<String, Vec<crate::ports::Account>> = BTreeMap::new();
        let mut cursor = None;
        loop {
            let (page, next) = self.store.accounts_page(cursor, PAGE).await?;
            for a in page {
                if let Some(e) = &a.email {
                    by_address
                        .entry(e.as_str().to_lowercase())
                        .or_default()
                        .push(a);
                }
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        let wanted = |a: &crate::ports::Account| {
            op.covers(a.instansi.as_deref())
                && instansi.is_none_or(|i| a.instansi.as_deref() == Some(i))
        };
        let mut out = Vec::new();
        for (_, mut accounts) in by_address.into_iter().filter(|(_, v)| v.len() > 1) {
            accounts.sort_by(|a, b| a.nip.as_str().cmp(b.nip.as_str()));
            let holders: Vec<SharedHolder> = accounts
                .iter()
                .filter(|a| wanted(a))
                .map(|a| SharedHolder {
                    nip: a.nip.as_str().to_owned(),
                    name: a.name.as_str().to_owned(),
                    instansi: a.instansi.clone(),
                })
                .collect();
            if holders.is_empty() {
                continue;
            }
            out.push(SharedAddress {
                email: accounts[0]
                    .email
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
                elsewhere: accounts.len() - holders.len(),
                holders,
            });
        }
        self.staff_audit(self.staff_event(
            op,
            None,
            Action::SharedAddressesListed,
            Outcome::Done,
            json!({ "instansi": instansi, "addresses": out.len() }),
        ))
        .await?;
        Ok(out)
    }
}
