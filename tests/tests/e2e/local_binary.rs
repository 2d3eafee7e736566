//! The real `sapk-local` binary, as a developer runs it: it seeds the demo employee, serves
//! the flow, writes mail to the outbox, and its logs never hold a code, password or token.

use sapk_e2e::*;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn local_binary_full_flow_and_logs_hold_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Child(
        Command::new(workspace_bin("sapk-local"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "debug")
            .env("SAPK_FORGOT_MIN_MS", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sapk-local"),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let stderr = child.0.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut s);
        s
    });

    let client = client_from(None);
    let post = |path: &str, body: serde_json::Value| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    // Ready once it answers (no sleeping).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if client
            .get(format!("{base}/v1/session"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "server did not answer");
        tokio::task::yield_now().await;
    }

    // The API's OpenAPI document, as in the repository, and the policy the forms show.
    let doc = client
        .get(format!("{base}/openapi.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    assert!(doc.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/yaml"));
    let in_repo =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml"))
            .unwrap();
    assert_eq!(doc.text().await.unwrap(), in_repo);
    let policy: serde_json::Value = client
        .get(format!("{base}/v1/password/policy"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(policy["rules"][0]["code"], "too_short");

    let nip = "198609262015051001";
    let email = "budi.santoso@example.go.id";
    assert_eq!(
        post("/v1/password/forgot", serde_json::json!({ "nip": nip }))
            .await
            .status(),
        202
    );
    // The answer does not wait for the mail: the server's sender delivers the queue to the
    // outbox right after. Poll for it (bounded).
    let outbox = dir.path().join("outbox");
    let code = wait_for_code_in(&outbox, email).await;
    let weak = "Budi19860926";
    assert_eq!(
        post(
            "/v1/password/reset",
            serde_json::json!({ "nip": nip, "token": code, "new_password": weak })
        )
        .await
        .status(),
        422
    );
    let pw = "Sungai-Kapuas-Senja-58";
    assert_eq!(
        post(
            "/v1/password/reset",
            serde_json::json!({ "nip": nip, "token": code, "new_password": pw })
        )
        .await
        .status(),
        200
    );
    let wrong = "Salah-Password-77";
    assert_eq!(
        post(
            "/v1/login",
            serde_json::json!({ "nip": nip, "password": wrong })
        )
        .await
        .status(),
        401
    );
    let ok = post(
        "/v1/login",
        serde_json::json!({ "nip": nip, "password": pw }),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let token = ok.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = client
        .get(format!("{base}/v1/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(s.status(), 200);

    drop(child);
    let mut out = first;
    let _ = stdout.read_to_string(&mut out);
    let logs = format!("{out}\n{}", err_reader.join().unwrap());
    assert!(
        logs.contains(nip) && logs.contains(email),
        "the demo employee is announced"
    );
    assert!(
        logs.contains("e-mail written to outbox"),
        "each send is logged"
    );
    assert!(logs.contains("reset-code.eml"), "with its file");
    for secret in [
        code.clone(),
        code.replace('-', ""),
        weak.into(),
        pw.into(),
        wrong.into(),
        token,
    ] {
        assert!(!logs.contains(&secret), "logs contain a secret: {secret}");
    }
}
