//! `sapk-admin.exe`, the Windows build of the counter tool, under Wine, as an officer at a
//! Windows office PC uses it: through the staff API (`--api`), signed with the credentials of
//! the standard AWS chain as Windows keeps them (`%USERPROFILE%\.aws\credentials`, then an IAM
//! Identity Center profile with its cached token beside it), against the
//! real `sapk-local` in its development gateway mode. `scripts/windows-counter` builds the
//! `.exe`, prepares a Wine prefix and runs this test with `SAPK_TEST_WINDOWS_EXE` and
//! `WINEPREFIX` set; it is ignored otherwise (it needs Wine).

use sapk_e2e::iam_server::{run, start, ANDI, ANDI_KEY, SECRET};
use sapk_e2e::sso_portal::{write_sso_profile, SsoPortal};
use sapk_e2e::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const AYU: &str = "199009132025242014";
const AYU_NIK: &str = "3174055309900002";

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The Windows user's profile folder in the Wine prefix (`C:\users\<user>`).
fn user_profile(prefix: &Path) -> PathBuf {
    let users = prefix.join("drive_c/users");
    std::fs::read_dir(&users)
        .expect("the prefix's users")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n != "Public") && p.is_dir())
        .expect("a Windows user in the prefix")
}

/// `sapk-admin.exe ARGS` under Wine, with only what a Windows PC has: no AWS variables (the
/// credentials are the profile's), no Unix home.
fn windows_admin(exe: &Path, prefix: &Path, args: &[&str], stdin: &str) -> Output {
    let mut c = Command::new("wine");
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WINEPREFIX", prefix)
        .env("WINEDEBUG", "-all")
        .env("AWS_REGION", "ap-southeast-3")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .arg(exe)
        .args(args);
    run(c, stdin)
}

// Two workers: the SSO portal stand-in answers in this process while a worker waits for Wine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Wine and the Windows build: scripts/windows-counter runs it"]
async fn the_windows_counter_tool_works_under_wine() {
    let exe = PathBuf::from(std::env::var("SAPK_TEST_WINDOWS_EXE").expect("SAPK_TEST_WINDOWS_EXE"));
    let prefix = PathBuf::from(std::env::var("WINEPREFIX").expect("WINEPREFIX"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = start(dir).await;
    // The supervisor registers Andi (on Linux, directly on the data directory).
    let mut reg = Command::new(workspace_bin("sapk-admin"));
    reg.arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--operator", "SUPERVISOR-1", "--office", "KANREG-III"])
        .args([
            "staff",
            "register",
            ANDI,
            "--officer-id",
            "198001012005011001",
        ])
        .args([
            "--name",
            "Andi Wijaya",
            "--office-code",
            "KANREG-IV",
            "--scope",
            "bkn",
        ]);
    let out = run(reg, "");
    assert!(out.status.success(), "{}", text(&out));
    // Andi's keys where the AWS chain looks on Windows.
    let aws = user_profile(&prefix).join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\r\naws_access_key_id = {ANDI_KEY}\r\naws_secret_access_key = {SECRET}\r\n"
        ),
    )
    .unwrap();
    let api = server.base.clone();
    let admin = |args: &[&str], stdin: &str| {
        let mut all = vec!["--api", api.as_str()];
        all.extend_from_slice(args);
        windows_admin(&exe, &prefix, &all, stdin)
    };

    // The employee, the NIP typed as printed (in groups): Indonesian, no escape codes.
    let out = admin(&["employee", "show", "19900913", "202524", "2", "014"], "");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    for shown in [
        "Ayu Lestari",
        "Perempuan",
        "Status akun",
        "Kunci login",
        "tidak terkunci",
    ] {
        assert!(said.contains(shown), "{shown:?} missing from:\n{said}");
    }
    assert!(
        !said.contains('\u{1b}'),
        "escape codes in a console: {said:?}"
    );
    assert!(
        said.lines().all(|l| l.chars().count() <= 100),
        "wider than 100 columns:\n{said}"
    );

    // A usage error (2) and a refusal (1).
    let out = admin(&["employee", "show"], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("Penggunaan"), "{}", text(&out));
    let out = admin(&["employee", "show", "198212312010011002"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // The guided e-mail change, typed at its prompts: the NIK, the documents (the SK PPPK's
    // number left empty), the person confirmed, the change confirmed.
    let out = admin(
        &["email", "change", AYU, "ayu.baru@example.go.id"],
        &format!("{AYU_NIK}\r\nktp,sk_pppk\r\n\r\nya\r\nya\r\n"),
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("Email berhasil diganti"), "{said}");
    assert!(
        said.contains("sk_pppk"),
        "the PPPK's documents are offered: {said}"
    );
    // Recorded under Andi's principal, signed from the Windows profile's keys.
    let out = admin(&["--json", "audit", AYU, "--limit", "3"], "");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(ANDI) && said.contains("email_change"),
        "{said}"
    );

    // Signed in with IAM Identity Center instead (`aws sso login --profile loket` on the
    // PC): the profile and the cached token in %USERPROFILE%\.aws, traded for the role's
    // keys at the portal (a stand-in here).
    let portal = SsoPortal::start(ANDI_KEY, SECRET).await;
    write_sso_profile(&aws, "loket", "bkn", &portal.url, "\r\n");
    let out = admin(&["--profile", "loket", "employee", "show", AYU], "");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("Ayu Lestari"), "{said}");
    assert_eq!(
        portal.requests().len(),
        1,
        "the keys came from the portal: {:?}",
        portal.requests()
    );
}
