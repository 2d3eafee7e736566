//! What the service holds about a person, for that person (UU PDP 27/2022 art. 32: the data
//! subject's right of access, answered within 3 × 24 hours of the request): a plain text to
//! print or hand over at the counter, in Indonesian (English on request). Audit records
//! about the person are listed with the office that acted, never the officer.

use super::{EmployeeOverview, Operator, StaffError};
use crate::domain::nip::Gender;
use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome};
use crate::text::i18n::Lang;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::fmt::Write;

/// Audit records an export lists at most (the newest).
pub const EXPORT_AUDIT_LIMIT: usize = 500;

impl Staff<'_> {
    /// The export for `nip_raw` in `lang`, recorded in the person's trail.
    pub async fn subject_access_export(
        self,
        nip_raw: &str,
        op: &Operator,
        lang: Lang,
    ) -> Result<String, StaffError> {
        let o = self
            .employee_overview(nip_raw, op, EXPORT_AUDIT_LIMIT)
            .await?;
        let now = self.now();
        let text = render(&o, now, lang);
        self.staff_audit(self.staff_event(
            op,
            Some(&o.nip),
            Action::SubjectAccessExport,
            Outcome::Done,
            json!({ "records": o.recent_audit.len() }),
        ))
        .await?;
        Ok(text)
    }
}

fn when(t: Option<DateTime<Utc>>, lang: Lang) -> String {
    match t {
        Some(t) => t
            .with_timezone(&crate::text::i18n::wib())
            .format("%Y-%m-%d %H:%M WIB")
            .to_string(),
        None => lang.pick("-", "-").to_owned(),
    }
}

/// The export's text.
pub fn render(o: &EmployeeOverview, now: DateTime<Utc>, lang: Lang) -> String {
    let p = |id: &'static str, en: &'static str| lang.pick(id, en);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}\n{}: {}\n",
        p(
            "DATA PRIBADI YANG DISIMPAN LAYANAN SAPK (pemulihan akun dan login)",
            "PERSONAL DATA HELD BY THE SAPK SERVICE (account recovery and login)"
        ),
        p("Dibuat", "Made"),
        when(Some(now), lang)
    );
    for (k, v) in facts(o, lang) {
        let _ = writeln!(s, "{k}: {v}");
    }
    let _ = writeln!(
        s,
        "\n{}\n{}",
        p(
            "Yang TIDAK disimpan dalam bentuk yang bisa dibaca: password (hanya hash argon2id), kode reset dan token sesi (hanya hash berkunci), kunci authenticator (terenkripsi), NIK dan nomor dokumen yang dilihat petugas (hanya hash berkunci dan beberapa digit terakhir).",
            "NOT kept in readable form: the password (an argon2id hash only), reset codes and session tokens (keyed hashes only), the authenticator key (encrypted), the NIK and document numbers an officer saw (keyed hashes and last digits only)."
        ),
        p(
            "\nRIWAYAT KEAMANAN (terbaru dulu; kantor yang bertindak disebut, nama petugas tidak):",
            "\nSECURITY HISTORY (newest first; the office that acted is named, the officer is not):"
        )
    );
    s.push_str(&history(o, lang));
    let _ = writeln!(
        s,
        "\n{}",
        p(
            "Permintaan ini dicatat. Untuk memperbaiki data (nama, instansi) hubungi unit kepegawaian instansi Anda; untuk email, datang ke loket dengan KTP. Hak Anda: UU 27/2022 tentang Pelindungan Data Pribadi, pasal 32.",
            "This request is recorded. To correct your data (name, agency) contact your agency's HR unit; for the e-mail, come to a counter with your KTP. Your right: Law 27/2022 on Personal Data Protection, article 32."
        )
    );
    s
}

/// The facts, one line each.
fn facts(o: &EmployeeOverview, lang: Lang) -> Vec<(&'static str, String)> {
    let p = |id: &'static str, en: &'static str| lang.pick(id, en);
    let gender = match o.facts.gender {
        Gender::Male => p("laki-laki", "male"),
        Gender::Female => p("perempuan", "female"),
    };
    let dash = || "-".to_owned();
    vec![
        (p("NIP", "NIP"), o.nip.as_str().to_owned()),
        (p("Nama", "Name"), o.name.clone()),
        (
            p("Tanggal lahir (dari NIP)", "Birth date (from the NIP)"),
            o.facts.birth_date.format("%Y-%m-%d").to_string(),
        ),
        (
            p("Jenis kelamin (dari NIP)", "Gender (from the NIP)"),
            gender.to_owned(),
        ),
        (
            p("Pengangkatan (dari NIP)", "Appointment (from the NIP)"),
            o.facts.appointment_text(lang),
        ),
        (
            p("Instansi", "Agency"),
            o.instansi.clone().unwrap_or_else(dash),
        ),
        (
            p("Email", "E-mail"),
            o.email
                .as_ref()
                .map_or_else(dash, |e| e.as_str().to_owned()),
        ),
        (
            p(
                "Email diverifikasi di loket",
                "E-mail verified at a counter",
            ),
            when(o.email_verified_at, lang),
        ),
        (
            p("Status email terakhir", "Last e-mail status"),
            o.mail_status
                .as_ref()
                .map_or_else(dash, |m| m.text(lang, Default::default())),
        ),
        (
            p("Status akun", "Account state"),
            o.state.text(lang).to_owned(),
        ),
        (
            p("Password terakhir diganti", "Password last changed"),
            when(o.password_changed_at, lang),
        ),
        (
            p("Verifikasi dua langkah", "Two-step login"),
            if o.second_factor {
                p("ya", "yes")
            } else {
                p("tidak", "no")
            }
            .to_owned(),
        ),
        (
            p("Login gagal berturut-turut", "Failed logins in a row"),
            o.login_failures.to_string(),
        ),
        (
            p("Login dikunci sampai", "Login locked until"),
            when(o.locked_until, lang),
        ),
        (
            p("Kode reset aktif", "Active reset code"),
            o.active_code.as_ref().map_or_else(dash, |c| {
                format!(
                    "{} {}",
                    p("berlaku sampai", "valid until"),
                    when(Some(c.expires_at), lang)
                )
            }),
        ),
    ]
}

/// The security history: when, what, the outcome, who (the person, an office, the system),
/// from which network.
fn history(o: &EmployeeOverview, lang: Lang) -> String {
    let p = |id: &'static str, en: &'static str| lang.pick(id, en);
    let mut s = String::new();
    for e in &o.recent_audit {
        let source = e
            .source_ip
            .as_deref()
            .map_or_else(|| "-".to_owned(), crate::text::i18n::coarse_source);
        // What came through the public site came from whoever had the NIP (the person, or
        // someone trying it); an office's action names the office, never the officer.
        let office = if e.actor == "self" {
            p("lewat situs/aplikasi", "through the site or app").to_owned()
        } else {
            e.office
                .clone()
                .unwrap_or_else(|| p("sistem", "system").to_owned())
        };
        let _ = writeln!(
            s,
            "- {}  {}: {} ({}; {})",
            when(Some(e.at), lang),
            crate::text::audit_text::action(&e.action, lang),
            crate::text::audit_text::outcome(&e.outcome, lang),
            office,
            source
        );
    }
    if o.recent_audit.is_empty() {
        s.push_str("-\n");
    }
    s
}
