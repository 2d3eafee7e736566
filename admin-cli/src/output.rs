//! What officers read: tables, key/value blocks, JSON, refusals and usage errors, in
//! Indonesian by default and English with `--lang en`.

use sapk_core::i18n::printable;
use sapk_core::nip::Gender;
use sapk_core::Lang;

/// The employee a question or a result is about: `Name (NIP 1986***********001)`.
pub fn who(name: &str, nip: &sapk_core::Nip) -> String {
    format!("{} (NIP {})", printable(name), nip.masked())
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

pub fn print_json(v: &serde_json::Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}
