//! The in-person identity check that an e-mail change and a factor removal share: the KTP's
//! NIK against the NIP, the documents examined, and the officer's confirmation that the
//! person matches them; and why such a check fails.

use crate::text::audit_text::Reason;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What the officer checked at the counter, as typed: flattened into every request that
/// needs the in-person check (`nik`, `documents`, `person_confirmed` in its JSON).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityCheck {
    /// The NIK read from the KTP shown (16 digits), checked against the NIP.
    #[serde(default)]
    pub nik: Option<String>,
    /// The documents examined (the KTP among them).
    #[serde(default)]
    pub documents: Vec<DocumentSeen>,
    /// The officer confirmed the person matches the photo and name on the documents.
    #[serde(default)]
    pub person_confirmed: bool,
}

/// The NIK and document numbers are personal data: never in logs.
impl std::fmt::Debug for IdentityCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityCheck")
            .field("nik", &self.nik.as_ref().map(|_| "<redacted>"))
            .field(
                "documents",
                &self.documents.iter().map(|d| &d.kind).collect::<Vec<_>>(),
            )
            .field("person_confirmed", &self.person_confirmed)
            .finish()
    }
}

/// What a check saw: the NIK parsed, the documents as named (`None` when a kind is not one),
/// and the record of both for the audit trail.
pub(crate) type Seen = (
    crate::domain::nik::Nik,
    Option<Vec<DocumentSeen>>,
    serde_json::Value,
);

impl IdentityCheck {
    /// The check as records keep it: see [`identity_record`].
    pub(crate) fn record(&self, pii: &crate::domain::keys::TokenKey) -> Result<Seen, CheckFailure> {
        identity_record(pii, self.nik.as_deref(), &self.documents)
    }

    /// What is wrong with the documents (as [`record`](Self::record) named them) and the
    /// confirmation, if anything.
    pub(crate) fn failure(&self, documents: Option<&[DocumentSeen]>) -> Option<CheckFailure> {
        documents_failure(documents, self.person_confirmed)
    }
}

/// A document the officer examined at the counter. Its number is personal data: never in
/// `Debug`. A field it does not know is refused (a misspelled `number` must not be dropped).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSeen {
    /// `ktp`, `karpeg`, `sk_cpns`, `sk_pns`, `kpe`, `paspor`, or another short name.
    pub kind: String,
    /// Its number, if the officer typed it; only kept masked and as a keyed hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

impl std::fmt::Debug for DocumentSeen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentSeen")
            .field("kind", &self.kind)
            .field("number", &self.number.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl DocumentSeen {
    /// A document as an officer names it: the kind normalised (`SK CPNS` is `sk_cpns`), at
    /// most 32 letters, digits or `_`; the number trimmed, and none when empty. `None` for a
    /// kind that is not one.
    pub fn new(kind: &str, number: Option<&str>) -> Option<DocumentSeen> {
        let kind = kind.trim().to_lowercase().replace([' ', '-'], "_");
        (!kind.is_empty()
            && kind.len() <= 32
            && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| DocumentSeen {
            kind,
            number: number
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
        })
    }
}

/// Why an identity check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckFailure {
    #[error("no NIK was given")]
    NoNik,
    #[error("the NIK is not a NIK")]
    InvalidNik,
    #[error("the NIK does not match the NIP: {0:?}")]
    NikMismatch(Vec<crate::domain::nik::NikMismatch>),
    #[error("a document kind is not one: letters, digits and _ only, at most 32")]
    InvalidDocument,
    #[error("the KTP must be among the documents seen")]
    NoKtp,
    #[error("the officer did not confirm the person matches the documents")]
    NotConfirmed,
    #[error("the new e-mail is the current one")]
    SameEmail,
    #[error("other employees already have this e-mail: {0:?}")]
    EmailInUse(super::Holders),
    #[error("the NIK matches the NIP: no exception is needed")]
    ExceptionNotNeeded,
    #[error("an exception needs its reason (at most 500 characters)")]
    NoExceptionReason,
    #[error("an exception needs a document besides the KTP that shows the true birth date")]
    NoEvidence,
    #[error("no e-mail exception is waiting for this NIP")]
    NoPendingException,
    #[error("the officer who asked for the exception cannot approve it")]
    SameOfficer,
}

impl CheckFailure {
    /// The stable reason code in audit records and API answers.
    pub fn reason_code(&self) -> Reason {
        match self {
            CheckFailure::NoNik => Reason::NoNik,
            CheckFailure::InvalidNik => Reason::InvalidNik,
            CheckFailure::NikMismatch(_) => Reason::NikMismatch,
            CheckFailure::InvalidDocument => Reason::InvalidDocument,
            CheckFailure::NoKtp => Reason::NoKtp,
            CheckFailure::NotConfirmed => Reason::NotConfirmed,
            CheckFailure::SameEmail => Reason::SameEmail,
            CheckFailure::EmailInUse(_) => Reason::EmailInUse,
            CheckFailure::ExceptionNotNeeded => Reason::ExceptionNotNeeded,
            CheckFailure::NoExceptionReason => Reason::NoExceptionReason,
            CheckFailure::NoEvidence => Reason::NoEvidence,
            CheckFailure::NoPendingException => Reason::NoPendingException,
            CheckFailure::SameOfficer => Reason::SameOfficer,
        }
    }

    /// The stable reason code in audit records and answers.
    pub fn reason(&self) -> &'static str {
        self.reason_code().code()
    }

    /// What the officer reads.
    pub fn text(&self, l: crate::text::i18n::Lang) -> String {
        match self {
            CheckFailure::NikMismatch(m) => {
                let what: Vec<&str> = m
                    .iter()
                    .map(|x| match x {
                        crate::domain::nik::NikMismatch::BirthDate => {
                            l.pick("tanggal lahir", "birth date")
                        }
                        crate::domain::nik::NikMismatch::Gender => {
                            l.pick("jenis kelamin", "gender")
                        }
                    })
                    .collect();
                format!(
                    "{}: {}.",
                    l.pick(
                        "NIK pada KTP tidak cocok dengan NIP",
                        "The KTP's NIK does not match the NIP"
                    ),
                    what.join(", ")
                )
            }
            CheckFailure::EmailInUse(others) => format!(
                "{} {}",
                if others.named.is_empty() {
                    l.pick(
                        "Alamat ini sudah dipakai pegawai lain (di luar cakupan Anda).",
                        "Another employee (outside your scope) already has this address.",
                    )
                    .to_owned()
                } else {
                    format!(
                        "{} {}{}.",
                        l.pick(
                            "Alamat ini sudah dipakai pegawai lain: NIP",
                            "Other employees already have this address: NIP"
                        ),
                        others.named.join(", "),
                        if others.elsewhere > 0 {
                            l.pick(
                                ", dan pegawai lain di luar cakupan Anda",
                                ", and others outside your scope",
                            )
                        } else {
                            ""
                        }
                    )
                },
                l.pick(
                    "Satu email untuk satu ASN (ketentuan BKN): minta pegawai memakai alamat lain.",
                    "One address per ASN (BKN's rule): ask the employee for another address.",
                )
            ),
            fixed => {
                let (id, en) = fixed.words();
                l.pick(id, en).to_owned()
            }
        }
    }

    /// The words of the failures that name nothing of the case.
    fn words(&self) -> (&'static str, &'static str) {
        match self {
            CheckFailure::NoNik => (
                "NIK pada KTP wajib diisi.",
                "The NIK on the KTP is required.",
            ),
            CheckFailure::InvalidNik => (
                "NIK tidak valid (16 digit dengan kode wilayah dan tanggal lahir).",
                "Not a valid NIK (16 digits with a region code and a birth date).",
            ),
            CheckFailure::InvalidDocument => (
                "Jenis dokumen tidak dikenal (huruf, angka dan _, paling banyak 32).",
                "Unknown document kind (letters, digits and _, at most 32).",
            ),
            CheckFailure::NoKtp => (
                "KTP wajib diperiksa.",
                "The KTP must be among the documents checked.",
            ),
            CheckFailure::NotConfirmed => (
                "Petugas tidak mengonfirmasi kecocokan orang dengan dokumen; tidak ada yang diubah.",
                "The officer did not confirm the person matches the documents; nothing was changed.",
            ),
            CheckFailure::SameEmail => (
                "Email baru sama dengan email sekarang.",
                "The new e-mail is the current one.",
            ),
            CheckFailure::ExceptionNotNeeded => (
                "NIK cocok dengan NIP; tidak perlu pengecualian, ganti email biasa saja.",
                "The NIK matches the NIP; no exception is needed, change the e-mail as usual.",
            ),
            CheckFailure::NoExceptionReason => (
                "Pengecualian wajib disertai alasan (paling banyak 500 karakter), mis. surat keterangan Dukcapil atau akta kelahiran yang dilihat.",
                "An exception needs its reason (at most 500 characters), e.g. the Dukcapil letter or birth certificate seen.",
            ),
            CheckFailure::NoEvidence => (
                "Pengecualian wajib disertai dokumen selain KTP yang menunjukkan tanggal lahir sebenarnya (mis. akta_kelahiran, surat_dukcapil).",
                "An exception needs a document besides the KTP that shows the true birth date (e.g. akta_kelahiran, surat_dukcapil).",
            ),
            CheckFailure::NoPendingException => (
                "Tidak ada pengajuan pengecualian yang menunggu untuk NIP ini (atau sudah kedaluwarsa).",
                "No exception request is waiting for this NIP (or it has expired).",
            ),
            CheckFailure::SameOfficer => (
                "Petugas yang mengajukan pengecualian tidak boleh menyetujuinya sendiri; minta petugas lain atau supervisor.",
                "The officer who asked for the exception may not approve it; ask another officer or a supervisor.",
            ),
            // Named with the case's own details by `text`.
            CheckFailure::NikMismatch(_) | CheckFailure::EmailInUse(_) => ("", ""),
        }
    }
}

/// The identity seen at the counter as records keep it: the NIK parsed, the documents as
/// named (`None` when a kind is not one), and the record of both with numbers masked and
/// keyed-hashed (UU PDP 27/2022).
fn identity_record(
    pii: &crate::domain::keys::TokenKey,
    nik: Option<&str>,
    documents: &[DocumentSeen],
) -> Result<Seen, CheckFailure> {
    let nik = match nik.map(str::trim).filter(|n| !n.is_empty()) {
        None => return Err(CheckFailure::NoNik),
        Some(raw) => crate::domain::nik::Nik::parse(raw).map_err(|_| CheckFailure::InvalidNik)?,
    };
    let documents: Option<Vec<DocumentSeen>> = documents
        .iter()
        .map(|d| DocumentSeen::new(&d.kind, d.number.as_deref()))
        .collect();
    let docs: Vec<serde_json::Value> = documents
        .iter()
        .flatten()
        .map(|d| {
            json!({
                "kind": d.kind,
                "number_masked": d.number.as_deref().map(mask_number),
                "number_hash": d.number.as_deref().map(|n| pii.mac_hex("sapk/document/v1", &[d.kind.as_bytes(), n.trim().as_bytes()])),
            })
        })
        .collect();
    let nik_hash = pii.mac_hex("sapk/nik/v1", &[nik.expose_digits().as_bytes()]);
    let base = json!({
        "documents": docs,
        "nik_masked": nik.masked(),
        "nik_hash": nik_hash,
    });
    Ok((nik, documents, base))
}

/// What is wrong with the documents seen and the officer's confirmation, if anything.
fn documents_failure(
    documents: Option<&[DocumentSeen]>,
    person_confirmed: bool,
) -> Option<CheckFailure> {
    match documents {
        None => Some(CheckFailure::InvalidDocument),
        Some(d) if !d.iter().any(|d| d.kind == "ktp") => Some(CheckFailure::NoKtp),
        Some(_) if !person_confirmed => Some(CheckFailure::NotConfirmed),
        Some(_) => None,
    }
}

/// A document number as kept in records: at most its last 4 characters (UU PDP 27/2022).
pub(crate) fn mask_number(n: &str) -> String {
    let chars: Vec<char> = n.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{}{tail}", "*".repeat(chars.len() - 4))
}

#[cfg(test)]
mod tests {
    use crate::staff::factor_removal::FactorRemovalRequest;
    use crate::staff::EmailChangeRequest;
    use serde_json::json;

    #[test]
    fn both_requests_read_the_check_from_the_same_flat_fields() {
        let check = json!({
            "nik": "3201012609860001",
            "documents": [{"kind": "ktp", "number": "123"}],
            "person_confirmed": true,
        });
        let mut change = check.clone();
        change["new_email"] = json!("a@b.go.id");
        let change: EmailChangeRequest = serde_json::from_value(change).unwrap();
        let mut removal = check.clone();
        removal["if_version"] = json!(3);
        let removal: FactorRemovalRequest = serde_json::from_value(removal).unwrap();
        assert_eq!(change.identity, removal.identity);
        assert_eq!(removal.if_version, Some(3));
        let back = serde_json::to_value(&removal).unwrap();
        assert_eq!(back["nik"], check["nik"]);
        assert_eq!(back["person_confirmed"], json!(true));
        assert!(back.get("identity").is_none(), "flattened: {back}");
    }

    #[test]
    fn an_email_change_refuses_fields_it_does_not_know() {
        // A misspelled version check must not turn the check off; a misspelled document
        // number must not be dropped.
        for body in [
            json!({"new_email": "a@b.go.id", "ifVersion": 999}),
            json!({"new_email": "a@b.go.id", "documents": [{"kind": "ktp", "nomor": "1"}]}),
            json!({"new_email": "a@b.go.id", "identity": {"nik": "3201012609860001"}}),
        ] {
            assert!(
                serde_json::from_value::<EmailChangeRequest>(body.clone()).is_err(),
                "{body}"
            );
        }
        let ok = serde_json::from_value::<EmailChangeRequest>(
            json!({"new_email": "a@b.go.id", "if_version": 3}),
        )
        .unwrap();
        assert_eq!(ok.if_version, Some(3));
    }

    #[test]
    fn a_removal_refuses_fields_it_does_not_know() {
        let e = serde_json::from_value::<FactorRemovalRequest>(json!({
            "nik": "3201012609860001",
            "new_email": "a@b.go.id",
        }));
        assert!(e.is_err());
    }

    #[test]
    fn the_check_never_shows_its_numbers_in_debug() {
        let c = super::IdentityCheck {
            nik: Some("3201012609860001".into()),
            documents: vec![super::DocumentSeen {
                kind: "ktp".into(),
                number: Some("9988".into()),
            }],
            person_confirmed: true,
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("3201012609860001") && !shown.contains("9988"),
            "{shown}"
        );
    }
}
