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

/// The widest line the tool prints: a 100-column console (a Windows console window's
/// default is 120; an officer's split screen less) holds every table and block.
pub const MAX_WIDTH: usize = 100;

/// `text` in lines of at most `width` characters, broken at spaces (a word longer than a
/// line stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let Some(last) = lines.last_mut() else { break };
        let len = last.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if len > 0 {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// Two-column key/value block; a long value continues on indented lines within
/// [`MAX_WIDTH`].
pub fn kv(rows: &[(String, String)]) -> String {
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let room = MAX_WIDTH.saturating_sub(width + 2).max(30);
    let mut out = String::new();
    for (k, v) in rows {
        for (i, line) in wrap(&printable(v), room).iter().enumerate() {
            let key = if i == 0 { k.as_str() } else { "" };
            out.push_str(format!("{key:<width$}  {line}").trim_end());
            out.push('\n');
        }
    }
    out
}

/// Each row as a key/value block under the header's names: a table too wide for
/// [`MAX_WIDTH`], laid out vertically.
fn vertical(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for (n, r) in rows.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let pairs: Vec<(String, String)> = header
            .iter()
            .zip(r)
            .filter(|(_, v)| v.as_str() != "-")
            .map(|(h, v)| ((*h).to_owned(), v.clone()))
            .collect();
        out.push_str(&kv(&pairs));
    }
    out
}

/// A table with a header row.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    // A column with nothing in any row ("-" throughout) is left out.
    let keep: Vec<bool> = (0..header.len())
        .map(|i| rows.is_empty() || rows.iter().any(|r| r.get(i).is_some_and(|c| c != "-")))
        .collect();
    let header: Vec<&str> = header
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(h, _)| *h)
        .collect();
    let header = &header[..];
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(c, _)| printable(c))
                .collect()
        })
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
    if widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1) > MAX_WIDTH {
        return vertical(header, rows);
    }
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

#[cfg(test)]
mod width_tests {
    use super::*;

    #[test]
    fn nothing_printed_is_wider_than_the_console() {
        let long = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/andi@bkn.go.id";
        let t = table(
            &["Waktu", "Pelaku", "Kantor", "Aksi"],
            &[vec![
                "07-12 10:00".into(),
                long.into(),
                "KANREG-I".into(),
                "ganti email".into(),
            ]],
        );
        assert!(t.lines().all(|l| l.chars().count() <= MAX_WIDTH), "{t}");
        assert!(t.contains(long) && t.contains("Pelaku"), "{t}");
        let words = "kata ".repeat(60);
        let b = kv(&[("Kunci login".into(), words.clone())]);
        assert!(
            b.lines().count() > 2 && b.lines().all(|l| l.chars().count() <= MAX_WIDTH),
            "{b}"
        );
        let narrow = table(&["A", "B"], &[vec!["1".into(), "2".into()]]);
        assert_eq!(narrow, "A  B\n-  -\n1  2\n");
    }
}
