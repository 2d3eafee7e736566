//! The CSV exports HR offices produce: comma or semicolon separated (detected from the
//! header), UTF-8 with or without a BOM, header names matched case-insensitively.

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

fn col_of(headers: &[String], names: &[&str]) -> Option<usize> {
    headers.iter().position(|h| names.contains(&h.as_str()))
}

impl Table {
    /// The column with any of these names.
    pub fn col(&self, names: &[&str]) -> Option<usize> {
        col_of(&self.headers, names)
    }
}

/// An export read as a stream: the header now, the rows one at a time (a file of millions
/// of rows is never held in memory).
pub struct Stream {
    pub headers: Vec<String>,
    /// The export's field separator, for a report written back in the same form.
    pub delimiter: u8,
    reader: csv::Reader<std::io::BufReader<std::fs::File>>,
    lang: Lang,
}

impl Stream {
    /// The column with any of these names.
    pub fn col(&self, names: &[&str]) -> Option<usize> {
        col_of(&self.headers, names)
    }

    /// Each data row with its line number (the header is line 1).
    pub fn rows(self) -> impl Iterator<Item = (u64, Result<csv::StringRecord, String>)> {
        let l = self.lang;
        self.reader.into_records().enumerate().map(move |(i, rec)| {
            let rec = rec.map_err(|e| {
                format!(
                    "{}: {e}",
                    l.pick("baris CSV tidak terbaca", "unreadable CSV row")
                )
            });
            (i as u64 + 2, rec)
        })
    }
}

pub fn open(path: &Path, l: Lang) -> anyhow::Result<Stream> {
    use std::io::BufRead;
    let cannot = |e: std::io::Error| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => l.pick("berkas tidak ada", "no such file").to_owned(),
            std::io::ErrorKind::PermissionDenied => l
                .pick("tidak ada izin membaca", "permission denied")
                .to_owned(),
            _ => e.to_string(),
        };
        crate::error::failure(
            "file_unreadable",
            format!(
                "{} {}: {why}",
                l.pick("tidak dapat membaca", "cannot read"),
                path.display()
            ),
        )
    };
    let mut first = String::new();
    std::io::BufReader::new(std::fs::File::open(path).map_err(cannot)?)
        .read_line(&mut first)
        .map_err(cannot)?;
    let separator = delimiter(first.trim_start_matches('\u{feff}'));
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(separator)
        .from_reader(std::io::BufReader::new(
            std::fs::File::open(path).map_err(cannot)?,
        ));
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| crate::error::failure("bad_header", format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    Ok(Stream {
        headers,
        delimiter: separator,
        reader,
        lang: l,
    })
}

/// The whole export (small files: mappings).
pub fn read(path: &Path, l: Lang) -> anyhow::Result<Table> {
    let stream = open(path, l)?;
    let headers = stream.headers.clone();
    Ok(Table {
        headers,
        rows: stream.rows().collect(),
    })
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
