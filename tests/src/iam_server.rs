//! The staff API on one machine: the real `sapk-local` binary in its development gateway
//! mode, verifying SigV4 signatures made with test keys as API Gateway's IAM authorizer does,
//! for the counter tool's tests (Linux and Windows under Wine).

use crate::client_from;
use crate::workspace_bin;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const ANDI_KEY: &str = "AKIALOCALANDI0000001";
pub const RINA_KEY: &str = "AKIALOCALRINA0000001";
pub const EVE_KEY: &str = "AKIALOCALEVE00000001";
pub const NOBODY_KEY: &str = "AKIALOCALNOBODY00001";
pub const SECRET: &str = "local-test-secret-do-not-use-0000000000";
pub const ANDI: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/andi@bkn.go.id";
pub const RINA: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/rina@bandung.go.id";
pub const EVE: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/eve@example.go.id";
pub const NOBODY: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/nobody@example.go.id";

pub struct Server {
    pub base: String,
    child: std::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sapk-local` in its development gateway mode over `dir/data`, the four test principals
/// (Andi, Rina, Eve, Nobody) allowed to sign.
pub async fn start(dir: &Path) -> Server {
    let creds = dir.join("iam-credentials.txt");
    std::fs::write(
        &creds,
        format!("# test principals\n{ANDI_KEY} {SECRET} {ANDI}\n{RINA_KEY} {SECRET} {RINA}\n{EVE_KEY} {SECRET} {EVE}\n{NOBODY_KEY} {SECRET} {NOBODY}\n"),
    )
    .unwrap();
    let mut child = Command::new(workspace_bin("sapk-local"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--iam-credentials")
        .arg(&creds)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sapk-local");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    // Keep reading what the server prints after its first line: a closed pipe would make
    // its next println fail and stop it.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
    });
    let base = first.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let client = client_from(None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{base}/v1/session"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "server did not answer");
        tokio::task::yield_now().await;
    }
    Server { child, base }
}

/// Runs `c` with `stdin` typed in, to the end.
pub fn run(mut c: Command, stdin: &str) -> Output {
    use std::io::Write;
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("sapk-admin");
    if let Some(mut si) = child.stdin.take() {
        let _ = si.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("output")
}
