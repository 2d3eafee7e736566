//! `employee export NIP`: what the service holds about a person, as a file to hand over
//! (UU PDP art. 32, within 3 × 24 hours of the request); audited.

use crate::context::Ctx;
use crate::counter::Counter;
use crate::error::CmdResult;
use crate::output::print_json;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

pub async fn run(g: &Ctx, nip: &str, out: Option<&Path>) -> CmdResult {
    let l = g.lang;
    // Recorded with the office that answered the request (directly, --office is required;
    // with --api, the signed-in officer's).
    let counter = Counter::open(g, true).await?;
    let digits: String = nip.chars().filter(char::is_ascii_digit).collect();
    let day = chrono::Utc::now()
        .with_timezone(&sapk_core::i18n::wib())
        .format("%Y%m%d");
    let path = out.map_or_else(
        || std::path::PathBuf::from(format!("data-pribadi-{digits}-{day}.txt")),
        Path::to_path_buf,
    );
    // The file first (so that an export that cannot be written is never recorded as made):
    // personal data, readable by the officer alone, and never over another file.
    let mut file = match create_private(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return crate::error::refuse(
                "file_exists",
                &format!(
                    "{} {} {}",
                    l.pick("File", "The file"),
                    path.display(),
                    l.pick(
                        "sudah ada; pilih nama lain dengan --out",
                        "exists; choose another name with --out"
                    )
                ),
            )
        }
        Err(e) => return Err(e.into()),
    };
    let text = match counter.export(nip).await {
        Ok(t) => t,
        Err(e) => {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
    };
    {
        use std::io::Write as _;
        file.write_all(text.as_bytes())?;
    }
    if g.json {
        print_json(&json!({ "ok": true, "file": path.display().to_string() }));
    } else {
        say!("{} {}", l.pick("Ditulis:", "Written:"), path.display());
        say!(
            "{}",
            l.pick(
                "Cetak atau serahkan file ini kepada pemilik data saja (setelah memeriksa KTP-nya); permintaan ini tercatat di riwayat audit.",
                "Print or hand this file to the person it is about only (after checking their KTP); the request is recorded in the audit trail."
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}
