//! Who may act: an officer's registration, authorisation and scope.

use crate::domain::nip::Nip;
use crate::ports::Account;
use crate::service::Service;
use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome};
use serde_json::json;

use super::{Forbidden, Operator, StaffError};

impl crate::ports::Officer {
    /// The identity every audit record of this officer's actions carries: the IAM
    /// principal, the registered office and the person's officer ID.
    pub fn operator(&self) -> Operator {
        Operator {
            id: self.principal.clone(),
            office: self.office.clone(),
            officer_id: Some(self.officer_id.clone()).filter(|i| !i.trim().is_empty()),
            scope: Some(self.scope.clone()),
            office_name: self.office_name.clone(),
        }
    }
}

impl Staff<'_> {
    /// The registered, active officer signed in as `principal`. An unregistered or
    /// deactivated principal is refused, and the refusal audited (in the trail of the
    /// employee the request was about, `target`, when there is one).
    pub async fn authorize_officer(
        self,
        principal: &str,
        target: Option<&Nip>,
    ) -> Result<crate::ports::Officer, StaffError> {
        let officer = self.store.get_officer(principal).await?;
        let why = match &officer {
            None => Forbidden::Unregistered,
            Some(o) if !o.active => Forbidden::Deactivated,
            Some(o) => return Ok(o.clone()),
        };
        let op = Operator {
            id: principal.to_owned(),
            office: officer.map_or_else(|| "UNREGISTERED".to_owned(), |o| o.office),
            officer_id: None,
            scope: None,
            office_name: None,
        };
        let mut ev = self.staff_event(
            &op,
            target,
            Action::StaffRequest,
            Outcome::Refused,
            json!({}),
        );
        ev.details = json!({ "reason": why.code() });
        self.staff_audit(ev).await?;
        Err(StaffError::Forbidden(why))
    }

    /// Refuses, audited, an action on `account` outside the officer's scope (an agency HR
    /// officer may act only on employees of their own `instansi`).
    pub async fn check_scope(
        self,
        officer: &crate::ports::Officer,
        account: &Account,
        action: Action,
    ) -> Result<(), StaffError> {
        if officer.scope.covers(account.instansi.as_deref()) {
            return Ok(());
        }
        self.refuse_audited(
            &officer.operator(),
            &account.nip,
            action,
            Forbidden::OutOfScope.reason_code(),
            json!({ "scope": officer.scope.as_text() }),
        )
        .await?;
        Err(StaffError::Forbidden(Forbidden::OutOfScope))
    }

    /// Registers or replaces an officer (a supervisor's action, audited under the
    /// supervisor's identity). An officer ID already active under another principal is
    /// refused unless the supervisor says it is the same person's second role
    /// (`second_role`): one person never counts as two for the two-officer rule, which
    /// compares officer IDs.
    pub async fn register_officer(
        self,
        mut officer: crate::ports::Officer,
        by: &Operator,
        second_role: bool,
    ) -> Result<(), StaffError> {
        officer.principal = officer.principal.trim().to_owned();
        officer.officer_id = officer.officer_id.trim().to_owned();
        if officer.principal.is_empty() || officer.office.trim().is_empty() {
            return Err(StaffError::InvalidEntry {
                id: "identitas (principal) dan kantor wajib diisi",
                en: "principal and office are required",
            });
        }
        if officer.active && officer.officer_id.is_empty() {
            return Err(StaffError::InvalidEntry {
                id: "ID petugas wajib diisi",
                en: "the officer ID is required",
            });
        }
        officer.office = officer.office.trim().to_owned();
        if !is_office_code(&officer.office) {
            return Err(StaffError::InvalidEntry {
                id: "kode kantor hanya huruf dan angka ASCII, - atau _, paling panjang 40 (mis. KANREG-IV)",
                en: "an office code is ASCII letters and digits, - or _, at most 40 (e.g. KANREG-IV)",
            });
        }
        officer.name = crate::domain::name::EmployeeName::parse(&officer.name)?.into_string();
        officer.office_name = clean_office_name(officer.office_name.as_deref())?;
        officer.updated_at = self.now();
        if officer.active && !second_role {
            let key = super::officer_id_key(&officer.officer_id);
            let other = self.store.list_officers().await?.into_iter().find(|o| {
                o.active
                    && o.principal != officer.principal
                    && super::officer_id_key(&o.officer_id) == key
            });
            if let Some(other) = other {
                return Err(StaffError::OfficerIdInUse(other.principal));
            }
        }
        self.store.put_officer(&officer).await?;
        self.staff_audit(self.staff_event(
            by,
            None,
            Action::StaffRegistry,
            if officer.active {
                Outcome::Registered
            } else {
                Outcome::Deactivated
            },
            json!({
                "principal": officer.principal,
                "registered_officer_id": officer.officer_id,
                "office": officer.office,
                // The display name this registration gives the office (the record's own
                // `office_name` is the supervisor's office).
                "registered_office_name": officer.office_name,
                "scope": officer.scope.as_text(),
                "second_role": second_role,
            }),
        ))
        .await
    }
}

impl Service {
    /// Whether `op` is the person who asked for `p`: the same principal, the same officer ID
    /// (as recorded with the request, or as the registry names the requester's principal),
    /// or the same IAM Identity Center user.
    pub(crate) async fn same_person(
        &self,
        p: &crate::ports::PendingException,
        op: &Operator,
    ) -> Result<bool, StaffError> {
        if p.requested_by.trim().eq_ignore_ascii_case(op.id.trim()) {
            return Ok(true);
        }
        if let (Some(a), Some(b)) = (super::sso_user(&p.requested_by), op.sso_user()) {
            if a == b {
                return Ok(true);
            }
        }
        let approver = match &op.officer_id {
            Some(id) => Some(id.clone()),
            None => self.store.get_officer(&op.id).await?.map(|o| o.officer_id),
        };
        let Some(approver) = approver.map(|a| super::officer_id_key(&a)) else {
            return Ok(false);
        };
        let mut requester = vec![p.requested_officer_id.clone()];
        if let Some(o) = self.store.get_officer(&p.requested_by).await? {
            requester.push(o.officer_id);
        }
        Ok(requester
            .iter()
            .map(|r| super::officer_id_key(r))
            .any(|r| !r.is_empty() && r == approver))
    }
}

/// An office code as kept and recorded: 1 to 40 ASCII letters, digits, `-` or `_`
/// (`KANREG-IV`, `BKPSDM-KOTA-BANDUNG`). It is printed, named from its words when the
/// registry has no display name, in notices and on the civil servant's page.
pub fn is_office_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The longest office display name the registry keeps.
pub const OFFICE_NAME_MAX: usize = 120;

/// An office's display name as kept: white space folded, `None` when blank; refused when
/// too long or with control or invisible characters (it is printed in e-mails and pages).
fn clean_office_name(raw: Option<&str>) -> Result<Option<String>, StaffError> {
    let Some(raw) = raw else { return Ok(None) };
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > OFFICE_NAME_MAX {
        return Err(StaffError::InvalidEntry {
            id: "nama kantor lebih dari 120 karakter",
            en: "the office name is longer than 120 characters",
        });
    }
    // Nothing that draws nothing or moves text: control characters, line and paragraph
    // separators, Unicode's default-ignorable code points, private use, the braille blank.
    if name.chars().any(|c| {
        c.is_control()
            || crate::text::i18n::is_default_ignorable(c)
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{2800}' | '\u{E000}'..='\u{F8FF}'
            )
    }) {
        return Err(StaffError::InvalidEntry {
            id: "nama kantor memuat karakter kendali atau tak terlihat",
            en: "the office name has control or invisible characters",
        });
    }
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_names_that_draw_nothing_or_move_text_are_refused() {
        assert_eq!(
            clean_office_name(Some("  Kantor Regional IV   BKN Makassar ")).unwrap(),
            Some("Kantor Regional IV BKN Makassar".to_owned())
        );
        assert_eq!(clean_office_name(Some(" \t ")).unwrap(), None);
        for bad in [
            "BKN\u{00AD}Pusat",
            "BKN\u{034F}",
            "BKN\u{115F}",
            "BKN\u{3164}",
            "BKN\u{180E}",
            "BKN\u{FE0F}",
            "BKN\u{2800}",
            "BKN\u{E0041}",
            "BKN\u{202E}",
            "BKN\u{1b}[2J",
            "BKN\u{E000}",
        ] {
            assert!(clean_office_name(Some(bad)).is_err(), "{bad:?}");
        }
        assert!(clean_office_name(Some(&"a".repeat(121))).is_err());
        // Line and paragraph separators are white space: folded like a tab.
        assert_eq!(
            clean_office_name(Some("BKN\u{2028}Pusat\u{2029}")).unwrap(),
            Some("BKN Pusat".to_owned())
        );
        assert!(clean_office_name(Some("BKPSDM Kota Bandung, loket Balai Kota ñ")).is_ok());
    }

    #[test]
    fn office_codes_are_plain() {
        for good in [
            "KANREG-IV",
            "BKPSDM-KOTA-BANDUNG",
            "BKN",
            "biro_sdm_kemenkeu",
        ] {
            assert!(is_office_code(good), "{good}");
        }
        for bad in [
            "",
            "KANREG IV",
            "KANREG-\u{202E}IV",
            "X\n",
            "\u{1b}[2J",
            "KANTOR-Ñ",
            &"A".repeat(41),
        ] {
            assert!(!is_office_code(bad), "{bad:?}");
        }
    }
}
