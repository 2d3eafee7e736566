//! `employee duplicates`: the addresses more than one account has (from before one address
//! per ASN), for the agencies to clean; in the operator's scope, optionally one agency's.

use crate::context::{service, Ctx};
use crate::error::CmdResult;
use crate::output::{print_json, table};
use std::process::ExitCode;

pub async fn run(g: &Ctx, instansi: Option<&str>, claim: bool) -> CmdResult {
    let l = g.lang;
    let op = crate::context::operator(g, true).await?;
    let svc = service(g).await?;
    let report = match svc.staff().shared_addresses(&op, instansi, claim).await {
        Ok(f) => f,
        Err(e) => return crate::error::refuse(e.reason(), &e.text(l)),
    };
    if g.json {
        print_json(&serde_json::to_value(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if claim {
        say!(
            "{} {}",
            report.claimed,
            l.pick(
                "alamat yang hanya dipakai satu akun kini diklaim untuk akun itu.",
                "addresses held by one account alone are now claimed for it."
            )
        );
    }
    let found = report.shared;
    if found.is_empty() {
        say!(
            "{}",
            l.pick(
                "Tidak ada alamat email yang dipakai lebih dari satu akun.",
                "No e-mail address is held by more than one account."
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    for a in &found {
        for (i, h) in a.holders.iter().enumerate() {
            rows.push(vec![
                if i == 0 {
                    a.email.clone()
                } else {
                    String::new()
                },
                h.nip.clone(),
                h.name.clone(),
                h.instansi.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        if a.elsewhere > 0 {
            rows.push(vec![
                String::new(),
                format!("+{}", a.elsewhere),
                l.pick("di luar cakupan Anda", "outside your scope")
                    .to_owned(),
                String::new(),
            ]);
        }
    }
    let header = [
        l.pick("Email", "E-mail"),
        "NIP",
        l.pick("Nama", "Name"),
        l.pick("Instansi", "Agency"),
    ];
    say_raw!("{}", table(&header, &rows));
    say!(
        "\n{} {}",
        found.len(),
        l.pick(
            "alamat dipakai bersama. Satu email untuk satu ASN: minta tiap pegawai mengganti alamatnya di loket (email change); sampai itu, akun tetap berfungsi.",
            "shared addresses. One address per ASN: have each employee change theirs at a counter (email change); until then the accounts keep working."
        )
    );
    Ok(ExitCode::SUCCESS)
}
