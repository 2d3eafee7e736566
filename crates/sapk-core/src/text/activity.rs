//! A civil servant's own security activity in words for them (`GET /v1/account/activity`):
//! one sentence per record, offices by name, an officer's checks and refusals worded so that
//! they inform without alarming, a mail problem with what to do. The officer's view of the same
//! records (codes and their short texts) is [`crate::text::audit_text`].

use crate::text::audit_text::{Action, Outcome};
use crate::text::i18n::Lang;

/// BKN's own offices by their codes: the head office and the fourteen regional offices
/// (Kantor Regional), with the cities they sit in.
const BKN_OFFICES: &[(&str, &str, &str)] = &[
    ("BKN", "BKN Pusat, Jakarta", "BKN head office, Jakarta"),
    (
        "BKN-PUSAT",
        "BKN Pusat, Jakarta",
        "BKN head office, Jakarta",
    ),
    (
        "KANREG-I",
        "Kantor Regional I BKN Yogyakarta",
        "BKN Regional Office I, Yogyakarta",
    ),
    (
        "KANREG-II",
        "Kantor Regional II BKN Surabaya",
        "BKN Regional Office II, Surabaya",
    ),
    (
        "KANREG-III",
        "Kantor Regional III BKN Bandung",
        "BKN Regional Office III, Bandung",
    ),
    (
        "KANREG-IV",
        "Kantor Regional IV BKN Makassar",
        "BKN Regional Office IV, Makassar",
    ),
    (
        "KANREG-V",
        "Kantor Regional V BKN Jakarta",
        "BKN Regional Office V, Jakarta",
    ),
    (
        "KANREG-VI",
        "Kantor Regional VI BKN Medan",
        "BKN Regional Office VI, Medan",
    ),
    (
        "KANREG-VII",
        "Kantor Regional VII BKN Palembang",
        "BKN Regional Office VII, Palembang",
    ),
    (
        "KANREG-VIII",
        "Kantor Regional VIII BKN Banjarmasin",
        "BKN Regional Office VIII, Banjarmasin",
    ),
    (
        "KANREG-IX",
        "Kantor Regional IX BKN Jayapura",
        "BKN Regional Office IX, Jayapura",
    ),
    (
        "KANREG-X",
        "Kantor Regional X BKN Denpasar",
        "BKN Regional Office X, Denpasar",
    ),
    (
        "KANREG-XI",
        "Kantor Regional XI BKN Manado",
        "BKN Regional Office XI, Manado",
    ),
    (
        "KANREG-XII",
        "Kantor Regional XII BKN Pekanbaru",
        "BKN Regional Office XII, Pekanbaru",
    ),
    (
        "KANREG-XIII",
        "Kantor Regional XIII BKN Banda Aceh",
        "BKN Regional Office XIII, Banda Aceh",
    ),
    (
        "KANREG-XIV",
        "Kantor Regional XIV BKN Manokwari",
        "BKN Regional Office XIV, Manokwari",
    ),
];

/// Words of an office code read as their name (`BKPSDM-KOTA-BANDUNG` → "BKPSDM Kota Bandung").
const ACRONYMS: &[&str] = &[
    "BKN", "BKD", "BKPSDM", "BKPP", "BPSDM", "SDM", "BKPPD", "DKI", "RI",
];

/// An office's name for a person: BKN's own from the table, an agency's HR unit from its code.
pub fn office_name(code: &str, lang: Lang) -> String {
    let key = code.trim().to_uppercase();
    if let Some((_, id, en)) = BKN_OFFICES.iter().find(|(c, _, _)| *c == key) {
        return lang.pick(id, en).to_owned();
    }
    key.split(['-', '_', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "KAB" => lang.pick("Kabupaten", "Regency").to_owned(),
            "PROV" => lang.pick("Provinsi", "Province").to_owned(),
            w if ACRONYMS.contains(&w) => w.to_owned(),
            w => {
                let lower = w.to_lowercase();
                let mut cs = lower.chars();
                cs.next()
                    .map(|f| f.to_uppercase().chain(cs).collect())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An office as a person reads it: `display` (the registry's name, trimmed) when there is
/// one, else [`office_name`] of the code.
pub fn office_label(code: &str, display: Option<&str>, lang: Lang) -> String {
    match display.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => d.to_owned(),
        None => office_name(code, lang),
    }
}

/// One record in words for the person it is about; `office` already named.
pub fn describe(action: &str, outcome: &str, office: Option<&str>, lang: Lang) -> String {
    let at = |id: &str, en: &str| match (office, lang) {
        (Some(o), Lang::Id) => format!("{id} di {o}"),
        (Some(o), Lang::En) => format!("{en} at {o}"),
        (None, Lang::Id) => id.to_owned(),
        (None, Lang::En) => en.to_owned(),
    };
    let p = |id: &'static str, en: &'static str| lang.pick(id, en).to_owned();
    let (Some(a), Some(o)) = (Action::parse(action), Outcome::parse(outcome)) else {
        return format!(
            "{}: {}",
            crate::text::audit_text::action(action, lang),
            crate::text::audit_text::outcome(outcome, lang)
        );
    };
    use Action as A;
    use Outcome as O;
    match (a, o) {
        (A::CodeRequested, O::Sent | O::Queued) => p("Kode reset dikirim ke email Anda.", "A reset code was sent to your e-mail."),
        (A::CodeRequested, O::Cooldown) => p("Kode reset diminta lagi terlalu cepat; kode sebelumnya tetap berlaku.", "A reset code was asked for again too soon; the previous one still works."),
        (A::CodeRequested, O::NoEmail) => p("Kode reset diminta, tetapi akun Anda belum punya email. Datangi unit kepegawaian atau kantor BKN dengan membawa KTP.", "A reset code was asked for, but your account has no e-mail yet. Visit your HR unit or a BKN office with your KTP."),
        (A::CodeRequested, O::MailFailed) => p("Kode reset diminta, tetapi email tidak dapat dikirim.", "A reset code was asked for, but the e-mail could not be sent."),
        (A::CodeRequested, _) => p("Kode reset diminta.", "A reset code was asked for."),
        (A::Reset, O::Succeeded) => p("Password baru dibuat dengan kode dari email.", "A new password was set with the code from your e-mail."),
        (A::Reset, _) => p("Percobaan membuat password baru gagal (kode salah, kedaluwarsa, atau password ditolak).", "An attempt to set a new password failed (wrong or expired code, or the password was refused)."),
        (A::Login, O::Succeeded | O::RecoveryCodeUsed) => p("Anda masuk.", "You logged in."),
        (A::Login, O::SecondStep) => p("Password benar; menunggu langkah kedua (kode authenticator atau passkey).", "Password correct; waiting for the second step (the authenticator code or a passkey)."),
        (A::Login, O::Throttled) => p("Login dikunci sementara setelah beberapa percobaan salah.", "Logins were locked for a while after several wrong tries."),
        (A::Login, _) => p("Percobaan masuk gagal (password salah).", "A login attempt failed (wrong password)."),
        (A::LoginSecondStep, O::Succeeded) => p("Anda masuk dengan kode authenticator.", "You logged in with the authenticator code."),
        (A::LoginSecondStep, O::RecoveryCodeUsed) => p("Anda masuk dengan kode pemulihan.", "You logged in with a recovery code."),
        (A::LoginSecondStep, _) => p("Kode verifikasi yang dimasukkan salah.", "A wrong verification code was entered."),
        (A::PasswordChange, O::Succeeded) => p("Password diganti.", "The password was changed."),
        (A::PasswordChange, _) => p("Percobaan mengganti password gagal (password saat ini salah).", "An attempt to change the password failed (wrong current password)."),
        (A::Logout, _) => p("Anda keluar.", "You logged out."),
        (A::ForgotRateLimited | A::ResetRateLimited | A::LoginRateLimited, _) => p("Terlalu banyak permintaan dalam waktu singkat; sebagian ditahan sementara.", "Too many requests in a short time; some were held back for a while."),
        (A::EmployeeImported, O::Created) => p("Data kepegawaian Anda dimuat dari instansi Anda.", "Your HR data was loaded from your agency."),
        (A::EmployeeImported, _) => p("Data kepegawaian Anda diperbarui dari instansi Anda.", "Your HR data was updated from your agency."),
        (A::EmailChange, O::Changed) => at("Email akun Anda diganti setelah pemeriksaan identitas", "Your account's e-mail was changed after an identity check"),
        (A::EmailChange | A::EmailExceptionRequest, O::Refused) => at("Petugas memeriksa data untuk ganti email; tidak ada yang diubah", "Staff checked your details for an e-mail change; nothing was changed"),
        (A::EmailExceptionRequest, _) => at("Permintaan ganti email dicatat dan menunggu persetujuan petugas kedua", "An e-mail change was recorded and awaits a second officer's approval"),
        (A::EmailExceptionApprove, O::ExceptionApproved | O::Changed) => at("Email akun Anda diganti (disetujui petugas kedua)", "Your account's e-mail was changed (approved by a second officer)"),
        (A::EmailExceptionApprove | A::EmailExceptionReject, _) => at("Permintaan ganti email tidak disetujui; tidak ada yang diubah", "An e-mail change was not approved; nothing was changed"),
        (A::AccountUnlock, O::Refused) => at("Petugas memeriksa kunci login Anda; tidak ada yang diubah", "Staff checked your login lock; nothing was changed"),
        (A::AccountUnlock, _) => at("Kunci login dibuka oleh petugas", "Your login lock was opened by staff"),
        (A::SessionRevoke, _) => at("Semua sesi login diakhiri oleh petugas", "Every login session was ended by staff"),
        (A::SecondFactorRemove, O::Refused) => at("Petugas memeriksa verifikasi dua langkah Anda; tidak ada yang diubah", "Staff checked your two-step login; nothing was changed"),
        (A::SecondFactorRemove, _) => at("Verifikasi dua langkah dihapus oleh petugas setelah pemeriksaan identitas", "Two-step login was removed by staff after an identity check"),
        (A::EmployeeViewed | A::AuditViewed | A::AuditVerified | A::EmailExceptionViewed | A::StaffRequest, _) => at("Data Anda dilihat petugas", "Your details were looked up by staff"),
        (A::SubjectAccessExport, _) => at("Salinan data Anda dibuat atas permintaan Anda", "A copy of your data was made at your request"),
        (A::AccountRenumber, _) => p("NIP akun Anda diperbarui; riwayat dan password tetap.", "Your account's NIP was updated; history and password stay."),
        (A::MailStatus, _) => p("Email terakhir ke alamat Anda tidak sampai (ditolak server penerima atau kotak surat penuh). Pastikan alamat itu masih aktif; bila tidak, datangi unit kepegawaian atau kantor BKN dengan membawa KTP untuk menggantinya.", "The last e-mail to your address did not arrive (refused by the receiving server or a full mailbox). Check that the address still works; if not, visit your HR unit or a BKN office with your KTP to change it."),
        (A::SecondFactorEnrol, O::Started) => p("Pemasangan aplikasi authenticator dimulai.", "Setting up an authenticator app was started."),
        (A::SecondFactorEnrol, O::Succeeded) => p("Verifikasi dua langkah diaktifkan.", "Two-step login was turned on."),
        (A::SecondFactorEnrol, _) => p("Percobaan memasang aplikasi authenticator gagal.", "An attempt to set up an authenticator app failed."),
        (A::RecoveryCodesRenew, O::Succeeded) => p("Kode pemulihan dibuat ulang; kode lama tidak berlaku lagi.", "Recovery codes were renewed; the old ones no longer work."),
        (A::RecoveryCodesRenew, _) => p("Percobaan membuat ulang kode pemulihan gagal.", "An attempt to renew the recovery codes failed."),
        (A::PasskeyAdd, O::Succeeded) => p("Passkey ditambahkan; Anda dapat masuk dengan kunci layar perangkat itu.", "A passkey was added; you can sign in with that device's screen lock."),
        (A::PasskeyAdd, _) => p("Percobaan menambah passkey gagal.", "An attempt to add a passkey failed."),
        (A::PasskeyRemove, O::Failed) => p("Percobaan menghapus passkey gagal (password salah).", "An attempt to remove a passkey failed (wrong password)."),
        (A::PasskeyRemove, _) => at("Passkey dihapus", "A passkey was removed"),
        (A::PasskeyLogin, O::Succeeded) => p("Anda masuk dengan passkey.", "You signed in with a passkey."),
        (A::PasskeyLogin, _) => p("Percobaan masuk dengan passkey ditolak.", "A sign-in with a passkey was refused."),
        (a, o) => format!("{}: {}", a.text(lang), o.text(lang)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offices_are_named_and_codes_read_as_words() {
        assert_eq!(
            office_name("KANREG-IV", Lang::Id),
            "Kantor Regional IV BKN Makassar"
        );
        assert_eq!(
            office_name("kanreg-i", Lang::En),
            "BKN Regional Office I, Yogyakarta"
        );
        assert_eq!(
            office_name("BKPSDM-KOTA-BANDUNG", Lang::Id),
            "BKPSDM Kota Bandung"
        );
        assert_eq!(
            office_name("BKD-KAB-BOGOR", Lang::Id),
            "BKD Kabupaten Bogor"
        );
    }

    #[test]
    fn an_officers_refusal_does_not_alarm_and_an_import_is_said_plainly() {
        let o = office_name("KANREG-IV", Lang::Id);
        let refused = describe("email_change", "refused", Some(&o), Lang::Id);
        assert!(refused.contains("tidak ada yang diubah"), "{refused}");
        assert!(!refused.contains("ditolak"), "{refused}");
        assert!(refused.contains("Makassar"), "{refused}");
        assert_eq!(
            describe("employee_imported", "created", None, Lang::Id),
            "Data kepegawaian Anda dimuat dari instansi Anda."
        );
        assert!(describe("mail_status", "problem", None, Lang::Id).contains("KTP"));
        // A code this build does not know is still shown.
        assert_eq!(
            describe("future_thing", "odd", None, Lang::En),
            "future_thing: odd"
        );
    }

    #[test]
    fn every_action_and_outcome_has_words() {
        for a in Action::ALL {
            for o in Outcome::ALL {
                let t = describe(a.code(), o.code(), None, Lang::Id);
                assert!(!t.contains('_'), "{a} {o}: {t}");
            }
        }
    }
}
