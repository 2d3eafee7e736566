//! `tables create`: the DynamoDB tables for local and test use.

use crate::context::{Ctx, StoreKind};
#[cfg(feature = "direct")]
use crate::error::refuse;
use crate::error::CmdResult;
use crate::help::Page;
use crate::output::print_json;
use clap::Subcommand;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TablesCmd {
    /// Create the tables named by SAPK_TABLE_* (or the defaults) with TTL; existing ones are kept.
    Create,
}

pub async fn run(g: &Ctx, cmd: &TablesCmd) -> CmdResult {
    match cmd {
        TablesCmd::Create => create(g).await,
    }
}

async fn create(g: &Ctx) -> CmdResult {
    let l = g.lang;
    if g.store != StoreKind::Dynamodb {
        let msg = l.pick(
            "Penyimpanan SQLite membuat tabelnya sendiri; tidak ada yang perlu dibuat.",
            "The SQLite store creates its tables itself; nothing to do.",
        );
        if g.json {
            print_json(&json!({ "ok": true, "created": [], "message": msg }));
        } else {
            say!("{msg}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    create_on_dynamodb(g).await
}

#[cfg(not(feature = "direct"))]
async fn create_on_dynamodb(g: &Ctx) -> CmdResult {
    Err(crate::context::api_only(g.lang))
}

#[cfg(feature = "direct")]
async fn create_on_dynamodb(g: &Ctx) -> CmdResult {
    let l = g.lang;
    let names = sapk_aws::TableNames::from_env_or_default(&|k| crate::context::env(k));
    let sdk = sapk_aws::tool_sdk_config().await;
    let created = match sapk_aws::create_tables(&sapk_aws::dynamodb_client(&sdk), &names).await {
        Ok(c) => c,
        Err(e) => return refuse("unavailable", &e.to_string()),
    };
    let all = [
        names.accounts.clone(),
        names.ephemeral.clone(),
        names.audit.clone(),
        names.staff.clone(),
    ];
    if g.json {
        print_json(&json!({ "ok": true, "created": created, "tables": all }));
    } else {
        for t in &all {
            let state = if created.contains(t) {
                l.pick("dibuat", "created")
            } else {
                l.pick("sudah ada", "exists")
            };
            say!("{t}  {state}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// This command's help in Indonesian, with an example (`help::localise` lays it over the
/// English of the doc comments).
pub const HELP: &[Page] = &[
    Page {
        path: &["tables"],
        about_id: "Tabel DynamoDB (untuk pemakaian lokal dan pengujian; tabel produksi dibuat dari infra/).",
        example: "sapk-admin --store dynamodb tables create",
    },
    Page {
        path: &["tables", "create"],
        about_id: "Buat tabel yang dinamai SAPK_TABLE_* (atau nama bawaan) beserta TTL dan indeksnya; tabel yang sudah ada dibiarkan.",
        example: "sapk-admin --store dynamodb tables create",
    },
];
