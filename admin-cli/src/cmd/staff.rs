//! `staff`: the registry of officers, kept by a supervisor.

use crate::context::service;
use crate::context::Ctx;
use crate::error::{refuse, usage, CmdResult};
use crate::help::Page;
use crate::output::{print_json, table};
use clap::Subcommand;
use sapk_core::ports::{Officer, StaffScope};
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum StaffCmd {
    /// Register (or update) an officer. Example: `sapk-admin staff register
    /// arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/rina@bandung.go.id
    /// --officer-id 199001012015031002 --name "Rina Kartika" --office-code BKPSDM-KOTA-BANDUNG
    /// --office-name "BKPSDM Kota Bandung" --scope "instansi:Pemerintah Kota Bandung"`. Needs --office, and --operator on the embedded store (on DynamoDB the operator is your AWS identity).
    Register {
        /// The IAM principal ARN the officer signs in as.
        principal: String,
        /// The officer's own NIP or staff ID.
        #[arg(long)]
        officer_id: String,
        /// The officer's name.
        #[arg(long)]
        name: String,
        /// The officer's office code.
        #[arg(long = "office-code")]
        office_code: String,
        /// The office's name as civil servants read it in notices and in their activity
        /// ("Kantor Regional IV BKN Makassar"); without it the name is made from the code.
        #[arg(long)]
        office_name: Option<String>,
        /// `bkn` (a BKN office: any employee) or `instansi:<name>` (an agency HR unit: only
        /// its own employees).
        #[arg(long)]
        scope: String,
        /// This officer ID is already registered under another identity and this is the
        /// same person's second role (another permission set): register it anyway. The
        /// two-officer rule compares officer IDs, so the person still cannot approve their
        /// own request.
        #[arg(long)]
        second_role: bool,
    },
    /// Deactivate an officer (their requests are then refused). Needs --office (and --operator on the embedded store).
    Deactivate {
        /// The IAM principal ARN.
        principal: String,
    },
    /// List the registered officers.
    List,
}

pub async fn run(g: &Ctx, cmd: &StaffCmd) -> CmdResult {
    let l = g.lang;
    if let StaffCmd::List = cmd {
        return list(g).await;
    }
    let by = crate::context::operator(g, true).await?;
    let svc = service(g).await?;
    let officer = match cmd {
        StaffCmd::Register {
            principal,
            officer_id,
            name,
            office_code,
            office_name,
            scope,
            ..
        } => {
            let Some(scope) = StaffScope::parse(scope) else {
                return usage(&format!(
                    "--scope {scope:?}: {}",
                    l.pick(
                        "harus bkn atau instansi:<nama instansi>",
                        "must be bkn or instansi:<agency name>"
                    )
                ));
            };
            Officer {
                principal: principal.clone(),
                officer_id: officer_id.trim().to_owned(),
                name: name.clone(),
                office: office_code.trim().to_owned(),
                scope,
                active: true,
                updated_at: svc.now(),
                office_name: office_name.clone(),
            }
        }
        StaffCmd::Deactivate { principal } => match svc.store().get_officer(principal).await? {
            Some(mut o) => {
                o.active = false;
                o
            }
            None => {
                return refuse(
                    "unregistered",
                    l.pick(
                        "identitas ini tidak terdaftar",
                        "this identity is not registered",
                    ),
                )
            }
        },
        StaffCmd::List => return Ok(ExitCode::SUCCESS),
    };
    let second_role = matches!(
        cmd,
        StaffCmd::Register {
            second_role: true,
            ..
        }
    );
    match svc
        .staff()
        .register_officer(officer.clone(), &by, second_role)
        .await
    {
        Ok(()) => print_registered(g, &officer),
        Err(e) => refuse(e.reason(), &e.text(l)),
    }
}

/// A registered or deactivated officer (JSON, or one line).
fn print_registered(g: &Ctx, officer: &Officer) -> CmdResult {
    let l = g.lang;
    if g.json {
        print_json(&json!({ "ok": true, "officer": officer }));
    } else if officer.active {
        say!("{}", l.pick("Petugas terdaftar.", "Officer registered."));
    } else {
        say!(
            "{}",
            l.pick("Petugas dinonaktifkan.", "Officer deactivated.")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `staff list`: the registered officers (JSON, or a table).
async fn list(g: &Ctx) -> CmdResult {
    let l = g.lang;
    let svc = service(g).await?;
    let all = svc.store().list_officers().await?;
    if g.json {
        print_json(&serde_json::to_value(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|o| {
            vec![
                o.principal.clone(),
                o.name.clone(),
                match &o.office_name {
                    Some(name) => format!("{name} ({})", o.office),
                    None => o.office.clone(),
                },
                o.scope.as_text(),
                if o.active {
                    l.pick("aktif", "active").to_owned()
                } else {
                    l.pick("nonaktif", "deactivated").to_owned()
                },
            ]
        })
        .collect();
    say_raw!(
        "{}",
        table(
            &[
                l.pick("Identitas (IAM)", "Identity (IAM)"),
                l.pick("Nama", "Name"),
                l.pick("Kantor", "Office"),
                l.pick("Cakupan", "Scope"),
                l.pick("Status", "State"),
            ],
            &rows
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// This command's help in Indonesian, with an example (`help::localise` lays it over the
/// English of the doc comments).
pub const HELP: &[Page] = &[
    Page {
        path: &["staff"],
        about_id: "Registri petugas (perintah supervisor): identitas masuk mana adalah petugas siapa, di kantor mana, dan boleh melayani siapa.",
        example: "sapk-admin --store dynamodb --office KANREG-III staff list",
    },
    Page {
        path: &["staff", "register"],
        about_id: "Daftarkan (atau perbarui) petugas. --office-name memberi nama kantor yang dibaca pegawai dalam pemberitahuan dan riwayat aktivitas (tanpa itu nama dibuat dari kodenya). Perlu --office, dan --operator di penyimpanan lokal (di DynamoDB petugasnya adalah identitas AWS Anda).",
        example: "sapk-admin --store dynamodb --office KANREG-III staff register arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/rina@bandung.go.id --officer-id 199001012015031002 --name \"Rina Kartika\" --office-code BKPSDM-KOTA-BANDUNG --office-name \"BKPSDM Kota Bandung\" --scope \"instansi:Pemerintah Kota Bandung\"",
    },
    Page {
        path: &["staff", "deactivate"],
        about_id: "Nonaktifkan petugas (permintaannya lalu ditolak). Perlu --office, dan --operator di penyimpanan lokal.",
        example: "sapk-admin --store dynamodb --office KANREG-III staff deactivate arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/rina@bandung.go.id",
    },
    Page {
        path: &["staff", "list"],
        about_id: "Daftar petugas yang terdaftar.",
        example: "sapk-admin --store dynamodb staff list",
    },
];
