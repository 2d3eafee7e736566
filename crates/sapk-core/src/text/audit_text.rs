//! The codes of audit records, as enums owned by the core, each with what an officer reads
//! for it in Indonesian and English, in one place: the action (`email_change`, "ganti
//! email"), the outcome (`refused`, "ditolak") and the refusal reason (`nik_mismatch`, "NIK
//! tidak cocok"). Records keep the stable codes (text); a code without an entry here (an
//! older or newer one) is shown as it is.

use crate::text::i18n::Lang;

/// An enum of stable codes with their texts.
macro_rules! codes {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal => ($id:literal, $en:literal),)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)* }

        impl $name {
            /// Every value, in the order of the table.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable code kept in records and answers.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)* }
            }

            /// What an officer reads.
            pub fn text(self, l: Lang) -> &'static str {
                match self { $($name::$variant => l.pick($id, $en),)* }
            }

            /// The value of a stored code, if it is one of ours.
            pub fn parse(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

codes!(
    /// What an audit record is about.
    Action {
        CodeRequested = "code_requested" => ("minta kode reset", "reset code requested"),
        Reset = "reset" => ("buat password baru", "password reset"),
        Login = "login" => ("masuk", "login"),
        PasswordChange = "password_change" => ("ganti password", "password change"),
        Logout = "logout" => ("keluar", "logout"),
        ForgotRateLimited = "forgot_rate_limited" => ("batas permintaan kode", "code request limit"),
        ResetRateLimited = "reset_rate_limited" => ("batas reset", "reset limit"),
        LoginRateLimited = "login_rate_limited" => ("batas masuk", "login limit"),
        EmployeeViewed = "employee_viewed" => ("data pegawai dilihat", "employee looked up"),
        EmployeeImported = "employee_imported" => ("impor pegawai", "employee import"),
        EmployeeImportRun = "employee_import_run" => ("impor (satu kali jalan)", "import run"),
        SharedAddressesListed = "shared_addresses_listed" => ("daftar email yang dipakai bersama", "shared addresses listed"),
        SubjectAccessExport = "subject_access_export" => ("ekspor data pribadi untuk pemiliknya", "subject access export"),
        EmailChange = "email_change" => ("ganti email", "e-mail change"),
        EmailExceptionRequest = "email_exception_request" => ("ajukan pengecualian email", "e-mail exception request"),
        EmailExceptionViewed = "email_exception_viewed" => ("pengajuan pengecualian dilihat", "e-mail exception request read"),
        EmailExceptionApprove = "email_exception_approve" => ("setujui pengecualian email", "e-mail exception approval"),
        EmailExceptionReject = "email_exception_reject" => ("tolak pengecualian email", "e-mail exception turned down"),
        AccountUnlock = "account_unlock" => ("buka kunci login", "login unlock"),
        SessionRevoke = "session_revoke" => ("akhiri sesi", "sessions ended"),
        AuditViewed = "audit_viewed" => ("riwayat dilihat", "trail viewed"),
        AuditVerified = "audit_verified" => ("keutuhan riwayat diperiksa", "trail integrity checked"),
        AccountRenumber = "account_renumber" => ("ganti nomor (NIP)", "renumbering"),
        StaffRequest = "staff_request" => ("permintaan petugas", "staff request"),
        AuditCheckpoint = "audit_checkpoint" => ("titik periksa audit", "audit checkpoint"),
        MailStatus = "mail_status" => ("status email", "mail status"),
        StaffRegistry = "staff_registry" => ("registri petugas", "staff registry"),
        SecondFactorEnrol = "second_factor_enrol" => ("pasang verifikasi dua langkah", "two-step login set-up"),
        LoginSecondStep = "login_second_step" => ("masuk, langkah kedua (kode authenticator)", "login, second step (authenticator code)"),
        RecoveryCodesRenew = "recovery_codes_renew" => ("buat ulang kode pemulihan", "recovery codes renewed"),
        SecondFactorRemove = "second_factor_remove" => ("hapus verifikasi dua langkah", "two-step login removal"),
        PasskeyAdd = "passkey_add" => ("tambah passkey", "passkey added"),
        PasskeyRemove = "passkey_remove" => ("hapus passkey", "passkey removed"),
        PasskeyLogin = "passkey_login" => ("masuk dengan passkey", "login with a passkey"),
    }
);

/// The text of a stored action code (`code_requested` → "minta kode reset"); an unknown one as it is.
pub fn action(code: &str, l: Lang) -> String {
    Action::parse(code).map_or_else(|| code.to_owned(), |x| x.text(l).to_owned())
}

codes!(
    /// How it ended.
    Outcome {
        Sent = "sent" => ("terkirim", "sent"),
        Queued = "queued" => ("diantrekan", "queued"),
        Problem = "problem" => ("bermasalah", "problem"),
        MailFailed = "mail_failed" => ("email gagal", "mail failed"),
        NoEmail = "no_email" => ("tanpa email", "no e-mail"),
        UnknownNip = "unknown_nip" => ("NIP tidak terdaftar", "unknown NIP"),
        Cooldown = "cooldown" => ("tunggu dulu", "cooldown"),
        Succeeded = "succeeded" => ("berhasil", "succeeded"),
        Failed = "failed" => ("gagal", "failed"),
        Throttled = "throttled" => ("terkunci", "locked out"),
        Refused = "refused" => ("ditolak", "refused"),
        Changed = "changed" => ("diubah", "changed"),
        ExceptionApproved = "exception_approved" => ("diubah (pengecualian disetujui)", "changed (exception approved)"),
        Requested = "requested" => ("diajukan", "requested"),
        Rejected = "rejected" => ("ditolak petugas kedua", "turned down"),
        Created = "created" => ("dibuat", "created"),
        Updated = "updated" => ("diperbarui", "updated"),
        KeptCounterEmail = "kept_counter_email" => ("email loket dipertahankan", "counter e-mail kept"),
        Done = "done" => ("selesai", "done"),
        Ok = "ok" => ("berhasil", "ok"),
        Intact = "intact" => ("utuh", "intact"),
        Broken = "broken" => ("TIDAK UTUH", "NOT INTACT"),
        MovedOut = "moved_out" => ("dipindah keluar", "moved out"),
        MovedIn = "moved_in" => ("dipindah masuk", "moved in"),
        MergedIn = "merged_in" => ("digabung masuk", "merged in"),
        Registered = "registered" => ("didaftarkan", "registered"),
        Deactivated = "deactivated" => ("dinonaktifkan", "deactivated"),
        Started = "started" => ("dimulai", "started"),
        SecondStep = "second_step" => ("password benar, menunggu langkah kedua", "password correct, waiting for the second step"),
        RecoveryCodeUsed = "recovery_code_used" => ("berhasil dengan kode pemulihan", "succeeded with a recovery code"),
    }
);

/// The text of a stored outcome code (`sent` → "terkirim"); an unknown one as it is.
pub fn outcome(code: &str, l: Lang) -> String {
    Outcome::parse(code).map_or_else(|| code.to_owned(), |x| x.text(l).to_owned())
}

codes!(
    /// Why a request was refused: the codes of the core's refusals (`CheckFailure::reason`,
    /// `StaffError::reason`) and of the API's.
    Reason {
        NoNik = "no_nik" => ("NIK tidak diisi", "no NIK"),
        InvalidNik = "invalid_nik" => ("NIK tidak valid", "invalid NIK"),
        NikMismatch = "nik_mismatch" => ("NIK tidak cocok", "NIK mismatch"),
        InvalidDocument = "invalid_document" => ("dokumen tidak dikenal", "unknown document"),
        NoKtp = "no_ktp" => ("KTP tidak diperiksa", "KTP not checked"),
        NotConfirmed = "not_confirmed" => ("tidak dikonfirmasi", "not confirmed"),
        SameEmail = "same_email" => ("email sama", "same e-mail"),
        EmailInUse = "email_in_use" => ("email dipakai pegawai lain", "e-mail used by others"),
        ExceptionNotNeeded = "exception_not_needed" => ("NIK cocok, tak perlu pengecualian", "NIK matches, no exception needed"),
        NoExceptionReason = "no_exception_reason" => ("alasan pengecualian kosong", "no exception reason"),
        NoEvidence = "no_evidence" => ("tanpa bukti selain KTP", "no evidence besides the KTP"),
        NoPendingException = "no_pending_exception" => ("tak ada pengajuan", "no pending request"),
        SameOfficer = "same_officer" => ("petugas yang sama", "same officer"),
        InvalidName = "invalid_name" => ("nama tidak valid", "invalid name"),
        EmailNeedsCounter = "email_needs_counter" => ("email hanya lewat loket", "e-mail only at the counter"),
        SameNip = "same_nip" => ("nomor sama", "same number"),
        OfficerIdInUse = "officer_id_in_use" => ("ID petugas sudah dipakai identitas lain", "officer ID in use by another identity"),
        NoPiiKey = "no_pii_key" => ("kunci data pribadi belum diatur", "no PII key"),
        NewNipInUse = "new_nip_in_use" => ("nomor baru sudah aktif", "new number in use"),
        FactsDiffer = "facts_differ" => ("data lahir nomor baru berbeda", "new number's birth data differs"),
        NewNipActive = "new_nip_active" => ("nomor baru sudah aktif", "new number already active"),
        RenumberMismatch = "renumber_mismatch" => ("data lahir nomor baru berbeda", "new number's birth data differs"),
        Unavailable = "unavailable" => ("layanan tidak tersedia", "service unavailable"),
        InvalidEmail = "invalid_email" => ("email tidak valid", "invalid e-mail"),
        InvalidNip = "invalid_nip" => ("NIP tidak valid", "invalid NIP"),
        UnknownNip = "unknown_nip" => ("NIP tidak terdaftar", "unknown NIP"),
        ConcurrentChange = "concurrent_change" => ("diubah bersamaan", "concurrent change"),
        InvalidRequest = "invalid_request" => ("permintaan tidak valid", "invalid request"),
        PayloadTooLarge = "payload_too_large" => ("permintaan terlalu besar", "request too large"),
        UnknownRoute = "unknown_route" => ("alamat tidak dikenal", "unknown route"),
        Unregistered = "unregistered" => ("petugas tidak terdaftar", "officer not registered"),
        Deactivated = "deactivated" => ("petugas nonaktif", "officer deactivated"),
        OutOfScope = "out_of_scope" => ("di luar instansi petugas", "outside the officer's agency"),
        NoSecondFactor = "no_second_factor" => ("verifikasi dua langkah tidak aktif", "no two-step login"),
        NoPasskey = "no_passkey" => ("tidak ada passkey itu", "no such passkey"),
    }
);

/// The text of a stored reason code (`no_nik` → "NIK tidak diisi"); an unknown one as it is.
pub fn reason(code: &str, l: Lang) -> String {
    Reason::parse(code).map_or_else(|| code.to_owned(), |x| x.text(l).to_owned())
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
            CheckFailure::EmailInUse(Default::default()),
            CheckFailure::ExceptionNotNeeded,
            CheckFailure::NoExceptionReason,
            CheckFailure::NoEvidence,
            CheckFailure::NoPendingException,
            CheckFailure::SameOfficer,
        ];
        let staff = [
            StaffError::InvalidNip(crate::domain::nip::NipError::Length(3)),
            StaffError::InvalidEmail(crate::domain::email::EmailError::Invalid),
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
            StaffError::NoSecondFactor,
            StaffError::NoPasskey,
            StaffError::OfficerIdInUse("arn".into()),
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
