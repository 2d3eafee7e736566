//! The e-mails this service sends, as text and HTML, in Indonesian or English, and their
//! delivery by the mail pipeline ([`deliver`]).

pub mod deliver;

use crate::domain::code::ResetCode;
use crate::domain::email::Email;
use crate::ports::{EmailKind, OutgoingEmail};
use crate::text::i18n::{format_all_zones, help_line, Lang, HELP_URL};
use askama::Template;
use chrono::{DateTime, Utc};

/// The sender where none is configured (the local server, a tool on the stand-ins).
pub const DEFAULT_MAIL_FROM: &str = "SAPK BKN <no-reply@sapk.localhost>";

#[derive(Template)]
#[template(path = "reset_code.txt")]
struct ResetCodeText<'a> {
    en: bool,
    /// Other accounts have the address too (from before one e-mail per ASN): said.
    shared: bool,
    name: &'a str,
    code: &'a str,
    expires: &'a str,
    minutes: i64,
    help: &'a str,
    url: &'a str,
    product: &'a str,
    page: &'a str,
}

#[derive(Template)]
#[template(path = "reset_code.html")]
struct ResetCodeHtml<'a> {
    en: bool,
    /// Other accounts have the address too (from before one e-mail per ASN): said.
    shared: bool,
    name: &'a str,
    code: &'a str,
    expires: &'a str,
    minutes: i64,
    help: &'a str,
    url: &'a str,
    product: &'a str,
    page: &'a str,
}

#[derive(Template)]
#[template(path = "notice.txt")]
struct NoticeText<'a> {
    en: bool,
    name: &'a str,
    paragraphs: &'a [String],
    phone: &'a str,
    email: &'a str,
    url: &'a str,
    product: &'a str,
    page: &'a str,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticeHtml<'a> {
    en: bool,
    title: &'a str,
    name: &'a str,
    paragraphs: &'a [String],
    phone: &'a str,
    email: &'a str,
    url: &'a str,
    product: &'a str,
    page: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[error("e-mail template failed: {0}")]
pub struct TemplateError(String);

fn render<T: Template>(t: &T) -> Result<String, TemplateError> {
    t.render().map_err(|e| TemplateError(e.to_string()))
}

/// The reset code's e-mail; with `shared`, it says that the address is also another
/// account's and how to get one's own.
pub fn reset_code_email(
    to: &Email,
    name: &str,
    code: &ResetCode,
    expires_at: DateTime<Utc>,
    ttl_minutes: i64,
    lang: Lang,
    shared: bool,
) -> Result<OutgoingEmail, TemplateError> {
    let en = lang == Lang::En;
    let help = help_line(lang);
    let shown = code.display();
    let expires = format_all_zones(expires_at, lang);
    let contacts = crate::text::i18n::HelpContacts::current();
    let page = contacts.page_url.as_deref().unwrap_or_default();
    let text = render(&ResetCodeText {
        en,
        shared,
        name,
        code: &shown,
        expires: &expires,
        minutes: ttl_minutes,
        help: &help,
        url: HELP_URL,
        product: &contacts.product,
        page,
    })?;
    let html = render(&ResetCodeHtml {
        en,
        shared,
        name,
        code: &shown,
        expires: &expires,
        minutes: ttl_minutes,
        help: &help,
        url: HELP_URL,
        product: &contacts.product,
        page,
    })?;
    Ok(OutgoingEmail {
        kind: EmailKind::ResetCode,
        to: to.clone(),
        subject: lang
            .pick("Kode reset password SAPK", "SAPK password reset code")
            .to_owned(),
        text,
        html,
        lang,
        guard: None,
    })
}

fn notice(
    kind: EmailKind,
    to: &Email,
    name: &str,
    subject: &str,
    paragraphs: Vec<String>,
    lang: Lang,
) -> Result<OutgoingEmail, TemplateError> {
    let en = lang == Lang::En;
    let contacts = crate::text::i18n::HelpContacts::current();
    let page = contacts.page_url.as_deref().unwrap_or_default();
    let text = render(&NoticeText {
        en,
        name,
        paragraphs: &paragraphs,
        phone: &contacts.phone,
        email: &contacts.email,
        url: HELP_URL,
        product: &contacts.product,
        page,
    })?;
    let html = render(&NoticeHtml {
        en,
        title: subject,
        name,
        paragraphs: &paragraphs,
        phone: &contacts.phone,
        email: &contacts.email,
        url: HELP_URL,
        product: &contacts.product,
        page,
    })?;
    Ok(OutgoingEmail {
        kind,
        to: to.clone(),
        subject: subject.to_owned(),
        text,
        html,
        lang,
        guard: None,
    })
}

pub fn password_changed_email(
    to: &Email,
    name: &str,
    at: DateTime<Utc>,
    lang: Lang,
) -> Result<OutgoingEmail, TemplateError> {
    let when = format_all_zones(at, lang);
    let body = match lang {
        Lang::Id => format!("Password akun SAPK Anda telah diganti pada {when}. Semua sesi login sebelumnya telah diakhiri."),
        Lang::En => format!("The password of your SAPK account was changed on {when}. Every earlier login session has been ended."),
    };
    notice(
        EmailKind::PasswordChanged,
        to,
        name,
        lang.pick(
            "Password SAPK Anda telah diganti",
            "Your SAPK password was changed",
        ),
        vec![body],
        lang,
    )
}

/// Who changed an account's e-mail, for the notice to the old address.
#[derive(Debug, Clone, Copy)]
pub enum ChangedBy<'a> {
    /// Staff at this office (its name as a person reads it: `Operator::office_label`),
    /// after checking identity in person.
    Office(&'a str),
    /// An employee import (the agency's HR data), for an account not yet activated.
    Import,
}

/// To the old address after the e-mail changed.
pub fn email_changed_old_email(
    to: &Email,
    name: &str,
    new_masked: &str,
    by: ChangedBy<'_>,
    at: DateTime<Utc>,
    lang: Lang,
) -> Result<OutgoingEmail, TemplateError> {
    let when = format_all_zones(at, lang);
    let body = match (lang, by) {
        (Lang::Id, ChangedBy::Office(office)) => format!("Pada {when}, petugas {} mengganti email akun SAPK Anda menjadi {new_masked} setelah memeriksa identitas Anda secara langsung. Email ini tidak akan lagi menerima kode reset password.", office),
        (Lang::En, ChangedBy::Office(office)) => format!("On {when}, staff at {} changed the e-mail of your SAPK account to {new_masked} after checking your identity in person. This address will no longer receive password reset codes.", office),
        (Lang::Id, ChangedBy::Import) => format!("Pada {when}, data kepegawaian dari instansi Anda mengganti email akun SAPK Anda menjadi {new_masked}. Alamat ini tidak akan lagi menerima kode reset password. Jika data itu keliru, hubungi unit kepegawaian (BKPSDM) instansi Anda."),
        (Lang::En, ChangedBy::Import) => format!("On {when}, the HR data of your agency changed the e-mail of your SAPK account to {new_masked}. This address will no longer receive password reset codes. If that data is wrong, contact your agency's HR unit (BKPSDM)."),
    };
    notice(
        EmailKind::EmailChangedOld,
        to,
        name,
        lang.pick(
            "Email akun SAPK Anda telah diganti",
            "The e-mail of your SAPK account was changed",
        ),
        vec![body],
        lang,
    )
}

/// To the new address after staff changed the e-mail at a BKN office (`office` as a person
/// reads it: `Operator::office_label`).
pub fn email_changed_new_email(
    to: &Email,
    name: &str,
    office: &str,
    at: DateTime<Utc>,
    lang: Lang,
) -> Result<OutgoingEmail, TemplateError> {
    let when = format_all_zones(at, lang);
    let product = crate::text::i18n::HelpContacts::current().product;
    let body = match lang {
        Lang::Id => format!("Pada {when}, petugas {office} mendaftarkan alamat ini sebagai email akun SAPK Anda. Untuk membuat password baru, pilih \"Lupa password\" di laman {product} dan masukkan NIP Anda: kode reset akan dikirim ke alamat ini."),
        Lang::En => format!("On {when}, staff at {office} registered this address as the e-mail of your SAPK account. To set a new password, choose \"Forgot password\" on the {product} page and enter your NIP: the reset code will be sent here."),
    };
    notice(
        EmailKind::EmailChangedNew,
        to,
        name,
        lang.pick(
            "Email akun SAPK Anda telah diperbarui",
            "Your SAPK account e-mail was updated",
        ),
        vec![body],
        lang,
    )
}

/// To the account's e-mail after its number changed (new NI PPPK, PPPK to PNS, correction).
pub fn nip_changed_email(
    to: &Email,
    name: &str,
    old: &crate::domain::nip::Nip,
    new: &crate::domain::nip::Nip,
    at: DateTime<Utc>,
    lang: Lang,
) -> Result<OutgoingEmail, TemplateError> {
    let when = format_all_zones(at, lang);
    let (old, new) = (old.grouped(), new.grouped());
    let body = match lang {
        Lang::Id => format!("Pada {when}, akun SAPK Anda dipindahkan dari nomor {old} ke nomor baru {new}. Password dan email Anda tetap sama; mulai sekarang masuk dengan nomor baru. Semua sesi login dan kode reset dengan nomor lama telah diakhiri."),
        Lang::En => format!("On {when}, your SAPK account was moved from number {old} to the new number {new}. Your password and e-mail stay the same; from now on sign in with the new number. Every login session and reset code of the old number has ended."),
    };
    notice(
        EmailKind::NipChanged,
        to,
        name,
        lang.pick(
            "Nomor akun SAPK Anda telah berubah",
            "Your SAPK account number has changed",
        ),
        vec![body],
        lang,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_email_in_both_languages_escapes_html() {
        let to = Email::parse("budi@example.go.id").unwrap();
        let code = ResetCode::parse("AB12CD34").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-11-27T09:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = reset_code_email(&to, "Budi <Santoso>", &code, at, 15, Lang::Id, false).unwrap();
        assert!(id.text.contains("AB12-CD34"));
        assert!(!id.text.contains("juga tercatat untuk akun pegawai lain"));
        let shared = reset_code_email(&to, "Budi", &code, at, 15, Lang::Id, true).unwrap();
        for part in [&shared.text, &shared.html] {
            assert!(
                part.contains("juga tercatat untuk akun pegawai lain"),
                "{part}"
            );
        }
        assert!(id
            .text
            .contains("27 November 2026 pukul 16.05 WIB / 17.05 WITA / 18.05 WIT"));
        assert!(id.text.contains("Jika Anda tidak meminta"));
        assert!(id.text.contains("021-8093008"));
        assert!(id.text.contains("BKPSDM") && id.text.contains("humasbknri@gmail.com"));
        assert!(
            !id.text.contains("Call Center"),
            "a general line, not a call centre"
        );
        assert!(
            id.html.contains("Budi &#60;Santoso&#62;") || id.html.contains("Budi &lt;Santoso&gt;"),
            "{}",
            id.html
        );
        assert!(id.html.contains("AB12-CD34"));
        let en = reset_code_email(&to, "Budi", &code, at, 15, Lang::En, false).unwrap();
        assert!(en.text.contains("If you did not ask for this"));
        assert_eq!(en.subject, "SAPK password reset code");
        assert!(!format!("{en:?}").contains("AB12"));
    }

    #[test]
    fn notices() {
        let to = Email::parse("budi@example.go.id").unwrap();
        let at = Utc::now();
        let m = email_changed_old_email(
            &to,
            "Budi",
            "bu***@baru.id",
            ChangedBy::Office("Kantor Regional I BKN Yogyakarta"),
            at,
            Lang::Id,
        )
        .unwrap();
        assert!(m.text.contains("bu***@baru.id") && m.text.contains("Jika ini bukan Anda"));
        assert!(
            m.text.contains("petugas Kantor Regional I BKN Yogyakarta"),
            "{}",
            m.text
        );
        let m = email_changed_new_email(&to, "Budi", "BKPSDM Kota Makassar", at, Lang::Id).unwrap();
        assert!(
            m.text.contains("petugas BKPSDM Kota Makassar"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("kantor BKN BKPSDM"), "{}", m.text);
        let m = password_changed_email(&to, "Budi", at, Lang::En).unwrap();
        assert!(m.html.contains("was changed"));
    }
}

/// To the account's address when a passkey was added (`added`) or removed: its name, and
/// what to do if it was not the owner.
pub fn passkey_email(
    to: &Email,
    name: &str,
    passkey: &str,
    added: bool,
    at: DateTime<Utc>,
    lang: Lang,
) -> Result<OutgoingEmail, TemplateError> {
    let when = format_all_zones(at, lang);
    let (subject, body) = match (added, lang) {
        (true, Lang::Id) => ("Passkey baru untuk akun SAPK Anda", format!("Pada {when}, passkey \"{passkey}\" ditambahkan ke akun SAPK Anda. Dengan passkey, Anda masuk memakai kunci layar ponsel atau laptop Anda (sidik jari, wajah atau PIN), tanpa password.")),
        (true, Lang::En) => ("A new passkey for your SAPK account", format!("On {when}, the passkey \"{passkey}\" was added to your SAPK account. With a passkey you sign in with your phone's or laptop's screen lock (fingerprint, face or PIN), without a password.")),
        (false, Lang::Id) => ("Passkey dihapus dari akun SAPK Anda", format!("Pada {when}, passkey \"{passkey}\" dihapus dari akun SAPK Anda dan tidak dapat dipakai lagi untuk masuk.")),
        (false, Lang::En) => ("A passkey was removed from your SAPK account", format!("On {when}, the passkey \"{passkey}\" was removed from your SAPK account and can no longer be used to sign in.")),
    };
    let not_you = lang.pick(
        "Jika bukan Anda yang melakukannya, segera masuk, hapus passkey yang tidak Anda kenal dan ganti password Anda, lalu hubungi kantor BKN atau unit kepegawaian instansi Anda.",
        "If this was not you, sign in at once, remove any passkey you do not know and change your password, then contact a BKN office or your agency's HR unit.",
    );
    notice(
        EmailKind::Passkey,
        to,
        name,
        subject,
        vec![body, not_you.to_owned()],
        lang,
    )
}

/// What happened to an account's second factor.
#[derive(Debug, Clone, Copy)]
pub enum FactorNotice<'a> {
    /// The owner set up an authenticator app.
    Enrolled,
    /// A recovery code was used to sign in; `left` remain.
    RecoveryCodeUsed { left: usize },
    /// The owner made new recovery codes (the old ones stopped working).
    RecoveryCodesRenewed,
    /// An office (named as a person reads it) removed the authenticator after checking the
    /// owner in person.
    RemovedAtCounter { office: &'a str },
    /// `wrong` wrong codes (within 30 days) followed right passwords: the authenticator's codes
    /// are refused until a recovery code or a counter visit.
    CodesCapped { wrong: usize },
    /// `wrong` wrong codes followed right passwords (half-way to the cap).
    WrongCodes { wrong: usize },
}

pub fn second_factor_email(
    to: &Email,
    name: &str,
    what: FactorNotice<'_>,
    at: DateTime<Utc>,
    lang: Lang,
) -> Result<OutgoingEmail, TemplateError> {
    let when = format_all_zones(at, lang);
    let not_you = lang.pick(
        "Jika bukan Anda yang melakukannya, segera ganti password Anda dan hubungi kantor BKN atau unit kepegawaian instansi Anda.",
        "If this was not you, change your password at once and contact a BKN office or your agency's HR unit.",
    );
    let (subject, body) = match (what, lang) {
        (FactorNotice::Enrolled, Lang::Id) => ("Verifikasi dua langkah SAPK telah aktif", format!("Pada {when}, verifikasi dua langkah (aplikasi authenticator) diaktifkan untuk akun SAPK Anda. Mulai sekarang, setelah password Anda juga akan diminta kode 6 digit dari aplikasi tersebut. Simpan kode pemulihan Anda di tempat aman.")),
        (FactorNotice::Enrolled, Lang::En) => ("SAPK two-step login is on", format!("On {when}, two-step login (an authenticator app) was turned on for your SAPK account. From now on, after your password you will also be asked for the 6-digit code from that app. Keep your recovery codes somewhere safe.")),
        (FactorNotice::RecoveryCodeUsed { left }, Lang::Id) => ("Kode pemulihan SAPK dipakai untuk masuk", format!("Pada {when}, satu kode pemulihan dipakai untuk masuk ke akun SAPK Anda. Sisa kode pemulihan: {left}. Jika aplikasi authenticator Anda hilang, datangi kantor BKN atau unit kepegawaian instansi Anda dengan membawa KTP.")),
        (FactorNotice::RecoveryCodeUsed { left }, Lang::En) => ("A SAPK recovery code was used to sign in", format!("On {when}, a recovery code was used to sign in to your SAPK account. Recovery codes left: {left}. If you lost your authenticator app, visit a BKN office or your agency's HR unit with your KTP.")),
        (FactorNotice::RecoveryCodesRenewed, Lang::Id) => ("Kode pemulihan SAPK telah dibuat ulang", format!("Pada {when}, kode pemulihan baru dibuat untuk akun SAPK Anda. Kode pemulihan yang lama tidak berlaku lagi.")),
        (FactorNotice::RecoveryCodesRenewed, Lang::En) => ("Your SAPK recovery codes were renewed", format!("On {when}, new recovery codes were made for your SAPK account. The old recovery codes no longer work.")),
        (FactorNotice::WrongCodes { wrong }, Lang::Id) => ("Kode verifikasi SAPK salah berkali-kali", format!("Sampai {when}, {wrong} kode verifikasi salah dimasukkan setelah password akun SAPK Anda yang benar. Jika itu bukan Anda, seseorang mengetahui password Anda: segera ganti password. Bila kode salah terus berlanjut, kode dari aplikasi authenticator akan diblokir sampai Anda masuk dengan kode pemulihan.")),
        (FactorNotice::WrongCodes { wrong }, Lang::En) => ("Wrong SAPK verification codes", format!("By {when}, {wrong} wrong verification codes were entered after the right password of your SAPK account. If that was not you, someone knows your password: change it at once. If wrong codes go on, codes from the authenticator app will be blocked until you sign in with a recovery code.")),
        (FactorNotice::CodesCapped { wrong }, Lang::Id) => ("Kode authenticator SAPK diblokir", format!("Sampai {when}, {wrong} kode verifikasi salah dimasukkan dalam 30 hari terakhir setelah password akun SAPK Anda yang benar. Artinya seseorang mungkin mengetahui password Anda. Kode dari aplikasi authenticator tidak diterima lagi sampai Anda masuk dengan kode pemulihan atau petugas kantor BKN atau unit kepegawaian instansi Anda membuka blokirnya. Segera ganti password Anda.")),
        (FactorNotice::CodesCapped { wrong }, Lang::En) => ("SAPK authenticator codes blocked", format!("By {when}, {wrong} wrong verification codes were entered in the last 30 days after the right password of your SAPK account. Someone may know your password. Codes from the authenticator app are no longer accepted until you sign in with a recovery code or staff at a BKN office or your agency's HR unit unblock it. Change your password at once.")),
        (FactorNotice::RemovedAtCounter { office }, Lang::Id) => ("Verifikasi dua langkah SAPK telah dihapus", format!("Pada {when}, petugas {office} menghapus verifikasi dua langkah akun SAPK Anda setelah memeriksa identitas Anda secara langsung. Semua sesi login telah diakhiri. Setelah masuk, pasang kembali aplikasi authenticator Anda.")),
        (FactorNotice::RemovedAtCounter { office }, Lang::En) => ("SAPK two-step login was removed", format!("On {when}, staff at {office} removed the two-step login of your SAPK account after checking your identity in person. Every login session has been ended. After signing in, set up your authenticator app again.")),
    };
    notice(
        EmailKind::SecondFactor,
        to,
        name,
        subject,
        vec![body, not_you.to_owned()],
        lang,
    )
}
