//! RFC 9457 problem details: every error of the public API, localised, in one place.

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use sapk_core::password::{GuessHint, Violation};
use sapk_core::{AuthError, Lang};
use serde_json::{json, Value};

/// Everything the API can answer with besides success.
#[derive(Debug)]
pub enum Problem {
    Auth(AuthError),
    /// Body not JSON, not an object, a field missing or of the wrong type.
    InvalidRequest {
        id: String,
        en: String,
    },
    PayloadTooLarge,
    /// A body that is not declared as JSON.
    UnsupportedMediaType,
    NotFound,
    MethodNotAllowed(&'static str),
    /// Behind CloudFront, a request that did not come through it (no valid origin header):
    /// the WAF's rules and limits are not optional.
    NotThroughEdge,
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        Problem::Auth(e)
    }
}

/// `GET /v1/password/policy`: every rule a new password must meet, with the code a refusal
/// names it by (`violations`) and the same words as the refusal, in `lang`.
pub(crate) fn policy_body(policy: &sapk_core::password::PasswordPolicy, lang: Lang) -> Value {
    let rules: Vec<Value> = [
        Violation::TooShort,
        Violation::TooLong,
        Violation::NoUppercase,
        Violation::NoDigit,
        Violation::TooGuessable,
        Violation::Breached,
    ]
    .into_iter()
    .map(|v| json!({ "code": v.code(), "text": violation_text(v, lang, policy.min_len) }))
    .collect();
    json!({
        "min_length": policy.min_len,
        "max_length": policy.max_len,
        "min_score": policy.min_score,
        "rules": rules,
        "message": lang.pick(
            "Password baru harus memenuhi semua aturan ini. Panjang dihitung dalam karakter; spasi boleh dipakai.",
            "A new password must meet every one of these rules. Length counts characters; spaces are allowed.",
        ),
    })
}

fn violation_text(v: Violation, lang: Lang, min_len: usize) -> String {
    match (v, lang) {
        (Violation::TooShort, Lang::Id) => format!("minimal {min_len} karakter"),
        (Violation::TooShort, Lang::En) => format!("at least {min_len} characters"),
        (Violation::TooLong, l) => l.pick("maksimal 128 karakter", "at most 128 characters").into(),
        (Violation::NoUppercase, l) => l.pick("minimal 1 huruf besar", "at least 1 uppercase letter").into(),
        (Violation::NoDigit, l) => l.pick("minimal 1 angka", "at least 1 digit").into(),
        (Violation::TooGuessable, l) => l
            .pick(
                "tidak mudah ditebak: jangan memakai nama, tanggal lahir, NIP, email, kata umum atau password umum; gunakan tiga atau empat kata yang tidak berhubungan ditambah angka, pilihan Anda sendiri (jangan menyalin contoh dari mana pun)",
                "not easy to guess: do not use your name, birth date, NIP, e-mail, common words or common passwords; use three or four unrelated words and a number of your own choosing (never copy an example from anywhere)",
            )
            .into(),
        (Violation::SameAsCurrent, l) => l
            .pick("berbeda dari password saat ini", "to differ from the current password")
            .into(),
        (Violation::Breached, l) => l
            .pick(
                "belum pernah muncul dalam kebocoran data: password yang pernah bocor adalah yang pertama dicoba penyerang, sekuat apa pun kelihatannya",
                "has not appeared in a data breach: leaked passwords are the first an attacker tries, however strong they look",
            )
            .into(),
    }
}

impl Problem {
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Auth(e) => e.code(),
            Problem::InvalidRequest { .. } => "invalid_request",
            Problem::PayloadTooLarge => "payload_too_large",
            Problem::UnsupportedMediaType => "unsupported_media_type",
            Problem::NotFound => "not_found",
            Problem::MethodNotAllowed(_) => "method_not_allowed",
            Problem::NotThroughEdge => "forbidden",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Problem::Auth(e) => match e {
                AuthError::InvalidNip(_)
                | AuthError::InvalidToken
                | AuthError::InvalidSecondFactor
                | AuthError::WrongSetupCode
                | AuthError::ClockOff { .. } => StatusCode::BAD_REQUEST,
                AuthError::WrongCurrentPassword => StatusCode::FORBIDDEN,
                AuthError::InvalidChallenge => StatusCode::UNAUTHORIZED,
                AuthError::AlreadyEnrolled | AuthError::NotEnrolled => StatusCode::CONFLICT,
                AuthError::PasskeysOff | AuthError::UnknownPasskey => StatusCode::NOT_FOUND,
                AuthError::InvalidPasskey => StatusCode::UNAUTHORIZED,
                AuthError::PasskeyRefused => StatusCode::BAD_REQUEST,
                AuthError::TooManyPasskeys => StatusCode::CONFLICT,
                AuthError::SecondFactorLocked => StatusCode::FORBIDDEN,
                AuthError::WeakPassword(..) => StatusCode::UNPROCESSABLE_ENTITY,
                AuthError::InvalidCredentials | AuthError::Unauthorized => StatusCode::UNAUTHORIZED,
                AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                AuthError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            },
            Problem::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
            Problem::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::NotFound => StatusCode::NOT_FOUND,
            Problem::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Problem::NotThroughEdge => StatusCode::FORBIDDEN,
        }
    }

    fn title_detail(&self, lang: Lang, min_len: usize) -> (&'static str, String) {
        let p = |id: &'static str, en: &'static str| lang.pick(id, en);
        match self {
            Problem::Auth(e) => auth_title_detail(e, lang, min_len),
            Problem::InvalidRequest { id, en } => (
                p("Permintaan tidak valid", "Invalid request"),
                match lang {
                    Lang::Id => id.clone(),
                    Lang::En => en.clone(),
                },
            ),
            Problem::PayloadTooLarge => (
                p("Permintaan terlalu besar", "Request too large"),
                p(
                    "Isi permintaan melebihi 16 KiB.",
                    "The request body exceeds 16 KiB.",
                )
                .into(),
            ),
            Problem::UnsupportedMediaType => (
                p("Jenis isi tidak didukung", "Unsupported media type"),
                p(
                    "Kirim isi permintaan sebagai JSON (Content-Type: application/json).",
                    "Send the request body as JSON (Content-Type: application/json).",
                )
                .into(),
            ),
            Problem::NotFound => (
                p("Tidak ditemukan", "Not found"),
                p("Alamat ini tidak ada.", "There is nothing at this address.").into(),
            ),
            Problem::MethodNotAllowed(allow) => (
                p("Metode tidak diizinkan", "Method not allowed"),
                match lang {
                    Lang::Id => format!("Gunakan metode {allow} untuk alamat ini."),
                    Lang::En => format!("Use {allow} for this address."),
                },
            ),
            Problem::NotThroughEdge => (
                p("Tidak diizinkan", "Forbidden"),
                p(
                    "Gunakan alamat layanan yang resmi.",
                    "Use the service's published address.",
                )
                .into(),
            ),
        }
    }

    /// The `application/problem+json` response.
    pub fn response(&self, lang: Lang, min_len: usize) -> Response<Body> {
        let (title, detail) = self.title_detail(lang, min_len);
        let mut extra = serde_json::Map::new();
        if let Problem::Auth(AuthError::WeakPassword(vs, hints)) = self {
            extra.insert(
                "violations".into(),
                Value::from(vs.iter().map(|v| v.code()).collect::<Vec<_>>()),
            );
            extra.insert(
                "guessable".into(),
                Value::from(hints.iter().map(|h| h.code()).collect::<Vec<_>>()),
            );
        }
        let header: Option<(header::HeaderName, String)> = match self {
            Problem::Auth(AuthError::RateLimited { retry_after_secs })
            | Problem::Auth(AuthError::Unavailable { retry_after_secs }) => {
                Some((header::RETRY_AFTER, retry_after_secs.to_string()))
            }
            Problem::MethodNotAllowed(allow) => Some((header::ALLOW, (*allow).to_owned())),
            Problem::Auth(AuthError::Unauthorized) => Some((
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"sapk\", error=\"invalid_token\"".to_owned(),
            )),
            Problem::Auth(AuthError::InvalidCredentials) => {
                Some((header::WWW_AUTHENTICATE, "Bearer realm=\"sapk\"".to_owned()))
            }
            _ => None,
        };
        problem_response(
            self.status(),
            self.code(),
            title,
            &detail,
            extra,
            header,
            lang,
        )
    }
}

/// The title and detail of a use case's refusal.
fn auth_title_detail(e: &AuthError, lang: Lang, min_len: usize) -> (&'static str, String) {
    let p = |id: &'static str, en: &'static str| lang.pick(id, en);
    match e {
        AuthError::InvalidNip(n) => (p("NIP tidak valid", "Invalid NIP"), n.text(lang)),
        AuthError::WeakPassword(vs, hints) => (
            p("Password terlalu lemah", "Password too weak"),
            weak_password_text(vs, hints, lang, min_len),
        ),
        AuthError::RateLimited { retry_after_secs } => (
            p("Terlalu banyak percobaan", "Too many attempts"),
            match lang {
                Lang::Id => format!(
                    "Terlalu banyak percobaan. Coba lagi dalam {} menit. Jika Anda lupa password, pilih Lupa password untuk membuat password baru dengan kode dari email.",
                    retry_after_secs.div_ceil(60)
                ),
                Lang::En => format!(
                    "Too many attempts. Try again in {} minute(s). If you forgot your password, choose Forgot password to set a new one with a code from your e-mail.",
                    retry_after_secs.div_ceil(60)
                ),
            },
        ),
        AuthError::ClockOff { offset_secs } => (
            p("Jam ponsel Anda tidak tepat", "Your phone's clock is off"),
            clock_off_text(*offset_secs, lang),
        ),
        AuthError::Unavailable { .. } => (
            p("Layanan sedang tidak tersedia", "Service unavailable"),
            format!(
                "{} {}",
                p(
                    "Layanan sedang sibuk atau dalam gangguan. Coba lagi sebentar lagi.",
                    "The service is busy or having trouble. Please try again shortly.",
                ),
                sapk_core::i18n::help_line(lang)
            ),
        ),
        fixed => {
            let ((ti, te), (di, de)) = fixed_text(fixed);
            (p(ti, te), p(di, de).into())
        }
    }
}

/// Every rule a new password breaks, in one sentence each: a breach first and plainly (it
/// may pass every other rule), then the rules, with what made it guessable named.
fn weak_password_text(vs: &[Violation], hints: &[GuessHint], lang: Lang, min_len: usize) -> String {
    let p = |id: &'static str, en: &'static str| lang.pick(id, en);
    let mut out = Vec::new();
    if vs.contains(&Violation::Breached) {
        out.push(p(
            "Password ini pernah muncul dalam kebocoran data (daftar password yang bocor dari berbagai layanan), jadi penyerang akan mencobanya lebih dulu; pilih password lain.",
            "This password appeared in a data breach (lists of passwords leaked from many services), so attackers try it first; choose another.",
        ).to_owned());
    }
    if vs.contains(&Violation::SameAsCurrent) {
        out.push(
            p(
                "Password baru sama dengan password saat ini; pilih password lain.",
                "The new password is the current one; choose another.",
            )
            .to_owned(),
        );
    }
    let list: Vec<String> = vs
        .iter()
        .filter(|v| !matches!(v, Violation::Breached | Violation::SameAsCurrent))
        .map(|v| match v {
            Violation::TooGuessable if !hints.is_empty() => guessable_text(hints, lang),
            other => violation_text(*other, lang, min_len),
        })
        .collect();
    if !list.is_empty() {
        let intro = p("Password baru harus", "The new password must have");
        let items: Vec<String> = list.iter().map(|i| format!("- {i}")).collect();
        out.push(format!("{intro}:\n{}", items.join("\n")));
    }
    out.join("\n")
}

/// "Not easy to guess" with what made it guessable.
fn guessable_text(hints: &[GuessHint], lang: Lang) -> String {
    let names: Vec<&str> = hints
        .iter()
        .map(|h| match h {
            GuessHint::Name => lang.pick("nama Anda", "your name"),
            GuessHint::BirthDate => lang.pick("tanggal lahir Anda", "your birth date"),
            GuessHint::Nip => lang.pick("NIP Anda", "your NIP"),
            GuessHint::Email => lang.pick("alamat email Anda", "your e-mail address"),
            GuessHint::CommonWord => {
                lang.pick("kata atau password yang umum", "a common word or password")
            }
            GuessHint::Pattern => lang.pick(
                "urutan atau pola papan ketik (123, abc, qwerty, huruf berulang)",
                "a sequence or keyboard pattern (123, abc, qwerty, repeated letters)",
            ),
        })
        .collect();
    match lang {
        Lang::Id => format!(
            "tidak mudah ditebak: password ini memuat {}. Gabungkan tiga atau empat kata yang tidak berhubungan dengan angka pilihan Anda sendiri",
            names.join(", ")
        ),
        Lang::En => format!(
            "to be hard to guess: this one contains {}. Join three or four unrelated words and a number of your own",
            names.join(", ")
        ),
    }
}

/// What a civil servant reads when the authenticator's code is that of a time a few minutes
/// ago (only a slow clock is said: `TotpSecret::clock_offset`): by how much the phone's clock
/// is behind, and how to set it right.
fn clock_off_text(offset_secs: i64, lang: Lang) -> String {
    let minutes = ((offset_secs.abs() + 30) / 60).max(1);
    match lang {
        Lang::Id => format!(
            "Kode ini milik waktu sekitar {minutes} menit lebih lambat dari sekarang, jadi tidak diterima: jam ponsel Anda terlambat sekitar {minutes} menit. Aktifkan \"Tanggal & waktu otomatis\" (Setelan › Sistem › Tanggal & waktu; di iPhone: Pengaturan › Umum › Tanggal & Waktu › Atur Otomatis), lalu masukkan kode yang tampil."
        ),
        Lang::En => format!(
            "This code belongs to a time about {minutes} minute(s) before now, so it is not accepted: your phone's clock is about {minutes} minute(s) slow. Turn on \"Automatic date & time\" (Settings › System › Date & time; on an iPhone: Settings › General › Date & Time › Set Automatically), then enter the code shown."
        ),
    }
}

/// (title, detail), each in Indonesian and English, of the refusals whose words never change.
type Texts = ((&'static str, &'static str), (&'static str, &'static str));

/// The words of a refused session and of the passkey refusals.
fn session_text(e: &AuthError) -> Texts {
    match e {
        AuthError::Unauthorized => (
            ("Sesi tidak valid", "Invalid session"),
            (
                "Sesi tidak ada atau sudah berakhir. Silakan login kembali.",
                "The session is missing or has ended. Please log in again.",
            ),
        ),
        AuthError::PasskeysOff => (
            ("Passkey tidak tersedia", "Passkeys are not available"),
            (
                "Masuk dengan passkey tidak tersedia di alamat ini. Masuk dengan NIP dan password.",
                "Signing in with a passkey is not available at this address. Sign in with your NIP and password.",
            ),
        ),
        AuthError::InvalidPasskey => (
            ("Passkey tidak diterima", "Passkey not accepted"),
            (
                "Masuk dengan passkey tidak berhasil: passkey ini tidak terdaftar (atau sudah dihapus), atau waktunya habis. Coba lagi, atau masuk dengan NIP dan password.",
                "Signing in with the passkey did not work: this passkey is not registered (or was removed), or the time ran out. Try again, or sign in with your NIP and password.",
            ),
        ),
        AuthError::PasskeyRefused => (
            ("Passkey tidak dapat ditambahkan", "The passkey could not be added"),
            (
                "Perangkat tidak membuat passkey yang dapat diterima (waktunya habis, atau perangkat ini sudah punya passkey untuk akun ini). Coba lagi dari awal.",
                "The device did not make an acceptable passkey (the time ran out, or this device already has a passkey for this account). Start again.",
            ),
        ),
        AuthError::TooManyPasskeys => (
            ("Passkey sudah terlalu banyak", "Too many passkeys"),
            (
                "Akun ini sudah punya 10 passkey. Hapus passkey yang tidak dipakai lagi, lalu tambahkan yang baru.",
                "This account has 10 passkeys already. Remove one you no longer use, then add the new one.",
            ),
        ),
        AuthError::UnknownPasskey => (
            ("Passkey tidak ditemukan", "Passkey not found"),
            (
                "Akun ini tidak punya passkey dengan ID itu (mungkin sudah dihapus).",
                "This account has no passkey with that ID (it may have been removed).",
            ),
        ),
        _ => (("", ""), ("", "")),
    }
}

fn fixed_text(e: &AuthError) -> Texts {
    match e {
        AuthError::InvalidToken => (
            ("Kode reset tidak valid", "Invalid reset code"),
            (
                "Kode salah, sudah kedaluwarsa, sudah dipakai, atau sudah diganti kode yang lebih baru. Periksa email terakhir dari SAPK atau minta kode baru.",
                "The code is wrong, expired, already used or replaced by a newer one. Check the latest e-mail from SAPK or ask for a new code.",
            ),
        ),
        AuthError::InvalidCredentials => (
            ("NIP atau password salah", "Wrong NIP or password"),
            (
                "NIP atau password salah. Jika lupa password, gunakan menu Lupa Password.",
                "Wrong NIP or password. If you forgot your password, use Forgot Password.",
            ),
        ),
        AuthError::WrongCurrentPassword => (
            ("Password saat ini salah", "Wrong current password"),
            (
                "Password saat ini yang Anda masukkan salah; tidak ada yang diubah. Jika Anda lupa, keluar lalu pilih Lupa password. Beberapa kali salah akan mengunci login sementara.",
                "The current password you entered is wrong; nothing was changed. If you forgot it, log out and choose Forgot password. Several wrong tries lock logins for a while.",
            ),
        ),
        AuthError::WrongSetupCode => (
            ("Kode pertama tidak cocok", "The first code does not match"),
            (
                "Kode ini tidak cocok dengan kunci yang baru dipasang. Pastikan akun yang baru ditambahkan di aplikasi authenticator yang Anda pakai, dan tanggal & waktu ponsel diatur otomatis, lalu masukkan kode 6 digit yang sedang tampil (kode berganti setiap 30 detik).",
                "This code does not match the key just added. Make sure you read the account just added in your authenticator app and that the phone's date & time are set automatically, then enter the 6-digit code shown now (it changes every 30 seconds).",
            ),
        ),
        AuthError::InvalidSecondFactor => (
            ("Kode verifikasi salah", "Wrong verification code"),
            (
                "Kode authenticator atau kode pemulihan salah atau sudah dipakai. Periksa jam ponsel Anda dan masukkan kode yang sedang tampil. Jika aplikasi authenticator hilang, pakai kode pemulihan atau datangi kantor BKN atau unit kepegawaian instansi Anda dengan membawa KTP.",
                "The authenticator or recovery code is wrong or was used already. Check your phone's clock and enter the code shown now. If you lost the authenticator app, use a recovery code or visit a BKN office or your agency's HR unit with your KTP.",
            ),
        ),
        AuthError::SecondFactorLocked => (
            ("Kode authenticator diblokir", "Authenticator codes blocked"),
            (
                "Terlalu banyak kode verifikasi salah dalam 30 hari terakhir, jadi kode dari aplikasi authenticator tidak diterima lagi untuk akun ini. Masuk dengan salah satu kode pemulihan Anda, atau datangi kantor BKN atau unit kepegawaian instansi Anda dengan membawa KTP. Seseorang mungkin mengetahui password Anda: setelah masuk, segera ganti password.",
                "Too many wrong verification codes in the last 30 days, so codes from the authenticator app are no longer accepted for this account. Sign in with one of your recovery codes, or visit a BKN office or your agency's HR unit with your KTP. Someone may know your password: change it as soon as you are signed in.",
            ),
        ),
        AuthError::InvalidChallenge => (
            ("Langkah login berakhir", "Login step expired"),
            (
                "Langkah kedua login sudah kedaluwarsa atau sudah dipakai. Silakan login lagi dengan NIP dan password.",
                "The second login step expired or was used already. Please log in again with your NIP and password.",
            ),
        ),
        AuthError::AlreadyEnrolled => (
            ("Verifikasi dua langkah sudah aktif", "Two-step login is already on"),
            (
                "Akun ini sudah memakai aplikasi authenticator. Untuk menggantinya karena ponsel hilang, datangi kantor BKN atau unit kepegawaian instansi Anda dengan membawa KTP.",
                "This account already uses an authenticator app. To replace a lost one, visit a BKN office or your agency's HR unit with your KTP.",
            ),
        ),
        AuthError::NotEnrolled => (
            ("Verifikasi dua langkah belum aktif", "Two-step login is not on"),
            (
                "Belum ada aplikasi authenticator yang terpasang (atau pemasangan lebih dari 10 menit lalu). Mulai lagi dari POST /v1/account/second-factor.",
                "No authenticator app is set up (or the set-up started more than 10 minutes ago). Start again with POST /v1/account/second-factor.",
            ),
        ),
        AuthError::PasskeysOff
        | AuthError::InvalidPasskey
        | AuthError::PasskeyRefused
        | AuthError::TooManyPasskeys
        | AuthError::UnknownPasskey
        | AuthError::Unauthorized => session_text(e),
        // The refusals with words of their own are answered by `auth_title_detail`.
        AuthError::InvalidNip(_)
        | AuthError::WeakPassword(..)
        | AuthError::RateLimited { .. }
        | AuthError::ClockOff { .. }
        | AuthError::Unavailable { .. } => (("", ""), ("", "")),
    }
}

/// An RFC 9457 `application/problem+json` answer: `type`, `title`, `status`, `detail` and
/// the stable `code`, plus `extra` members and at most one extra header. Every problem of
/// the public and the staff API is built here.
pub(crate) fn problem_response(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: &str,
    extra: serde_json::Map<String, Value>,
    header: Option<(header::HeaderName, String)>,
    lang: Lang,
) -> Response<Body> {
    let mut body = json!({
        "type": format!("urn:sapk:problem:{code}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
    });
    for (k, v) in extra {
        body[k] = v;
    }
    let mut builder = crate::base_response(status, lang).header(
        header::CONTENT_TYPE,
        "application/problem+json; charset=utf-8",
    );
    if let Some((name, value)) = header {
        builder = builder.header(name, value);
    }
    crate::finish(builder, Body::Text(body.to_string()))
}
