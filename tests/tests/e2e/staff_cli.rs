//! The deployed counter path on one machine: `sapk-admin --api` signs each request with
//! SigV4 from the standard AWS credential chain; the real `sapk-local` binary, in its
//! development gateway mode, verifies the signature as API Gateway's IAM authorizer does and
//! hands the IAM identity to the staff function's handler. Every rule is decided there and
//! every refusal is recorded under the signed-in principal.

use sapk_e2e::iam_server::{run, start, Server};
use sapk_e2e::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BUDI: &str = "198609262015051001";
const BUDI_NIK: &str = "3174052609860001";
const AYU: &str = "199009132025242014";
const AYU_NIK: &str = "3174055309900002";
/// Andi's office as the registry names it (not the name made from its code, KANREG-I).
const ANDI_OFFICE: &str = "Kantor Regional I BKN Yogyakarta, loket Gedung A";

use sapk_e2e::iam_server::{
    ANDI, ANDI_KEY, EVE, EVE_KEY, NOBODY, NOBODY_KEY, RINA, RINA_KEY, SECRET,
};

/// `sapk-admin --api` as an officer whose only credentials are these keys: no profile, no
/// instance metadata, no data directory, no token key, no table names.
fn officer<S: AsRef<std::ffi::OsStr>>(
    server: &Server,
    dir: &Path,
    key: &str,
    secret: &str,
    args: &[S],
    stdin: &str,
) -> Output {
    let mut c = Command::new(workspace_bin("sapk-admin"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "ap-southeast-3")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(dir)
        .args(["--api", &server.base])
        .args(args);
    run(c, stdin)
}

/// The supervisor's registry commands, directly on the data directory.
fn supervisor(dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(workspace_bin("sapk-admin"));
    c.arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--operator", "SUPERVISOR-1", "--office", "KANREG-III"])
        .args(args);
    run(c, "")
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn refused_for(out: &Output, reason: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_of(out);
    assert_eq!(
        (j["ok"].as_bool(), j["reason"].as_str()),
        (Some(false), Some(reason)),
        "{j}"
    );
}

/// The newest audit record of `nip`, read by the supervisor on the data directory.
fn last_audit(dir: &Path, nip: &str) -> serde_json::Value {
    let out = supervisor(dir, &["--json", "audit", nip, "--limit", "5"]);
    let all = json_of(&out);
    // The supervisor's own look-up is the newest; the one before it is the officer's.
    all[1].clone()
}

#[tokio::test]
async fn the_counter_signs_and_the_server_decides() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir).await;
    // The CLI signed with this officer's key (and the right secret), no prompts answered.
    let run = |key: &str, args: &[&str]| officer(&server, dir, key, SECRET, args, "");
    for (principal, id, name, office, scope) in [
        (ANDI, "198001012005011001", "Andi Wijaya", "KANREG-I", "bkn"),
        (
            RINA,
            "199001012015032002",
            "Rina Kartika",
            "BKPSDM-KOTA-BANDUNG",
            "instansi:Pemerintah Kota Bandung",
        ),
        (EVE, "199101012016032003", "Eve Pratiwi", "KANREG-I", "bkn"),
    ] {
        let out = supervisor(
            dir,
            &[
                "staff",
                "register",
                principal,
                "--officer-id",
                id,
                "--name",
                name,
                "--office-code",
                office,
                "--scope",
                scope,
                // The registry's display name for Andi's office (named in notices).
                "--office-name",
                if principal == ANDI { ANDI_OFFICE } else { "" },
            ],
        );
        succeeded(&out);
    }
    let out = supervisor(dir, &["staff", "deactivate", EVE]);
    succeeded(&out);

    // A request without a signature never reaches the staff function.
    let r = client_from(None)
        .get(format!("{}/v1/staff/employees/{BUDI}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["message"],
        "Forbidden"
    );
    // Signed with the wrong secret: refused by the gateway.
    let out = officer(
        &server,
        dir,
        ANDI_KEY,
        "not-the-secret",
        &["--json", "employee", "show", BUDI],
        "",
    );
    refused_for(&out, "signature_refused");

    // A registered BKN officer looks an employee up; the record names the principal and
    // the registered office, whatever --operator says.
    let out = run(
        ANDI_KEY,
        &[
            "--json",
            "--operator",
            "x",
            "--office",
            "y",
            "employee",
            "show",
            BUDI,
        ],
    );
    succeeded(&out);
    let o = json_of(&out);
    assert_eq!(o["nip"], BUDI);
    assert_eq!(o["facts"]["kind"], "pns");
    let version = o["version"].as_u64().unwrap();
    let ev = last_audit(dir, BUDI);
    assert_eq!(
        (
            ev["action"].as_str(),
            ev["actor"].as_str(),
            ev["office"].as_str()
        ),
        (Some("employee_viewed"), Some(ANDI), Some("KANREG-I"))
    );

    // Signed but unregistered, deactivated, out of scope, a failed NIK check, a stale
    // version: refused and recorded.
    for (key, args, reason, recorded_actor) in [
        (NOBODY_KEY, "employee show", "unregistered", Some(NOBODY)),
        (EVE_KEY, "account unlock", "deactivated", None),
        (RINA_KEY, "account unlock", "out_of_scope", Some(RINA)),
    ] {
        let mut args: Vec<&str> = args.split(' ').collect();
        args.insert(0, "--json");
        args.push(BUDI);
        refused_for(&run(key, &args), reason);
        if let Some(actor) = recorded_actor {
            let ev = last_audit(dir, BUDI);
            assert_eq!(
                (ev["outcome"].as_str(), ev["actor"].as_str()),
                (Some("refused"), Some(actor)),
                "{reason}"
            );
        }
    }
    // The subject access export at the counter goes through the staff API too: out of
    // scope refused (and recorded); Andi's written beside him and recorded under his name.
    refused_for(
        &run(RINA_KEY, &["--json", "employee", "export", BUDI]),
        "out_of_scope",
    );
    let out = run(
        ANDI_KEY,
        &["--json", "employee", "export", BUDI, "--out", "budi.txt"],
    );
    succeeded(&out);
    let text = std::fs::read_to_string(dir.join("budi.txt")).expect("the export file");
    assert!(text.contains(BUDI), "{text}");
    assert!(
        !text.contains("Andi Wijaya"),
        "an officer's name in the export: {text}"
    );
    let ev = last_audit(dir, BUDI);
    assert_eq!(
        (
            ev["action"].as_str(),
            ev["actor"].as_str(),
            ev["office"].as_str()
        ),
        (Some("subject_access_export"), Some(ANDI), Some("KANREG-I"))
    );
    // Never over a file already there.
    refused_for(
        &run(
            ANDI_KEY,
            &["--json", "employee", "export", BUDI, "--out", "budi.txt"],
        ),
        "file_exists",
    );
    let all = json_of(&supervisor(
        dir,
        &["--json", "audit", BUDI, "--limit", "50"],
    ));
    let exports = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "subject_access_export" && e["outcome"] == "done")
        .count();
    assert_eq!(exports, 1, "an export not written was recorded: {all}");
    // Andi's e-mail change for Budi with this NIK (and more options).
    let change = |nik: &str, extra: &[&str]| {
        let mut a = vec![
            "--json",
            "email",
            "change",
            BUDI,
            "budi.baru@example.go.id",
            "--nik",
            nik,
            "--document",
            "ktp",
            "--yes",
        ];
        a.extend_from_slice(extra);
        run(ANDI_KEY, &a)
    };
    refused_for(&change("3174054509860001", &[]), "nik_mismatch");
    let ev = last_audit(dir, BUDI);
    assert_eq!(
        (
            ev["action"].as_str(),
            ev["details"]["reason"].as_str(),
            ev["actor"].as_str()
        ),
        (Some("email_change"), Some("nik_mismatch"), Some(ANDI))
    );
    let stale = (version + 5).to_string();
    refused_for(
        &change(BUDI_NIK, &["--if-version", &stale]),
        "concurrent_change",
    );

    // The change itself: decided, written and recorded by the server.
    let out = change(BUDI_NIK, &[]);
    succeeded(&out);
    let j = json_of(&out);
    assert_eq!(
        (
            j["ok"].as_bool(),
            j["new_email"].as_str(),
            j["new_notified"].as_bool()
        ),
        (Some(true), Some("budi.baru@example.go.id"), Some(true))
    );
    let ev = last_audit(dir, BUDI);
    assert_eq!(
        (
            ev["action"].as_str(),
            ev["outcome"].as_str(),
            ev["actor"].as_str(),
            ev["office"].as_str()
        ),
        (
            Some("email_change"),
            Some("changed"),
            Some(ANDI),
            Some("KANREG-I")
        )
    );
    assert_eq!(ev["details"]["nik_masked"], "************0001");
    assert_eq!(
        ev["details"]["office_name"], ANDI_OFFICE,
        "kept with the record"
    );
    // Queued by the change, delivered by the server's sender: poll the outbox (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    let confirmation = loop {
        let found = read_outbox(&dir.join("data").join("outbox"))
            .into_iter()
            .find(|m| m.to == "budi.baru@example.go.id");
        if let Some(m) = found {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no confirmation to the new address"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        confirmation
            .text
            .contains(&format!("petugas {ANDI_OFFICE}")),
        "the notice names the office as the registry does: {}",
        confirmation.text
    );

    // The guided path over the API, answering the prompts.
    let out = officer(
        &server,
        dir,
        ANDI_KEY,
        SECRET,
        &["email", "change", AYU, "ayu.baru@example.go.id"],
        &format!("{AYU_NIK}\nktp\ny\ny\n"),
    );
    succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Email berhasil diganti."));
    // Unlock, revoke and the audit trail, all through the API.
    let out = run(ANDI_KEY, &["--json", "account", "unlock", AYU]);
    succeeded(&out);
    let out = run(ANDI_KEY, &["--json", "session", "revoke", AYU, "--yes"]);
    succeeded(&out);
    let out = run(ANDI_KEY, &["--json", "audit", AYU, "--limit", "10"]);
    let trail = json_of(&out);
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "audit_viewed",
        "session_revoke",
        "account_unlock",
        "email_change",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }

    // What the counter role cannot do through the API at all: import, renumber, the
    // registry (usage error, nothing sent).
    let out = officer(&server, dir, ANDI_KEY, SECRET, &["staff", "list"], "");
    assert_eq!(out.status.code(), Some(2));
    let out = run(ANDI_KEY, &["employee", "import", "x.csv"]);
    assert_eq!(out.status.code(), Some(2));

    // The exception path through the API: ANDI records a change whose NIK carries a wrong
    // birth date; ANDI cannot approve it; EVE, registered again, another signed-in
    // principal, can.
    let out = supervisor(
        dir,
        &[
            "staff",
            "register",
            EVE,
            "--officer-id",
            "199101012016032003",
            "--name",
            "Eve Pratiwi",
            "--office-code",
            "KANREG-I",
            "--scope",
            "bkn",
        ],
    );
    assert!(out.status.success());
    let out = run(
        ANDI_KEY,
        &[
            "--json",
            "email",
            "change",
            BUDI,
            "budi.lagi@example.go.id",
            "--nik",
            "3174052709860001",
            "--document",
            "ktp",
            "--document",
            "akta_kelahiran=AL-5120-0098765",
            "--exception",
            "akta kelahiran: lahir 26-09-1986",
            "--yes",
        ],
    );
    succeeded(&out);
    assert_eq!(json_of(&out)["pending"]["requested_by"], ANDI);
    // Waiting: listed for a BKN officer (Andi's own, marked), not for Bandung's Rina.
    let out = run(ANDI_KEY, &["--json", "email", "pending"]);
    succeeded(&out);
    let waiting = json_of(&out)["waiting"].clone();
    assert_eq!(waiting.as_array().map(Vec::len), Some(1), "{waiting}");
    assert_eq!(
        (
            waiting[0]["nip"].as_str(),
            waiting[0]["yours"].as_bool(),
            waiting[0]["requested_office_name"].as_str()
        ),
        (Some(BUDI), Some(true), Some(ANDI_OFFICE))
    );
    let out = run(RINA_KEY, &["--json", "email", "pending"]);
    succeeded(&out);
    assert_eq!(json_of(&out)["waiting"], serde_json::json!([]));
    let out = run(ANDI_KEY, &["email", "pending"]);
    succeeded(&out);
    let said = String::from_utf8_lossy(&out.stdout);
    for shown in [
        BUDI,
        "Anda (tidak boleh memutuskan)",
        "sapk-admin email approve NIP",
    ] {
        assert!(said.contains(shown), "{shown:?} missing from:\n{said}");
    }
    assert!(
        !said.contains("budi.lagi@example.go.id"),
        "the address is masked in the list: {said}"
    );
    let out = run(ANDI_KEY, &["--json", "email", "approve", BUDI, "--yes"]);
    refused_for(&out, "same_officer");
    let out = run(EVE_KEY, &["--json", "email", "approve", BUDI, "--yes"]);
    succeeded(&out);
    assert_eq!(json_of(&out)["new_email"], "budi.lagi@example.go.id");
    let ev = last_audit(dir, BUDI);
    assert_eq!(
        (
            ev["outcome"].as_str(),
            ev["actor"].as_str(),
            ev["details"]["exception"]["requested_by"].as_str()
        ),
        (Some("exception_approved"), Some(EVE), Some(ANDI))
    );
    // Decided: no longer waiting.
    let out = run(EVE_KEY, &["email", "pending"]);
    succeeded(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Tidak ada pengajuan pengecualian yang menunggu"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// An officer signed in with IAM Identity Center (`aws sso login --profile loket`), as the
/// counter guide tells them: no keys anywhere, only the profile with its `sso-session` and
/// the cached access token. The SDK trades the token for the role's keys at the portal (a
/// stand-in on 127.0.0.1), signs with them, and the server knows the officer. A token the
/// portal refuses gives the hint to sign in again (exit 1), and nothing is sent unsigned.
// Two workers: the portal stand-in answers in this process while a worker waits for the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_signed_in_with_identity_center_is_known_to_the_server() {
    use sapk_e2e::sso_portal::{write_sso_profile, SsoPortal, SSO_ACCOUNT, SSO_ROLE};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir).await;
    let out = supervisor(
        dir,
        &[
            "staff",
            "register",
            ANDI,
            "--officer-id",
            "198001012005011001",
            "--name",
            "Andi Wijaya",
            "--office-code",
            "KANREG-I",
            "--scope",
            "bkn",
        ],
    );
    succeeded(&out);
    let portal = SsoPortal::start(ANDI_KEY, SECRET).await;
    let home = dir.join("home");
    write_sso_profile(&home.join(".aws"), "loket", "bkn", &portal.url, "\n");
    let show = || {
        let mut c = Command::new(workspace_bin("sapk-admin"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .current_dir(dir)
            .args(["--api", &server.base, "--profile", "loket"])
            .args(["--json", "employee", "show", BUDI]);
        run(c, "")
    };
    let out = show();
    succeeded(&out);
    assert_eq!(json_of(&out)["nip"], BUDI);
    let asked = portal.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].starts_with("/federation/credentials?")
            && asked[0].contains(&format!("account_id={SSO_ACCOUNT}"))
            && asked[0].contains(&format!("role_name={SSO_ROLE}")),
        "{asked:?}"
    );
    let ev = last_audit(dir, BUDI);
    assert_eq!(
        (ev["action"].as_str(), ev["actor"].as_str()),
        (Some("employee_viewed"), Some(ANDI)),
        "{ev}"
    );

    // The session's token no longer accepted by the portal: told to sign in again.
    let cache = home.join(".aws").join("sso").join("cache");
    for f in std::fs::read_dir(&cache).unwrap().filter_map(Result::ok) {
        let t = std::fs::read_to_string(f.path()).unwrap();
        std::fs::write(
            f.path(),
            t.replace(sapk_e2e::sso_portal::SSO_TOKEN, "revoked"),
        )
        .unwrap();
    }
    let out = show();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("aws sso login"), "{said}");
}
