//! The counter workflow end to end: the real `sapk-admin` binary on the store the API runs
//! on, locally (SQLite) and on the DynamoDB and SES stand-ins.

use sapk_core::ports::stores::*;
use sapk_e2e::*;
use std::process::{Command, Output};

const NIK: &str = "3174052609860001";
const PPPK_NIP: &str = "199009132025242014";
const PPPK_NIK: &str = "3174055309900002";
const NEW: &str = "budi.baru@example.go.id";

fn admin(args: &[&str], dir: &std::path::Path, stdin: Option<&str>) -> Output {
    let mut c = Command::new(workspace_bin("sapk-admin"));
    c.arg("--data-dir")
        .arg(dir)
        .args(["--operator", "OP-7", "--office", "KANREG-I"])
        .args(args);
    run(c, stdin)
}

/// The default employee's e-mail changed to `NEW` at the counter, the KTP seen.
fn change_email_to_new(dir: &std::path::Path) {
    let out = admin(
        &[
            "email",
            "change",
            NIP,
            NEW,
            "--nik",
            NIK,
            "--document",
            "ktp",
            "--yes",
        ],
        dir,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(mut c: Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("sapk-admin");
    if let Some(mut si) = child.stdin.take() {
        let _ = si.write_all(stdin.unwrap_or("").as_bytes());
    }
    child.wait_with_output().expect("output")
}

#[tokio::test]
async fn after_an_email_change_codes_go_to_the_new_address_and_sessions_end() {
    let app = spawn_app().await;
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    app.forgot(NIP).await; // an active code, about to die
    let old_code = app.last_code(EMAIL).await;

    change_email_to_new(app.data_dir());

    assert_eq!(
        app.session(&token).await.status,
        401,
        "the old session is gone"
    );
    assert_eq!(
        app.reset(NIP, &old_code, STRONG2).await.code(),
        "invalid_token",
        "the old code is dead"
    );
    let mails = app.outbox().await;
    let notice = mails
        .iter()
        .find(|m| m.file.ends_with("email-changed-old.eml"))
        .expect("notice to the old address");
    assert_eq!(notice.to, EMAIL);
    // The office by its name, not its code.
    assert!(
        notice
            .text
            .contains("petugas Kantor Regional I BKN Yogyakarta")
            && notice.text.contains("Jika ini bukan Anda")
            && notice.text.contains("021-8093008"),
        "{}",
        notice.text
    );
    let confirm = mails
        .iter()
        .find(|m| m.file.ends_with("email-changed-new.eml"))
        .expect("confirmation to the new address");
    assert_eq!(confirm.to, NEW);

    let before = app.outbox().await.len();
    assert_eq!(app.forgot(NIP).await.status, 202);
    let after = app.outbox().await;
    assert_eq!(after.len(), before + 1);
    assert_eq!(
        after.last().unwrap().to,
        NEW,
        "the code goes to the new address only"
    );
    let code = app.last_code(NEW).await;
    assert_eq!(app.reset(NIP, &code, STRONG2).await.status, 200);
    assert_eq!(app.login(NIP, STRONG2).await.status, 200);

    let out = admin(&["--json", "audit", NIP], app.data_dir(), None);
    let events: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rec = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "email_change")
        .expect("audit record");
    assert_eq!(
        (rec["actor"].as_str(), rec["office"].as_str()),
        (Some("OP-7"), Some("KANREG-I"))
    );
    assert_eq!(rec["details"]["old_email"]["masked"], "bu***@example.go.id");
    assert!(
        !rec.to_string().contains(EMAIL),
        "no address in full: {rec}"
    );
}

/// What an intruder with the database file could do past the triggers: the chain shows it.
fn tamper(dir: &std::path::Path, sql: &str) {
    let db = rusqlite::Connection::open(dir.join("sapk.db")).unwrap();
    db.execute_batch(sql).unwrap();
}

#[tokio::test]
async fn the_audit_trail_verifies_and_shows_a_rewrite_or_a_deletion() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    app.login(NIP, "Wrong-Password-1").await;
    // Records of the served routes and of the counter tool, on one chain.
    let out = admin(&["--json", "account", "unlock", NIP], app.data_dir(), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.login(NIP, STRONG).await;

    let out = admin(&["audit", NIP, "--verify"], app.data_dir(), None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("UTUH") && !text.contains("TIDAK UTUH"),
        "{text}"
    );
    assert!(text.contains("Disegel oleh: layanan "), "{text}");
    let out = admin(&["--json", "audit", NIP, "--verify"], app.data_dir(), None);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["problems"], serde_json::json!([]));
    let sealed = report["last_seq"].as_u64().unwrap();
    assert!(sealed >= 6, "{report}");
    // Each record shows its seal in the trail: the check's own (after what it read), then
    // this look-up's.
    let out = admin(
        &["--json", "audit", NIP, "--limit", "2"],
        app.data_dir(),
        None,
    );
    let newest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (newest[0]["action"].as_str(), newest[1]["action"].as_str()),
        (Some("audit_viewed"), Some("audit_verified"))
    );
    assert_eq!(newest[1]["link"]["seq"].as_u64(), Some(sealed + 1));
    assert_eq!(newest[0]["link"]["seq"].as_u64(), Some(sealed + 2));

    // A failed login rewritten as a success.
    tamper(
        app.data_dir(),
        &format!(
            "DROP TRIGGER audit_no_update; \
             UPDATE audit SET outcome = 'succeeded' WHERE nip = '{NIP}' AND outcome = 'failed';"
        ),
    );
    let out = admin(&["audit", NIP, "--verify"], app.data_dir(), None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("TIDAK UTUH") && text.contains("diubah"),
        "{text}"
    );

    // A record deleted from the middle.
    tamper(
        app.data_dir(),
        &format!(
            "DROP TRIGGER audit_no_delete; \
             DELETE FROM audit WHERE nip = '{NIP}' AND chain_seq = 2;"
        ),
    );
    let out = admin(
        &["--lang", "en", "--json", "audit", NIP, "--verify"],
        app.data_dir(),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["problem"] == "missing" && p["after"] == 1 && p["next"] == 3),
        "{report}"
    );
    assert!(
        problems.iter().any(|p| p["problem"] == "altered"),
        "{report}"
    );
}

#[tokio::test]
async fn unlock_and_revoke_at_the_counter() {
    let app = spawn_app().await;
    // The lock-out must be live for sapk-admin, which runs on the system clock.
    app.sync_clock_to_real_time();
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    for _ in 0..5 {
        app.login(NIP, "Wrong-Password-1").await;
    }
    assert_eq!(app.login(NIP, STRONG).await.status, 429);
    let show = admin(&["--json", "employee", "show", NIP], app.data_dir(), None);
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(v["login_failures"], 5);
    let out = admin(&["--json", "account", "unlock", NIP], app.data_dir(), None);
    assert!(out.status.success());
    assert_eq!(app.login(NIP, STRONG).await.status, 200, "unlocked");

    assert_eq!(app.session(&token).await.status, 200);
    // A code asked for before the revocation dies with it.
    app.forgot(NIP).await;
    let code = app.last_code(EMAIL).await;
    let out = admin(&["session", "revoke", NIP], app.data_dir(), Some("y\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.session(&token).await.status, 401);
    let a = app.reset(NIP, &code, STRONG2).await;
    assert_eq!((a.status, a.code().as_str()), (400, "invalid_token"));
    assert_eq!(
        app.login(NIP, STRONG).await.status,
        200,
        "the password stays"
    );
}

#[tokio::test]
async fn a_lost_authenticator_is_removed_with_sapk_admin() {
    let app = spawn_app().await;
    app.sync_clock_to_real_time();
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    app.enrol(&token).await;
    let show = json_of(&admin(
        &["--json", "employee", "show", NIP],
        app.data_dir(),
        None,
    ));
    assert_eq!(show["second_factor"], true);
    // --yes without the NIK: a usage error, nothing asked. Without --yes the NIK is asked
    // for, as for an e-mail change; none given, the core refuses (and records) it.
    let out = admin(
        &[
            "account",
            "remove-second-factor",
            NIP,
            "--document",
            "ktp",
            "--yes",
        ],
        app.data_dir(),
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let out = admin(
        &[
            "--json",
            "account",
            "remove-second-factor",
            NIP,
            "--document",
            "ktp",
        ],
        app.data_dir(),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["reason"], "no_nik");
    // A KTP of someone else, and a person the officer did not confirm: refused, with reasons.
    let args = |nik: &'static str| {
        vec![
            "--json",
            "account",
            "remove-second-factor",
            NIP,
            "--nik",
            nik,
            "--document",
            "ktp=3174052609860001",
        ]
    };
    let mut mismatch = args("3174056609860001");
    mismatch.push("--yes");
    let out = admin(&mismatch, app.data_dir(), None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["reason"], "nik_mismatch");
    let out = admin(&args(NIK), app.data_dir(), Some("n\n"));
    assert_eq!(json_of(&out)["reason"], "not_confirmed");
    assert_eq!(
        app.login(NIP, STRONG).await.json()["second_factor_required"],
        true
    );
    // Confirmed: removed, every session ended, the password alone signs in.
    let out = admin(&args(NIK), app.data_dir(), Some("y\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_of(&out)["outcome"]["was_active"], true);
    assert_eq!(app.session(&token).await.status, 401);
    assert!(app.login(NIP, STRONG).await.json()["access_token"].is_string());
    let show = json_of(&admin(
        &["--json", "employee", "show", NIP],
        app.data_dir(),
        None,
    ));
    assert_eq!(show["second_factor"], false);
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test]
async fn an_ni_pppk_recovers_changes_email_at_the_counter_and_is_renumbered() {
    let app = spawn_app().await;
    app.sync_clock_to_real_time();
    let email = "ayu.lestari@example.go.id";
    let new_email = "ayu.baru@example.go.id";
    app.seed(PPPK_NIP, "Ayu Lestari", email).await;
    // The number as printed on the SK, with spaces.
    let token = app.activate("19900913 202524 2 014", email, STRONG).await;
    let s = app.session(&token).await;
    assert_eq!((s.status, s.json()["nip"].as_str()), (200, Some(PPPK_NIP)));

    // The counter sees a PPPK, not a month that does not exist.
    let v = json_of(&admin(
        &["--json", "employee", "show", PPPK_NIP],
        app.data_dir(),
        None,
    ));
    assert_eq!(v["facts"]["kind"], "pppk");
    assert_eq!(v["facts"]["pppk_code"], 24);
    assert_eq!(v["facts"]["appointment_month"], serde_json::Value::Null);
    let human = admin(&["employee", "show", PPPK_NIP], app.data_dir(), None);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("PPPK, diangkat 2025 (kode 24)"), "{text}");
    assert!(!text.contains("TMT"), "{text}");

    let out = admin(
        &[
            "email",
            "change",
            PPPK_NIP,
            new_email,
            "--nik",
            PPPK_NIK,
            "--document",
            "ktp",
            "--yes",
        ],
        app.data_dir(),
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.session(&token).await.status, 401);
    let token = app.token(PPPK_NIP, STRONG).await;

    // A new NI PPPK at another agency: the account moves with its password and e-mail.
    let new_nip = "199009132026212001";
    let out = admin(
        &[
            "--json",
            "employee",
            "renumber",
            PPPK_NIP,
            new_nip,
            "--reason",
            "pindah-instansi",
        ],
        app.data_dir(),
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["renumbered"][0]["outcome"], "moved");
    assert_eq!(v["renumbered"][0]["notified"], true);

    // The old number answers like an unknown one.
    assert_eq!(app.session(&token).await.status, 401);
    let old_login = app.login(PPPK_NIP, STRONG).await;
    assert_eq!(
        (old_login.status, old_login.json()["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let mails_before = app.outbox().await.len();
    assert_eq!(app.forgot(PPPK_NIP).await.status, 202);
    assert_eq!(
        app.outbox().await.len(),
        mails_before,
        "no code for the old number"
    );
    // The new one logs in with the same password; the counter-verified e-mail came along.
    let t2 = app.token(new_nip, STRONG).await;
    assert_eq!(app.session(&t2).await.json()["nip"], new_nip);
    let v = json_of(&admin(
        &["--json", "employee", "show", new_nip],
        app.data_dir(),
        None,
    ));
    assert_eq!(v["email"], new_email);
    assert!(v["email_verified_at"].is_string(), "{v}");
    let notice = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m.file.ends_with("nip-changed.eml"))
        .expect("notice of the new number");
    assert_eq!(notice.to, new_email);
    assert!(
        notice.text.contains("19900913 202621 2 001"),
        "{}",
        notice.text
    );
    let trail = |nip: &str| {
        json_of(&admin(&["--json", "audit", nip], app.data_dir(), None))
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "account_renumber")
            .map(|e| e["outcome"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(trail(PPPK_NIP), ["moved_out"]);
    assert_eq!(trail(new_nip), ["moved_in"]);

    // A mapping whose numbers disagree on the birth date is refused unless it is a
    // correction; a Kanreg export with semicolons and Indonesian headers.
    let map = app.data_dir().join("pemetaan.csv");
    std::fs::write(
        &map,
        format!(
            "\u{feff}nip_lama;nip_baru;alasan\n\
             {new_nip};199009142027012001;pppk-ke-pns\n\
             {new_nip};199009132027012001;pppk-ke-pns\n\
             199101012020121001;199101012021211001;pindah-instansi\n"
        ),
    )
    .unwrap();
    let out = admin(
        &[
            "--json",
            "employee",
            "renumber",
            "--file",
            map.to_str().unwrap(),
        ],
        app.data_dir(),
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["renumbered"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["renumbered"][0]["new_nip"], "199009132027012001");
    assert_eq!(v["renumbered"][0]["kind"], "pns");
    let lines: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4], "{v}");
    assert_eq!(app.token("199009132027012001", STRONG).await.len(), 43);
    // Running the same mapping again changes nothing more.
    let v = json_of(&admin(
        &[
            "--json",
            "employee",
            "renumber",
            "--file",
            map.to_str().unwrap(),
        ],
        app.data_dir(),
        None,
    ));
    assert_eq!(v["renumbered"][0]["outcome"], "already_moved");
}

#[tokio::test]
async fn an_import_never_undoes_a_counter_email_change() {
    let app = spawn_app().await;
    app.sync_clock_to_real_time();
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    app.forgot(NIP).await;
    let old_code = app.last_code(EMAIL).await;
    change_email_to_new(app.data_dir());
    // The usual export, still with the old address, and a new name.
    let csv = app.data_dir().join("ekspor.csv");
    std::fs::write(
        &csv,
        format!("nip,name,email\n{NIP},Budi Santoso S.Kom,{EMAIL}\n"),
    )
    .unwrap();
    let out = admin(
        &["--json", "employee", "import", csv.to_str().unwrap()],
        app.data_dir(),
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["kept_counter_email"], 1, "{v}");
    let shown = json_of(&admin(
        &["--json", "employee", "show", NIP],
        app.data_dir(),
        None,
    ));
    assert_eq!(shown["email"], NEW);
    assert_eq!(shown["name"], "Budi Santoso S.Kom");
    // The code sent to the old address before the change is dead, the session too.
    assert_eq!(app.reset(NIP, &old_code, STRONG2).await.status, 400);
    assert_eq!(app.session(&token).await.status, 401);
    assert_eq!(app.forgot(NIP).await.status, 202);
    assert!(
        last_code_in(&app.outbox().await, NEW).is_some(),
        "codes go to the new address"
    );
    // No record of the whole trail (the import that kept the counter's address, the
    // change, the look-ups) holds either address in full.
    let trail = admin(
        &["--json", "audit", NIP, "--limit", "500"],
        app.data_dir(),
        None,
    );
    let trail = String::from_utf8_lossy(&trail.stdout).into_owned();
    assert!(trail.contains("kept_counter_email"), "{trail}");
    for address in [EMAIL, NEW] {
        assert!(!trail.contains(address), "{address} in full: {trail}");
    }
}

#[tokio::test]
async fn an_import_that_changes_an_email_ends_codes_and_tells_the_old_address() {
    let app = spawn_app().await;
    app.sync_clock_to_real_time();
    let nip = "199203242015032001";
    app.seed(nip, "Dewi Lestari", "dewi.lama@example.go.id")
        .await;
    app.forgot(nip).await;
    let old_code = app.last_code("dewi.lama@example.go.id").await;
    let csv = app.data_dir().join("ekspor.csv");
    std::fs::write(
        &csv,
        format!("nip,name,email\n{nip},Dewi Lestari,dewi.baru@example.go.id\n"),
    )
    .unwrap();
    let out = admin(
        &["--json", "employee", "import", csv.to_str().unwrap()],
        app.data_dir(),
        None,
    );
    assert_eq!(json_of(&out)["updated"], 1);
    let a = app.reset(nip, &old_code, STRONG).await;
    assert_eq!((a.status, a.code().as_str()), (400, "invalid_token"));
    let notice = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m.to == "dewi.lama@example.go.id" && m.file.ends_with("email-changed-old.eml"))
        .expect("notice to the old address");
    assert!(
        notice.text.contains("BKPSDM") && notice.text.contains("de***"),
        "{}",
        notice.text
    );
}

mod on_aws {
    use super::*;
    use sapk_e2e::aws::*;

    fn admin_aws(args: &[&str], tables: &sapk_aws::TableNames, key: &str) -> Output {
        let mut c = Command::new(workspace_bin("sapk-admin"));
        c.args([
            "--store",
            "dynamodb",
            "--operator",
            "OP-9",
            "--office",
            "KANREG-II",
        ])
        .args(args)
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_url())
        // moto answers sts:GetCallerIdentity: the actor recorded for direct actions.
        .env("AWS_ENDPOINT_URL_STS", dynamodb_url())
        .env("AWS_ENDPOINT_URL_SESV2", ses_url())
        .env("AWS_REGION", "ap-southeast-3")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SAPK_TABLE_ACCOUNTS", &tables.accounts)
        .env("SAPK_TABLE_EPHEMERAL", &tables.ephemeral)
        .env("SAPK_TABLE_AUDIT", &tables.audit)
        .env("SAPK_TABLE_STAFF", &tables.staff)
        .env("SAPK_MAIL_FROM", "SAPK BKN <no-reply@sapk.example.go.id>")
        .env("SAPK_TOKEN_KEY", key)
        .env(
            "SAPK_PII_KEY",
            "cGlpLWtleS1mb3ItdGVzdHMtb25seS0zMi1ieXRlcy1sb25nISE=",
        );
        run(c, None)
    }

    #[tokio::test]
    async fn email_change_on_dynamodb_and_ses() {
        email_change_on_dynamodb_and_ses_for(NIP, NIK, "budi").await;
    }

    #[tokio::test]
    async fn email_change_for_an_ni_pppk_on_dynamodb_and_ses() {
        // Ayu, female, born 1990-09-13: the KTP's day is 13 + 40.
        email_change_on_dynamodb_and_ses_for(PPPK_NIP, PPPK_NIK, "ayu").await;
    }

    async fn email_change_on_dynamodb_and_ses_for(nip: &str, nik: &str, who: &str) {
        let tables = fresh_tables(&dynamodb_url()).await;
        let env = function_env(&tables);
        let f = functions(&dynamodb_url(), &env).await;
        let key = env["SAPK_TOKEN_KEY"].clone();
        // Addresses no other test of this process uses (the SES stand-in keeps every message).
        let pid = std::process::id();
        let old = format!("{who}.loket.{pid}@example.go.id");
        let new = format!("{who}.loket.baru.{pid}@example.go.id");

        let csv = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            csv.path(),
            format!("nip,name,email\n{nip},Pegawai {who},{old}\n"),
        )
        .unwrap();
        let out = admin_aws(
            &["employee", "import", csv.path().to_str().unwrap()],
            &tables,
            &key,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let token = f.activate(nip, &old, STRONG).await;

        let out = admin_aws(
            &[
                "--json",
                "email",
                "change",
                nip,
                &new,
                "--nik",
                nik,
                "--document",
                "ktp",
                "--yes",
            ],
            &tables,
            &key,
        );
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (v["old_notified"].as_bool(), v["new_notified"].as_bool()),
            (Some(true), Some(true))
        );

        let (s, _, _) = invoke(&f.login, "GET", "/v1/session", None, Some(&token)).await;
        assert_eq!(s, 401, "the old session is gone");
        let notices: Vec<_> = ses_mail_for(&old)
            .await
            .into_iter()
            .filter(|m| m["subject"] == "Email akun SAPK Anda telah diganti")
            .collect();
        assert_eq!(notices.len(), 1, "notice to the old address");
        assert_eq!(
            ses_mail_for(&new).await.len(),
            1,
            "confirmation to the new address"
        );

        f.post_forgot(nip).await;
        assert!(
            ses_code_for(&new).await.is_some(),
            "the code goes to the new address"
        );
        let codes_to_old = ses_mail_for(&old)
            .await
            .into_iter()
            .filter(|m| m["subject"] == "Kode reset password SAPK")
            .count();
        assert_eq!(
            codes_to_old, 1,
            "only the first code went to the old address"
        );

        let out = admin_aws(&["--json", "audit", nip], &tables, &key);
        let events: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let rec = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "email_change")
            .expect("audit record");
        // On DynamoDB the actor is the AWS identity of the credentials (moto's), not the
        // --operator flag.
        let actor = rec["actor"].as_str().unwrap_or_default();
        assert!(actor.starts_with("arn:aws:") && actor != "OP-9", "{actor}");
        assert_eq!(rec["office"].as_str(), Some("KANREG-II"));
    }
}

mod registry {
    use super::*;
    use sapk_core::ports::{Officer, StaffScope};
    use sapk_core::staff::{Forbidden, Operator, StaffError};

    fn officer(principal: &str, scope: StaffScope) -> Officer {
        Officer {
            principal: principal.into(),
            // One person each: the officer ID follows the principal.
            officer_id: if principal.contains("andi") {
                "198807122019032001".into()
            } else {
                "199001012015031002".into()
            },
            name: "Rina  Kartika".into(),
            office: "BKPSDM-KOTA-BANDUNG".into(),
            scope,
            active: true,
            updated_at: chrono::Utc::now(),
            office_name: None,
        }
    }

    #[tokio::test]
    async fn only_registered_active_officers_act_and_agency_officers_only_on_their_own() {
        let app = spawn_app().await;
        let svc = &app.service;
        app.seed_default().await; // Budi, no instansi
        svc.staff()
            .import_employee(
                &sapk_core::staff::EmployeeRow {
                    nip: PPPK_NIP.into(),
                    name: "Ayu Lestari".into(),
                    email: "ayu@example.go.id".into(),
                    instansi: Some("Pemerintah Kota Bandung".into()),
                },
                &Operator {
                    id: "t".into(),
                    office: "T".into(),
                    officer_id: None,
                    scope: None,
                    office_name: None,
                },
            )
            .await
            .unwrap();
        let supervisor = Operator {
            id: "arn:aws:sts::1:assumed-role/Supervisor/sri".into(),
            office: "KANREG-III".into(),
            officer_id: None,
            scope: None,
            office_name: None,
        };
        let agency = "arn:aws:sts::1:assumed-role/AWSReservedSSO_CounterStaff_1/rina@bandung.go.id";
        let kanreg = "arn:aws:sts::1:assumed-role/AWSReservedSSO_CounterStaff_1/andi@bkn.go.id";
        let nip = sapk_core::Nip::from_stored(NIP).unwrap();
        let pppk = sapk_core::Nip::from_stored(PPPK_NIP).unwrap();

        // Unregistered: refused and audited in the employee's trail.
        let r = svc.staff().authorize_officer(kanreg, Some(&nip)).await;
        assert!(
            matches!(r, Err(StaffError::Forbidden(Forbidden::Unregistered))),
            "{r:?}"
        );
        let trail = app.store.list_audit(&nip, 10).await.unwrap();
        assert_eq!(
            (
                trail[0].action.as_str(),
                trail[0].outcome.as_str(),
                trail[0].actor.as_str()
            ),
            ("staff_request", "refused", kanreg)
        );

        svc.staff()
            .register_officer(
                officer(
                    agency,
                    StaffScope::Instansi("Pemerintah Kota Bandung".into()),
                ),
                &supervisor,
                false,
            )
            .await
            .unwrap();
        svc.staff()
            .register_officer(officer(kanreg, StaffScope::Bkn), &supervisor, false)
            .await
            .unwrap();
        let rina = svc.staff().authorize_officer(agency, None).await.unwrap();
        assert_eq!(rina.name, "Rina Kartika", "names are cleaned");
        assert_eq!(rina.operator().id, agency, "audit names the IAM principal");
        let andi = svc.staff().authorize_officer(kanreg, None).await.unwrap();

        let budi = app.store.get_account(&nip).await.unwrap().unwrap();
        let ayu = app.store.get_account(&pppk).await.unwrap().unwrap();
        // The agency officer: their own employee yes, another (or none) no, audited.
        svc.staff()
            .check_scope(&rina, &ayu, sapk_core::audit_text::Action::EmailChange)
            .await
            .unwrap();
        let r = svc
            .staff()
            .check_scope(&rina, &budi, sapk_core::audit_text::Action::EmailChange)
            .await;
        assert!(
            matches!(r, Err(StaffError::Forbidden(Forbidden::OutOfScope))),
            "{r:?}"
        );
        let trail = app.store.list_audit(&nip, 10).await.unwrap();
        assert_eq!(
            (
                trail[0].outcome.as_str(),
                trail[0].details["reason"].as_str()
            ),
            ("refused", Some("out_of_scope"))
        );
        assert_eq!(trail[0].office.as_deref(), Some("BKPSDM-KOTA-BANDUNG"));
        // A second agency's employee: refused; the officer's own agency written with other
        // case and spacing: the same agency.
        for (nip, instansi) in [
            ("198507152010012004", "Pemerintah Kota Bogor"),
            ("199203142022211001", "  pemerintah KOTA   bandung "),
        ] {
            let row = sapk_core::staff::EmployeeRow {
                nip: nip.into(),
                name: "Pegawai Lain".into(),
                email: format!("{nip}@example.go.id"),
                instansi: Some(instansi.into()),
            };
            svc.staff()
                .import_employee(&row, &supervisor)
                .await
                .unwrap();
        }
        let account = |nip: &str| {
            let nip = sapk_core::Nip::from_stored(nip).unwrap();
            let store = app.store.clone();
            async move { store.get_account(&nip).await.unwrap().unwrap() }
        };
        let bogor = account("198507152010012004").await;
        let r = svc
            .staff()
            .check_scope(&rina, &bogor, sapk_core::audit_text::Action::EmailChange)
            .await;
        assert!(
            matches!(r, Err(StaffError::Forbidden(Forbidden::OutOfScope))),
            "another agency: {r:?}"
        );
        let spaced = account("199203142022211001").await;
        svc.staff()
            .check_scope(&rina, &spaced, sapk_core::audit_text::Action::EmailChange)
            .await
            .unwrap();
        // A BKN office: anyone.
        svc.staff()
            .check_scope(&andi, &bogor, sapk_core::audit_text::Action::EmailChange)
            .await
            .unwrap();
        svc.staff()
            .check_scope(&andi, &budi, sapk_core::audit_text::Action::EmailChange)
            .await
            .unwrap();
        svc.staff()
            .check_scope(&andi, &ayu, sapk_core::audit_text::Action::EmailChange)
            .await
            .unwrap();

        // Deactivated: refused.
        let mut off = rina.clone();
        off.active = false;
        svc.staff()
            .register_officer(off, &supervisor, false)
            .await
            .unwrap();
        let r = svc.staff().authorize_officer(agency, Some(&pppk)).await;
        assert!(
            matches!(r, Err(StaffError::Forbidden(Forbidden::Deactivated))),
            "{r:?}"
        );
        assert_eq!(app.store.list_officers().await.unwrap().len(), 2);
    }
}

fn admin_as(op: &str, args: &[&str], dir: &std::path::Path, stdin: Option<&str>) -> Output {
    let mut c = Command::new(workspace_bin("sapk-admin"));
    c.arg("--data-dir")
        .arg(dir)
        .args(["--operator", op, "--office", "KANREG-I"])
        .args(args);
    run(c, stdin)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A KTP whose NIK carries a wrong birth date (Dukcapil keeps the number): the guided flow
/// offers an exception after the retries, the request changes nothing, the requester cannot
/// approve it, a second officer can, and the trail shows both.
#[tokio::test]
async fn a_nik_with_a_wrong_birth_date_goes_to_a_second_officer() {
    let app = spawn_app().await;
    app.seed_default().await;
    let run_as = |op: &str, args: &[&str]| admin_as(op, args, app.data_dir(), None);
    let token = app.activate(NIP, EMAIL, STRONG).await;
    // Born 27-09-86; the NIP says 26-09-1986.
    let wrong = "3174 0527 0986 0001";
    // A scripted exception request by RINA with these documents and this reason.
    let request = |documents: &[&str], why: &str| {
        let mut args = vec!["--json", "email", "change", NIP, "lagi@example.go.id"];
        args.extend(["--nik", wrong]);
        for d in documents {
            args.extend(["--document", d]);
        }
        args.extend(["--exception", why, "--yes"]);
        run_as("RINA", &args)
    };
    let answers = format!(
        "{wrong}\n{wrong}\n{wrong}\ny\nktp, akta_kelahiran\nAL 5120 0098765\ny\nAkta kelahiran asli dan surat keterangan Dukcapil: lahir 26-09-1986\ny\n"
    );
    let out = admin_as(
        "RINA",
        &["email", "change", NIP, NEW],
        app.data_dir(),
        Some(&answers),
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("NIK: lahir 27-09-86"), "{said}");
    assert!(said.contains("ajukan pengecualian"), "{said}");
    assert!(said.contains("email BELUM diganti"), "{said}");
    assert!(
        said.contains(&format!("sapk-admin email approve {NIP}")),
        "{said}"
    );
    assert_eq!(app.session(&token).await.status, 200, "nothing changed yet");
    // Listed as waiting, marked for its requester, with the command that decides it.
    let out = run_as("RINA", &["email", "pending"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for shown in [NIP, "Anda (tidak boleh memutuskan)", "email approve NIP"] {
        assert!(said.contains(shown), "{shown:?} missing from:\n{said}");
    }
    let out = run_as("SUPERVISOR-2", &["--json", "email", "pending"]);
    let waiting = json_of(&out)["waiting"].clone();
    assert_eq!(
        (waiting[0]["nip"].as_str(), waiting[0]["yours"].as_bool()),
        (Some(NIP), Some(false)),
        "{waiting}"
    );

    // The requester alone: refused, whatever they answer, and before any question (no
    // answer is typed: a question would read end of input and say "cancelled").
    let out = run_as("RINA", &["email", "approve", NIP, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("tidak boleh menyetujuinya sendiri"));
    let out = admin_as("RINA", &["email", "approve", NIP], app.data_dir(), Some(""));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("tidak boleh menyetujuinya sendiri"), "{said}");
    assert!(
        !said.contains("Setujui dan ganti email"),
        "asked first: {said}"
    );

    // A second officer reads the request and approves it.
    let out = admin_as(
        "SUPERVISOR-2",
        &["email", "approve", NIP],
        app.data_dir(),
        Some("y\n"),
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for shown in [
        "Menurut NIK",
        "27-09-86",
        "akta_kelahiran *********8765",
        "RINA (Kantor Regional I BKN Yogyakarta)",
        "Email berhasil diganti.",
    ] {
        assert!(said.contains(shown), "{shown:?} missing from:\n{said}");
    }
    assert!(
        !said.contains("0098765"),
        "the document number is shown masked"
    );
    assert_eq!(app.session(&token).await.status, 401, "sessions ended");
    let out = run_as("RINA", &["--json", "audit", NIP, "--limit", "5"]);
    let events = json_of(&out);
    let change = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "email_change")
        .expect("the change");
    assert_eq!(change["outcome"], "exception_approved");
    assert_eq!(change["actor"], "SUPERVISOR-2");
    assert_eq!(change["details"]["exception"]["requested_by"], "RINA");
    let out = run_as("RINA", &["audit", NIP, "--limit", "5"]);
    assert!(
        text(&out).contains("pengecualian disetujui"),
        "{}",
        text(&out)
    );

    // Scripted, without evidence besides the KTP: refused; nothing waits to approve.
    let out = request(&["ktp"], "akta kelahiran");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["reason"], "no_evidence");
    let out = run_as(
        "SUPERVISOR-2",
        &["--json", "email", "approve", NIP, "--yes"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["reason"], "no_pending_exception");
    // With the evidence: recorded, then turned down by the second officer.
    let out = request(
        &["ktp", "surat_dukcapil=470/55/2026"],
        "surat keterangan Dukcapil",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_of(&out)["pending"]["mismatch"][0], "birth_date");
    // Turning it down shows the request and asks; "no" leaves it waiting.
    let out = admin_as(
        "SUPERVISOR-2",
        &["email", "reject", NIP, "--why", "surat tidak asli"],
        app.data_dir(),
        Some("t\n"),
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("Menurut NIK") && said.contains("Tolak pengajuan ini?"),
        "{said}"
    );
    let out = admin_as(
        "SUPERVISOR-2",
        &["email", "reject", NIP, "--why", "surat tidak asli"],
        app.data_dir(),
        Some("y\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run_as("SUPERVISOR-2", &["email", "approve", NIP, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("Tidak ada pengajuan pengecualian"));
}

/// Someone who can write the store file (the triggers dropped) but does not hold the audit
/// key, hiding records in each of the ways the rows alone cannot show: an unsealed record
/// added after the sealed ones, the newest records deleted, the oldest deleted, a whole
/// chain deleted with its kept head, and the store put back to an older consistent state.
/// `audit --verify` reports every one (exit 1).
mod without_the_key {
    use super::*;

    /// An employee with a chain of records, and a checkpoint of it in the archive.
    async fn chain_and_checkpoint() -> (TestApp, u64) {
        let app = spawn_app().await;
        app.seed_default().await;
        app.activate(NIP, EMAIL, STRONG).await;
        for _ in 0..3 {
            app.login(NIP, "Wrong-Password-1").await;
        }
        app.login(NIP, STRONG).await;
        let out = admin(&["audit", "--checkpoint"], app.data_dir(), None);
        assert!(out.status.success(), "{}", text(&out));
        let report = verify_json(&app).await;
        assert_eq!(report["problems"], serde_json::json!([]), "{report}");
        assert!(report["checkpoint_at"].is_string(), "{report}");
        (app, report["last_seq"].as_u64().unwrap())
    }

    async fn verify_json(app: &TestApp) -> serde_json::Value {
        let out = admin(&["--json", "audit", NIP, "--verify"], app.data_dir(), None);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)))
    }

    /// Verifies; asserts exit 1 and a problem named `problem`.
    fn reported(app: &TestApp, problem: &str) -> serde_json::Value {
        let out = admin(&["--json", "audit", NIP, "--verify"], app.data_dir(), None);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            report["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["problem"] == problem),
            "{problem} not in {report}"
        );
        report
    }

    #[tokio::test]
    async fn an_unsealed_record_added_after_the_sealed_ones() {
        let (app, _) = chain_and_checkpoint().await;
        let now = chrono::Utc::now().timestamp_micros();
        tamper(
            app.data_dir(),
            &format!(
                "INSERT INTO audit (at, actor, nip, action, outcome, details) \
                 VALUES ({now}, 'self', '{NIP}', 'login', 'succeeded', 'null');"
            ),
        );
        reported(&app, "unchained_after_chain");
    }

    #[tokio::test]
    async fn the_newest_records_deleted() {
        let (app, last) = chain_and_checkpoint().await;
        tamper(
            app.data_dir(),
            &format!(
                "DROP TRIGGER audit_no_delete; \
                 DELETE FROM audit WHERE nip = '{NIP}' AND chain_seq > {};",
                last - 2
            ),
        );
        let r = reported(&app, "tail_missing");
        assert!(r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["held"] == last - 2));
    }

    #[tokio::test]
    async fn the_oldest_records_deleted() {
        let (app, _) = chain_and_checkpoint().await;
        tamper(
            app.data_dir(),
            &format!(
                "DROP TRIGGER audit_no_delete; \
                 DELETE FROM audit WHERE nip = '{NIP}' AND chain_seq <= 2;"
            ),
        );
        reported(&app, "missing");
    }

    #[tokio::test]
    async fn a_whole_chain_deleted_with_its_head() {
        let (app, last) = chain_and_checkpoint().await;
        tamper(
            app.data_dir(),
            &format!(
                "DROP TRIGGER audit_no_delete; \
                 DELETE FROM audit WHERE nip = '{NIP}'; \
                 DELETE FROM audit_heads WHERE chain = '{NIP}';"
            ),
        );
        let r = reported(&app, "behind_checkpoint");
        assert!(r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["checkpoint"] == last && p["held"] == 0));
        // A checkpoint written afterwards (sapk-local writes one at each start and every
        // hour) keeps what the earlier one saw: the deletion still shows.
        let out = admin(&["audit", "--checkpoint"], app.data_dir(), None);
        assert!(out.status.success(), "{}", text(&out));
        reported(&app, "behind_checkpoint");
    }

    #[tokio::test]
    async fn the_checkpoints_deleted_or_an_old_one_renamed_newest() {
        let (app, _) = chain_and_checkpoint().await;
        let dir = app.data_dir().join("audit-checkpoints");
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        // An old checkpoint copied under a newer name is passed over: the trail says which
        // checkpoint was written last, and the archive no longer holds it as its newest.
        let newer = dir.join("checkpoint-09999999999999999999.json");
        std::fs::copy(&files[0], &newer).unwrap();
        for f in &files {
            let mut p = std::fs::metadata(f).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            p.set_readonly(false);
            std::fs::set_permissions(f, p).unwrap();
            std::fs::remove_file(f).unwrap();
        }
        reported(&app, "checkpoint_missing");
    }

    #[tokio::test]
    async fn a_planted_row_cannot_stop_the_trail_and_a_foreign_trigger_refuses_the_store() {
        let (app, _) = chain_and_checkpoint().await;
        // A row at id -1 (an id SQLite's triggers read for every automatic id).
        tamper(
            app.data_dir(),
            "INSERT INTO audit (id, at, actor, action, outcome, details) \
             VALUES (-1, 0, 'x', 'x', 'x', 'null');",
        );
        let before = verify_json(&app).await["records"].as_u64().unwrap();
        app.login(NIP, "Wrong-Password-1").await;
        let out = admin(&["--json", "audit", NIP, "--verify"], app.data_dir(), None);
        let after: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            after["records"].as_u64().unwrap() > before,
            "appends go on: {after}"
        );
        // A trigger that drops one NIP's records silently: the store refuses to open.
        tamper(
            app.data_dir(),
            &format!(
                "CREATE TRIGGER hide BEFORE INSERT ON audit WHEN NEW.nip = '{NIP}' \
                 BEGIN SELECT RAISE(IGNORE); END;"
            ),
        );
        let out = admin(&["audit", NIP, "--verify"], app.data_dir(), None);
        assert_ne!(out.status.code(), Some(0), "{}", text(&out));
        assert!(text(&out).contains("hide"), "{}", text(&out));
    }

    #[tokio::test]
    async fn an_unsealed_record_dated_before_the_chain_or_unreadable_details() {
        let (app, _) = chain_and_checkpoint().await;
        tamper(
            app.data_dir(),
            &format!(
                "INSERT INTO audit (at, actor, nip, source_ip, action, outcome, details) \
                 VALUES (1, 'self', '{NIP}', '10.6.6.6', 'login', 'succeeded', 'null');"
            ),
        );
        reported(&app, "unchained_after_chain");
        let (app, _) = chain_and_checkpoint().await;
        tamper(
            app.data_dir(),
            &format!(
                "DROP TRIGGER audit_no_update; \
                 UPDATE audit SET details = 'officer OP1 changed the e-mail' \
                 WHERE nip = '{NIP}' AND details = 'null';"
            ),
        );
        reported(&app, "altered");
    }

    #[tokio::test]
    async fn the_store_put_back_to_an_older_consistent_state() {
        let app = spawn_app().await;
        app.seed_default().await;
        app.activate(NIP, EMAIL, STRONG).await;
        // The state an intruder saves: the rows so far and the kept head.
        let db = rusqlite::Connection::open(app.data_dir().join("sapk.db")).unwrap();
        let (max_id, seq, mac, seal): (i64, i64, String, String) = db
            .query_row(
                &format!(
                    "SELECT (SELECT max(id) FROM audit), seq, mac, seal FROM audit_heads WHERE chain = '{NIP}'"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        drop(db);
        // Later: more activity, and the hourly checkpoint.
        for _ in 0..2 {
            app.login(NIP, "Wrong-Password-1").await;
        }
        let out = admin(&["audit", "--checkpoint"], app.data_dir(), None);
        assert!(out.status.success(), "{}", text(&out));
        // Put back: the newer rows gone, the saved head restored (rows and head agree).
        tamper(
            app.data_dir(),
            &format!(
                "DROP TRIGGER audit_no_delete; \
                 DELETE FROM audit WHERE id > {max_id}; \
                 UPDATE audit_heads SET seq = {seq}, mac = '{mac}', seal = '{seal}' WHERE chain = '{NIP}';"
            ),
        );
        reported(&app, "behind_checkpoint");
        // And after the next checkpoint too.
        let out = admin(&["audit", "--checkpoint"], app.data_dir(), None);
        assert!(out.status.success(), "{}", text(&out));
        reported(&app, "behind_checkpoint");
    }
}

/// A locked account looks locked at the counter: "LOGIN TERKUNCI", until when (in the
/// office's zone), from which network, and the command that lifts it; after the unlock, not.
#[tokio::test]
async fn a_locked_account_shows_its_lock_and_how_to_lift_it() {
    let app = spawn_app().await;
    app.sync_clock_to_real_time();
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    let mut refused = 0;
    for _ in 0..8 {
        if app.login(NIP, "Salah-Sandi-123").await.status == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "never locked");
    assert_eq!(app.login(NIP, STRONG).await.status, 429);
    let out = admin(&["employee", "show", NIP], app.data_dir(), None);
    // Read as the officer does, across the wrapped lines of a value.
    let said = text(&out).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(out.status.success(), "{said}");
    for shown in [
        "LOGIN TERKUNCI",
        "terkunci sampai",
        " WIB",
        "untuk alamat 127.0.0.x",
        &format!("sapk-admin account unlock {NIP}"),
    ] {
        assert!(said.contains(shown), "{shown:?} missing from:\n{said}");
    }
    // A login from another network does not clear this one's lock, nor hide it.
    let other = client_from(Some("127.0.0.2".parse().unwrap()));
    let r = other
        .post(format!("{}/v1/login", app.base))
        .json(&serde_json::json!({ "nip": NIP, "password": STRONG }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.login(NIP, STRONG).await.status, 429);
    let v = json_of(&admin(
        &["--json", "employee", "show", NIP],
        app.data_dir(),
        None,
    ));
    assert!(v["locked_until"].is_string(), "{v}");
    assert_eq!(v["locked_source"], "127.0.0.x", "{v}");
    let out = admin(&["account", "unlock", NIP], app.data_dir(), None);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&admin(&["employee", "show", NIP], app.data_dir(), None));
    assert!(
        said.contains("tidak terkunci") && !said.contains("LOGIN TERKUNCI"),
        "{said}"
    );
    assert_eq!(app.login(NIP, STRONG).await.status, 200);
}
