//! What officers read, in Indonesian by default and English with `--lang en`.

use sapk_core::email::EmailError;
use sapk_core::i18n::printable;
use sapk_core::nip::{Gender, NipError};
use sapk_core::staff::StaffError;
use sapk_core::Lang;

pub fn nip_error(e: &NipError, lang: Lang) -> String {
    e.text(lang)
}

pub fn email_error(e: &EmailError, lang: Lang) -> String {
    match e {
        EmailError::TooLong => lang
            .pick(
                "email lebih dari 254 karakter",
                "the e-mail is longer than 254 characters",
            )
            .into(),
        EmailError::Invalid => lang
            .pick("alamat email tidak valid", "not a valid e-mail address")
            .into(),
    }
}

pub fn staff_error(e: &StaffError, lang: Lang) -> String {
    match e {
        StaffError::InvalidNip(n) => format!("{}: {}", lang.pick("NIP tidak valid", "invalid NIP"), nip_error(n, lang)),
        StaffError::InvalidEmail(m) => email_error(m, lang),
        StaffError::InvalidName(why) => format!("{}: {why}", lang.pick("nama tidak valid", "invalid name")),
        StaffError::UnknownNip => lang.pick("NIP tidak terdaftar", "no employee with this NIP").into(),
        StaffError::EmailNeedsCounter => lang
            .pick(
                "akun sudah aktif dan emailnya berbeda; ganti email hanya lewat verifikasi di loket (`email change`)",
                "the account is active and its e-mail differs; change it only after the counter check (`email change`)",
            )
            .into(),
        StaffError::Conflict => lang
            .pick(
                "akun diubah orang lain pada saat yang sama; tampilkan ulang lalu coba lagi",
                "someone else changed this account at the same time; look it up again and retry",
            )
            .into(),
        StaffError::NoPiiKey => lang
            .pick(
                "kunci untuk NIK dan nomor dokumen belum diatur (SAPK_PII_KEY)",
                "no key for NIK and document numbers is configured (SAPK_PII_KEY)",
            )
            .into(),
        StaffError::Forbidden(why) => match why {
            sapk_core::staff::Forbidden::Unregistered => lang.pick(
                "identitas Anda belum terdaftar sebagai petugas; minta supervisor mendaftarkannya",
                "your identity is not registered as an officer; ask your supervisor to register it",
            ),
            sapk_core::staff::Forbidden::Deactivated => lang.pick(
                "pendaftaran Anda sebagai petugas dinonaktifkan",
                "your registration as an officer is deactivated",
            ),
            sapk_core::staff::Forbidden::OutOfScope => lang.pick(
                "pegawai ini bukan dari instansi Anda; hanya kantor BKN yang boleh melayaninya",
                "this employee is not of your agency; only a BKN office may act on them",
            ),
        }
        .into(),
        StaffError::SameNip => lang
            .pick("nomor lama dan nomor baru sama", "the old and the new number are the same")
            .into(),
        StaffError::NewNipInUse => lang
            .pick(
                "nomor baru sudah memiliki akun yang aktif; tidak ada yang dipindahkan",
                "the new number already has an activated account; nothing was moved",
            )
            .into(),
        StaffError::RenumberMismatch => lang
            .pick(
                "tanggal lahir atau jenis kelamin pada nomor baru berbeda dari nomor lama; hanya perbaikan NIP (--reason perbaikan) yang boleh mengubahnya",
                "the new number's birth date or gender differs from the old one's; only a correction (--reason perbaikan) may change them",
            )
            .into(),
        StaffError::Store(s) => format!("{}: {s}", lang.pick("penyimpanan data gagal", "the store failed")),
    }
}

pub fn gender(g: Gender, lang: Lang) -> &'static str {
    match g {
        Gender::Male => lang.pick("Laki-laki", "Male"),
        Gender::Female => lang.pick("Perempuan", "Female"),
    }
}

/// Two-column key/value block.
pub fn kv(rows: &[(String, String)]) -> String {
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {}\n", printable(v)))
        .collect()
}

/// A table with a header row.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| printable(c)).collect())
        .collect();
    let rows = &rows;
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(header.to_vec());
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// The rows a bulk command could not take, by line: `(line, number, why)`.
pub fn line_errors(nip_header: &str, errors: &[(u64, String, String)], lang: Lang) -> String {
    table(
        &[
            lang.pick("Baris", "Line"),
            nip_header,
            lang.pick("Kesalahan", "Error"),
        ],
        &errors
            .iter()
            .map(|(a, b, c)| vec![a.to_string(), b.clone(), c.clone()])
            .collect::<Vec<_>>(),
    )
}
