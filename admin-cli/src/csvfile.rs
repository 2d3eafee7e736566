//! The CSV exports HR offices produce: comma or semicolon separated (detected from the
//! header), UTF-8 with or without a BOM, header names matched case-insensitively.

use anyhow::Context;
use sapk_core::Lang;
use std::path::Path;

/// The field separator: `;` when the header has more of them than commas.
fn delimiter(header_line: &str) -> u8 {
    if header_line.matches(';').count() > header_line.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// A read export: its header (lower case) and each data row with its line number.
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(u64, Result<csv::StringRecord, String>)>,
}

impl Table {
    /// The column with any of these names.
    pub fn col(&self, names: &[&str]) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| names.contains(&h.as_str()))
    }
}

pub fn read(path: &Path, l: Lang) -> anyhow::Result<Table> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "{} {}",
            l.pick("tidak dapat membaca", "cannot read"),
            path.display()
        )
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter(text.lines().next().unwrap_or("")))
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .context("CSV header")?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let rows = reader
        .records()
        .enumerate()
        .map(|(i, rec)| {
            let line = i as u64 + 2;
            let rec = rec.map_err(|e| {
                format!(
                    "{}: {e}",
                    l.pick("baris CSV tidak terbaca", "unreadable CSV row")
                )
            });
            (line, rec)
        })
        .collect();
    Ok(Table { headers, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_bom() {
        assert_eq!(delimiter("nip;nama;email"), b';');
        assert_eq!(delimiter("nip,nama,email"), b',');
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, "\u{feff}NIP;Nama;Email\n1;a;b\n").unwrap();
        let t = read(&p, Lang::Id).unwrap();
        assert_eq!(t.headers, ["nip", "nama", "email"]);
        assert_eq!(t.col(&["name", "nama"]), Some(1));
        assert_eq!(t.rows.len(), 1);
    }
}
