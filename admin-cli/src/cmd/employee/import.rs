//! `employee import`: the data administrator's bulk load of the employee export. Rows go to
//! the core's import use case with bounded parallelism (the store's latency, not the CPU,
//! bounds a run); unchanged rows cost one read and write nothing, so a run that stopped can
//! simply be started again. A progress bar with rate and ETA shows on a terminal; rejected
//! rows go to a report file; one audit record sums up the run.

use crate::context::open_service;
use crate::context::Ctx;
use crate::error::failure;
use crate::error::{CmdResult, REFUSED};
use crate::output::print_json;
use crate::output::{kv, line_errors};
use futures_util::stream::{self, StreamExt};
use sapk_core::staff::{EmployeeRow, ImportOutcome, IMPORT_BATCH};
use sapk_core::Lang;
use serde_json::json;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

pub struct Args<'a> {
    pub file: &'a Path,
    pub init: bool,
    pub jobs: Option<u16>,
    pub report: Option<&'a Path>,
}

/// Rows in flight at once when not set: DynamoDB answers in milliseconds and scales; the
/// embedded store writes one transaction at a time.
fn default_jobs(g: &Ctx) -> usize {
    match g.store {
        crate::context::StoreKind::Dynamodb => 32,
        crate::context::StoreKind::Sqlite => 4,
    }
}

/// At most this many rejected rows are listed on the terminal; all are in the report.
const LISTED: usize = 20;

/// One data row of an import: its line, the NIP as written, and the row or why not.
type ImportRow = (u64, String, Result<EmployeeRow, String>);

/// Where the columns are.
struct Columns {
    nip: usize,
    name: usize,
    email: usize,
    instansi: Option<usize>,
}

fn columns(stream: &crate::csvfile::Stream, l: Lang) -> anyhow::Result<Columns> {
    let (Some(nip), Some(name), Some(email)) = (
        stream.col(&["nip"]),
        stream.col(&["nama", "name"]),
        stream.col(&["email", "e-mail", "surel"]),
    ) else {
        return Err(failure(
            "bad_header",
            format!(
            "{}: {}",
            l.pick(
                "header CSV harus nip,nama,email[,instansi] (atau nip,name,email[,instansi]), dipisah koma atau titik koma; yang ada",
                "the CSV header must be nip,nama,email[,instansi] (or nip,name,email[,instansi]), comma or semicolon separated; found",
            ),
            stream.headers.join(",")
            ),
        ));
    };
    Ok(Columns {
        nip,
        name,
        email,
        instansi: stream.col(&["instansi", "agency"]),
    })
}

/// An 18-digit NIP (spaces allowed) as a number, for the duplicate check.
fn nip_key(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 18 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The lines of every key that appears more than once: a NIP, or an e-mail address.
#[derive(Default)]
struct Dups {
    nips: HashMap<u64, Vec<u64>>,
    emails: HashMap<u64, Vec<u64>>,
}

/// An address as one claim (the whole address in lower case, as the store compares it),
/// hashed to 64 bits: the scan keeps hashes, not addresses.
fn email_key(text: &str) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let e = text.trim().to_lowercase();
    if e.is_empty() {
        return None;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    e.hash(&mut h);
    Some(h.finish())
}

fn note(first: &mut HashMap<u64, u64>, dups: &mut HashMap<u64, Vec<u64>>, key: u64, line: u64) {
    match first.entry(key) {
        Entry::Vacant(v) => {
            v.insert(line);
        }
        Entry::Occupied(o) => dups.entry(key).or_insert_with(|| vec![*o.get()]).push(line),
    }
}

/// The first pass over the file: how many rows, and the lines of every NIP and every e-mail
/// address that appears more than once (key → first line maps: about 80 bytes per row, not
/// the rows).
fn scan(path: &Path, l: Lang) -> anyhow::Result<(u64, Dups)> {
    let stream = crate::csvfile::open(path, l)?;
    let cols = columns(&stream, l)?;
    let (mut first_nip, mut first_email) = (HashMap::new(), HashMap::new());
    let mut dups = Dups::default();
    let mut total = 0u64;
    for (line, rec) in stream.rows() {
        total += 1;
        let Ok(rec) = rec else { continue };
        if let Some(key) = rec.get(cols.nip).and_then(nip_key) {
            note(&mut first_nip, &mut dups.nips, key, line);
        }
        if let Some(key) = rec.get(cols.email).and_then(email_key) {
            note(&mut first_email, &mut dups.emails, key, line);
        }
    }
    Ok((total, dups))
}

/// "the same … is also on line 3, 7; nothing imported for …"
fn also_on(all: &[u64], line: u64, what: (&str, &str)) -> String {
    let others: Vec<String> = all
        .iter()
        .filter(|x| **x != line)
        .map(u64::to_string)
        .collect();
    format!("{} {}; {}", what.0, others.join(", "), what.1)
}

/// One row as the core takes it. A NIP that appears on several lines is refused on each
/// of them, naming the others: which line is right is for the data administrator to say.
fn to_row(
    line: u64,
    rec: Result<csv::StringRecord, String>,
    cols: &Columns,
    dups: &Dups,
    l: Lang,
) -> ImportRow {
    let nip_text = rec
        .as_ref()
        .ok()
        .and_then(|r| r.get(cols.nip))
        .unwrap_or("")
        .to_owned();
    let row = rec.and_then(|r| {
        let get = |c: usize| r.get(c).unwrap_or("").to_owned();
        if r.get(cols.nip).is_none() || r.get(cols.name).is_none() || r.get(cols.email).is_none() {
            return Err(l.pick("kolom kurang", "missing columns").to_owned());
        }
        if let Some(all) = nip_key(&get(cols.nip)).and_then(|k| dups.nips.get(&k)) {
            let what = (
                l.pick(
                    "NIP yang sama juga di baris",
                    "the same NIP is also on line",
                ),
                l.pick(
                    "tidak ada yang diimpor untuk NIP ini",
                    "nothing imported for this NIP",
                ),
            );
            return Err(also_on(all, line, what));
        }
        // One address, one ASN: which of the lines is right is for the data administrator.
        if let Some(all) = email_key(&get(cols.email)).and_then(|k| dups.emails.get(&k)) {
            let what = (
                l.pick(
                    "alamat email yang sama juga di baris",
                    "the same e-mail address is also on line",
                ),
                l.pick(
                    "satu email untuk satu ASN: tidak ada yang diimpor untuk alamat ini",
                    "one address per ASN: nothing imported for this address",
                ),
            );
            return Err(also_on(all, line, what));
        }
        Ok(EmployeeRow {
            nip: get(cols.nip),
            name: get(cols.name),
            email: get(cols.email),
            instansi: cols.instansi.map(get),
        })
    });
    (line, nip_text, row)
}

/// `<input>.ditolak.csv` beside the input.
fn default_report(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    file.with_file_name(format!("{stem}.ditolak.csv"))
}

/// The rejected rows, separated as the input was (`;` from a spreadsheet set to Indonesian).
fn write_report(
    path: &Path,
    errors: &[(u64, String, String)],
    delimiter: u8,
) -> anyhow::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_path(path)?;
    w.write_record(["baris", "nip", "kesalahan"])?;
    for (line, nip, error) in errors {
        w.write_record([line.to_string().as_str(), nip, error])?;
    }
    w.flush()?;
    Ok(())
}

fn progress(g: &Ctx, len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if g.json || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    let template = match g.lang {
        Lang::Id => "{elapsed_precise} [{bar:30}] {pos}/{len} baris, {per_sec}, sisa ~{eta}",
        Lang::En => "{elapsed_precise} [{bar:30}] {pos}/{len} rows, {per_sec}, ~{eta} left",
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub async fn run(g: &Ctx, a: Args<'_>) -> CmdResult {
    let l = g.lang;
    let started = Instant::now();
    let (total, dups) = scan(a.file, l)?;
    let stream = crate::csvfile::open(a.file, l)?;
    let separator = stream.delimiter;
    let cols = columns(&stream, l)?;
    let op = crate::context::operator(g, false).await?;
    let svc = open_service(g, a.init).await?;
    let jobs = a.jobs.map_or_else(|| default_jobs(g), usize::from);
    let bar = progress(g, total);
    let tally = import_rows(stream, &cols, &dups, &svc, &op, jobs, &bar, l).await;
    let Tally {
        created,
        updated,
        unchanged,
        kept,
        mut errors,
    } = tally;
    errors.sort_by_key(|e| e.0);
    let report = if errors.is_empty() {
        None
    } else {
        let path = a
            .report
            .map(Path::to_path_buf)
            .unwrap_or_else(|| default_report(a.file));
        write_report(&path, &errors, separator)?;
        Some(path)
    };
    let seconds = started.elapsed().as_secs_f64();
    let summary = json!({
        "file": a.file.file_name().map(|n| n.to_string_lossy().into_owned()),
        "rows": created + updated + unchanged + kept + errors.len() as u64,
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "kept_counter_email": kept,
        "failed": errors.len(),
        "seconds": (seconds * 10.0).round() / 10.0,
        "jobs": jobs,
    });
    svc.staff()
        .record_import_run(&op, summary.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.text(l)))?;
    if g.json {
        let mut out = summary;
        out["errors"] = errors
            .iter()
            .map(|(line, nip, error)| json!({"line": line, "nip": nip, "error": error}))
            .collect();
        out["report"] = json!(report);
        print_json(&out);
    } else {
        print_summary(&summary, &errors, report.as_deref(), seconds, l);
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(REFUSED)
    })
}

/// What an import came to: rows created, updated, unchanged, kept with their counter
/// e-mail, and the rejected ones (line, NIP as written, why).
#[derive(Default)]
struct Tally {
    created: u64,
    updated: u64,
    unchanged: u64,
    kept: u64,
    errors: Vec<(u64, String, String)>,
}

/// Imports the file's rows in batches: one batched read of the accounts each, then the
/// rows' writes. Two batches are in flight (the next one reads while this one writes), each
/// with half of the jobs writing.
#[allow(clippy::too_many_arguments)]
async fn import_rows(
    stream: crate::csvfile::Stream,
    cols: &Columns,
    dups: &Dups,
    svc: &sapk_core::Service,
    op: &sapk_core::staff::Operator,
    jobs: usize,
    bar: &indicatif::ProgressBar,
    l: Lang,
) -> Tally {
    let mut t = Tally::default();
    let per_batch = (jobs / 2).max(1);
    let rows = stream
        .rows()
        .map(|(line, rec)| to_row(line, rec, cols, dups, l));
    let mut results = stream::iter(rows)
        .chunks(IMPORT_BATCH)
        .map(|batch| {
            let (svc, op) = (svc, op);
            async move {
                let good: Vec<EmployeeRow> = batch
                    .iter()
                    .filter_map(|(_, _, r)| r.as_ref().ok().cloned())
                    .collect();
                let mut done = svc
                    .staff()
                    .import_employees(&good, op, per_batch)
                    .await
                    .into_iter();
                batch
                    .into_iter()
                    .map(|(line, nip_text, row)| {
                        let result = match row {
                            Ok(_) => match done.next() {
                                Some(r) => r.map_err(|e| e.text(l)),
                                None => Err("internal: a result is missing".to_owned()),
                            },
                            Err(e) => Err(e),
                        };
                        (line, nip_text, result)
                    })
                    .collect::<Vec<_>>()
            }
        })
        .buffer_unordered(2)
        .flat_map(stream::iter);
    while let Some((line, nip_text, result)) = results.next().await {
        bar.inc(1);
        match result {
            Ok(ImportOutcome::Created) => t.created += 1,
            Ok(ImportOutcome::Updated) => t.updated += 1,
            Ok(ImportOutcome::Unchanged) => t.unchanged += 1,
            Ok(ImportOutcome::KeptCounterEmail) => t.kept += 1,
            Err(msg) => t.errors.push((line, nip_text, msg)),
        }
    }
    drop(results);
    bar.finish_and_clear();
    t
}

/// The import's figures and its first rejected rows, for the officer.
fn print_summary(
    summary: &serde_json::Value,
    errors: &[(u64, String, String)],
    report: Option<&Path>,
    seconds: f64,
    l: Lang,
) {
    let n = |k: &str| summary[k].as_u64().unwrap_or(0);
    let (created, updated, unchanged, kept) = (
        n("created"),
        n("updated"),
        n("unchanged"),
        n("kept_counter_email"),
    );
    let rate =
        (created + updated + unchanged + kept + errors.len() as u64) as f64 / seconds.max(0.001);
    say_raw!(
        "{}",
        kv(&[
            (l.pick("Dibuat", "Created").into(), created.to_string()),
            (l.pick("Diperbarui", "Updated").into(), updated.to_string()),
            (
                l.pick("Tidak berubah", "Unchanged").into(),
                unchanged.to_string()
            ),
            (
                l.pick("Email loket dipertahankan", "Counter e-mail kept")
                    .into(),
                kept.to_string()
            ),
            (l.pick("Gagal", "Failed").into(), errors.len().to_string()),
            (
                l.pick("Waktu", "Time").into(),
                format!(
                    "{seconds:.1} s ({rate:.0} {})",
                    l.pick("baris/detik", "rows/s")
                )
            ),
        ])
    );
    if let Some(path) = &report {
        say!("");
        say_raw!(
            "{}",
            line_errors("NIP", &errors[..errors.len().min(LISTED)], l)
        );
        if errors.len() > LISTED {
            say!(
                "… {} {}",
                errors.len() - LISTED,
                l.pick("baris lagi", "more rows")
            );
        }
        say!(
            "{}: {}",
            l.pick("Semua baris yang ditolak", "Every rejected row"),
            path.display()
        );
    }
}
