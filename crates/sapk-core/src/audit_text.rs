//! What an officer reads for the codes in audit records: actions, outcomes and refusal
//! reasons, in Indonesian and English, in one place. Records keep the stable codes; a code
//! without a text here (an older or newer one) is shown as it is.

use crate::Lang;

/// The action of an audit record (`email_change` → "ganti email").
pub fn action(code: &str, l: Lang) -> String {
    let (id, en) = match code {
        "code_requested" => ("minta kode reset", "reset code requested"),
        "reset" => ("buat password baru", "password reset"),
        "login" => ("masuk", "login"),
        "forgot_rate_limited" => ("batas permintaan kode", "code request limit"),
        "reset_rate_limited" => ("batas reset", "reset limit"),
        "login_rate_limited" => ("batas masuk", "login limit"),
        "employee_viewed" => ("data pegawai dilihat", "employee looked up"),
        "employee_imported" => ("impor pegawai", "employee import"),
        "employee_import_run" => ("impor (satu kali jalan)", "import run"),
        "email_change" => ("ganti email", "e-mail change"),
        "email_exception_request" => ("ajukan pengecualian email", "e-mail exception request"),
        "email_exception_approve" => ("setujui pengecualian email", "e-mail exception approval"),
        "email_exception_reject" => ("tolak pengecualian email", "e-mail exception turned down"),
        "account_unlock" => ("buka kunci login", "login unlock"),
        "session_revoke" => ("akhiri sesi", "sessions ended"),
        "audit_viewed" => ("riwayat dilihat", "trail viewed"),
        "account_renumber" => ("ganti nomor (NIP)", "renumbering"),
        "staff_request" => ("permintaan petugas", "staff request"),
        "staff_registry" => ("registri petugas", "staff registry"),
        other => return other.to_owned(),
    };
    l.pick(id, en).to_owned()
}

/// The outcome of an audit record (`refused` → "ditolak").
pub fn outcome(code: &str, l: Lang) -> String {
    let (id, en) = match code {
        "sent" => ("terkirim", "sent"),
        "mail_failed" => ("email gagal", "mail failed"),
        "no_email" => ("tanpa email", "no e-mail"),
        "unknown_nip" => ("NIP tidak terdaftar", "unknown NIP"),
        "cooldown" => ("tunggu dulu", "cooldown"),
        "succeeded" => ("berhasil", "succeeded"),
        "failed" => ("gagal", "failed"),
        "throttled" => ("terkunci", "locked out"),
        "refused" => ("ditolak", "refused"),
        "changed" => ("diubah", "changed"),
        "exception_approved" => (
            "diubah (pengecualian disetujui)",
            "changed (exception approved)",
        ),
        "requested" => ("diajukan", "requested"),
        "rejected" => ("ditolak petugas kedua", "turned down"),
        "created" => ("dibuat", "created"),
        "updated" => ("diperbarui", "updated"),
        "kept_counter_email" => ("email loket dipertahankan", "counter e-mail kept"),
        "done" => ("selesai", "done"),
        "ok" => ("ok", "ok"),
        "moved_out" => ("dipindah keluar", "moved out"),
        "moved_in" => ("dipindah masuk", "moved in"),
        "merged_in" => ("digabung masuk", "merged in"),
        "registered" => ("didaftarkan", "registered"),
        "deactivated" => ("dinonaktifkan", "deactivated"),
        other => return other.to_owned(),
    };
    l.pick(id, en).to_owned()
}

/// A refusal reason (`nik_mismatch` → "NIK tidak cocok").
pub fn reason(code: &str, l: Lang) -> String {
    let (id, en) = match code {
        "no_nik" => ("NIK tidak diisi", "no NIK"),
        "invalid_nik" => ("NIK tidak valid", "invalid NIK"),
        "nik_mismatch" => ("NIK tidak cocok", "NIK mismatch"),
        "invalid_document" => ("dokumen tidak dikenal", "unknown document"),
        "no_ktp" => ("KTP tidak diperiksa", "KTP not checked"),
        "not_confirmed" => ("tidak dikonfirmasi", "not confirmed"),
        "same_email" => ("email sama", "same e-mail"),
        "email_in_use" => ("email dipakai pegawai lain", "e-mail used by others"),
        "exception_not_needed" => (
            "NIK cocok, tak perlu pengecualian",
            "NIK matches, no exception needed",
        ),
        "no_exception_reason" => ("alasan pengecualian kosong", "no exception reason"),
        "no_evidence" => ("tanpa bukti selain KTP", "no evidence besides the KTP"),
        "no_pending_exception" => ("tak ada pengajuan", "no pending request"),
        "same_officer" => ("petugas yang sama", "same officer"),
        "invalid_name" => ("nama tidak valid", "invalid name"),
        "email_needs_counter" => ("email hanya lewat loket", "e-mail only at the counter"),
        "same_nip" => ("nomor sama", "same number"),
        "no_pii_key" => ("kunci data pribadi belum diatur", "no PII key"),
        "new_nip_in_use" => ("nomor baru sudah aktif", "new number in use"),
        "renumber_mismatch" => (
            "data lahir nomor baru berbeda",
            "new number's birth data differs",
        ),
        "unavailable" => ("layanan tidak tersedia", "service unavailable"),
        "invalid_email" => ("email tidak valid", "invalid e-mail"),
        "invalid_nip" => ("NIP tidak valid", "invalid NIP"),
        "unknown_nip" => ("NIP tidak terdaftar", "unknown NIP"),
        "concurrent_change" => ("diubah bersamaan", "concurrent change"),
        "invalid_request" => ("permintaan tidak valid", "invalid request"),
        "unregistered" => ("petugas tidak terdaftar", "officer not registered"),
        "deactivated" => ("petugas nonaktif", "officer deactivated"),
        "out_of_scope" => ("di luar instansi petugas", "outside the officer's agency"),
        other => return other.to_owned(),
    };
    l.pick(id, en).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_in_both_languages_and_unknown_ones_pass_through() {
        assert_eq!(action("email_change", Lang::Id), "ganti email");
        assert_eq!(outcome("refused", Lang::En), "refused");
        assert_eq!(reason("nik_mismatch", Lang::Id), "NIK tidak cocok");
        assert_eq!(action("something_new", Lang::Id), "something_new");
    }

    /// Every refusal code the core can record has its text here (one place for both).
    #[test]
    fn every_refusal_code_of_the_core_reads_in_indonesian() {
        use crate::staff::{CheckFailure, Forbidden, StaffError};
        let checks = [
            CheckFailure::NoNik,
            CheckFailure::InvalidNik,
            CheckFailure::NikMismatch(vec![]),
            CheckFailure::InvalidDocument,
            CheckFailure::NoKtp,
            CheckFailure::NotConfirmed,
            CheckFailure::SameEmail,
            CheckFailure::EmailInUse(vec![]),
            CheckFailure::ExceptionNotNeeded,
            CheckFailure::NoExceptionReason,
            CheckFailure::NoEvidence,
            CheckFailure::NoPendingException,
            CheckFailure::SameOfficer,
        ];
        let staff = [
            StaffError::InvalidNip(crate::nip::NipError::Length(3)),
            StaffError::InvalidEmail(crate::email::EmailError::Invalid),
            StaffError::InvalidName("x"),
            StaffError::UnknownNip,
            StaffError::EmailNeedsCounter,
            StaffError::Conflict,
            StaffError::SameNip,
            StaffError::NoPiiKey,
            StaffError::Forbidden(Forbidden::Unregistered),
            StaffError::Forbidden(Forbidden::Deactivated),
            StaffError::Forbidden(Forbidden::OutOfScope),
            StaffError::NewNipInUse,
            StaffError::RenumberMismatch,
            StaffError::Store(crate::ports::StoreError::Unavailable("x".into())),
        ];
        let codes = checks
            .iter()
            .map(|c| c.reason())
            .chain(staff.iter().map(|s| s.reason()))
            .chain(["invalid_request"]);
        for code in codes {
            assert_ne!(reason(code, Lang::Id), code, "{code} has no text");
            assert_ne!(reason(code, Lang::En), code, "{code} has no text");
        }
    }
}
