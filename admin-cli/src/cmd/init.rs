//! `init`: creates the embedded store.

use crate::context::open_service;
use crate::context::{Ctx, StoreKind};
use crate::error::{usage, CmdResult};
use crate::help::Page;
use crate::output::print_json;
use serde_json::json;
use std::process::ExitCode;

/// `init`: creates the embedded store (and its keys) in `--data-dir`; idempotent.
pub async fn run(g: &Ctx) -> CmdResult {
    let l = g.lang;
    if g.store != StoreKind::Sqlite || g.api.is_some() {
        return usage(l.pick(
            "init hanya untuk penyimpanan lokal (--data-dir)",
            "init is for the embedded store only (--data-dir)",
        ));
    }
    let existed = g.data_dir.join(crate::context::DB_FILE).exists();
    open_service(g, true).await?;
    if g.json {
        print_json(&json!({ "ok": true, "data_dir": g.data_dir, "created": !existed }));
    } else if existed {
        say!(
            "{} {}",
            g.data_dir.display(),
            l.pick(
                "sudah berisi penyimpanan SAPK.",
                "already holds a SAPK store."
            )
        );
    } else {
        say!(
            "{} {}",
            l.pick("Penyimpanan SAPK dibuat di", "SAPK store created in"),
            g.data_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// This command's help in Indonesian, with an example (`help::localise` lays it over the
/// English of the doc comments).
pub const HELP: &[Page] = &[
    Page {
        path: &["init"],
        about_id: "Buat penyimpanan lokal di --data-dir (folder baru beserta kuncinya); penyimpanan yang sudah ada dibiarkan. Perintah lain menolak folder tanpa penyimpanan.",
        example: "sapk-admin --data-dir .sapk init",
    },
];
