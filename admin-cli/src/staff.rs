//! `staff`: the registry of officers, kept by a supervisor.

use crate::commands::{lang, print_json, refuse, service};
use crate::counter::usage;
use crate::text::table;
use crate::{Global, StaffCmd};
use sapk_core::ports::{Officer, StaffScope};
use serde_json::json;
use std::process::ExitCode;

pub async fn run(g: &Global, cmd: &StaffCmd) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    if let StaffCmd::List = cmd {
        let svc = service(g).await?;
        let all = svc.store().list_officers().await?;
        if g.json {
            print_json(&serde_json::to_value(&all)?);
        } else {
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|o| {
                    vec![
                        o.principal.clone(),
                        o.name.clone(),
                        o.office.clone(),
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
        }
        return Ok(ExitCode::SUCCESS);
    }
    let by = match crate::backend::operator(g, true).await {
        Ok(op) => op,
        Err(e) => return e.exit(),
    };
    let svc = service(g).await?;
    let officer = match cmd {
        StaffCmd::Register {
            principal,
            officer_id,
            name,
            office_code,
            scope,
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
            }
        }
        StaffCmd::Deactivate { principal } => match svc.store().get_officer(principal).await? {
            Some(mut o) => {
                o.active = false;
                o
            }
            None => {
                return refuse(
                    g,
                    l.pick(
                        "identitas ini tidak terdaftar",
                        "this identity is not registered",
                    ),
                )
            }
        },
        StaffCmd::List => return Ok(ExitCode::SUCCESS),
    };
    match svc.register_officer(officer.clone(), &by).await {
        Ok(()) => {
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
        Err(e) => refuse(g, &e.text(l)),
    }
}
