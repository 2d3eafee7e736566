//! The SES mailer through the SDK to aws-ses-v2-local, read back from its `/store`.
//! `scripts/test` starts it and sets `SAPK_TEST_SES_URL`.

use chrono::{TimeZone, Utc};
use sapk_aws::{local_sdk_config, sesv2_client, SesMailer};
use sapk_core::mail::{password_changed_email, reset_code_email};
use sapk_core::ports::Mailer;
use sapk_core::{Email, Lang, ResetCode};
use serde_json::Value;

fn endpoint() -> String {
    std::env::var("SAPK_TEST_SES_URL")
        .expect("SAPK_TEST_SES_URL is not set: run scripts/test, which starts aws-ses-v2-local")
}

async fn stored_to(to: &str) -> Vec<Value> {
    sapk_testkit::ses::mail_for(&endpoint(), to).await
}

#[tokio::test]
async fn reset_code_mail_arrives_in_indonesian_and_english() {
    let cfg = local_sdk_config(&endpoint()).await;
    let mailer = SesMailer::new(
        sesv2_client(&cfg),
        "SAPK BKN <no-reply@sapk.example.go.id>".into(),
        None,
    );
    let to_id = format!("siti.{}@example.go.id", std::process::id());
    let to_en = format!("andi.{}@example.go.id", std::process::id());
    let code = ResetCode::parse("AB12-CD34").unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 9, 5, 0).unwrap();

    let id = reset_code_email(
        &Email::parse(&to_id).unwrap(),
        "Siti Ñurhayati",
        &code,
        at,
        15,
        Lang::Id,
        false,
    )
    .unwrap();
    mailer.send(&id).await.expect("send through SES");
    let en = reset_code_email(
        &Email::parse(&to_en).unwrap(),
        "Andi",
        &code,
        at,
        15,
        Lang::En,
        false,
    )
    .unwrap();
    mailer.send(&en).await.expect("send through SES");

    let got = stored_to(&to_id).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(m["subject"], "Kode reset password SAPK");
    assert!(m["from"]
        .as_str()
        .unwrap()
        .contains("no-reply@sapk.example.go.id"));
    let text = m["body"]["text"].as_str().unwrap();
    assert!(
        text.contains("AB12-CD34") && text.contains("Siti Ñurhayati"),
        "{text}"
    );
    assert!(text.contains("27 November 2026 pukul 16.05 WIB / 17.05 WITA / 18.05 WIT"));
    let html = m["body"]["html"].as_str().unwrap();
    assert!(html.contains("AB12-CD34") && html.contains("Jika Anda tidak meminta"));

    let got = stored_to(&to_en).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["subject"], "SAPK password reset code");
    assert!(got[0]["body"]["text"]
        .as_str()
        .unwrap()
        .contains("If you did not ask for this"));

    let changed =
        password_changed_email(&Email::parse(&to_en).unwrap(), "Andi", at, Lang::En).unwrap();
    mailer.send(&changed).await.unwrap();
    assert_eq!(stored_to(&to_en).await.len(), 2);
}

#[tokio::test]
async fn an_unreachable_ses_is_a_clear_unavailable_error() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let cfg = local_sdk_config(&dead).await;
    let mailer = SesMailer::new(
        sesv2_client(&cfg),
        "no-reply@sapk.example.go.id".into(),
        None,
    );
    let code = ResetCode::parse("AB12-CD34").unwrap();
    let m = reset_code_email(
        &Email::parse("x@example.go.id").unwrap(),
        "X",
        &code,
        Utc::now(),
        15,
        Lang::Id,
        false,
    )
    .unwrap();
    let err = mailer.send(&m).await.unwrap_err();
    assert!(
        matches!(err, sapk_core::ports::MailError::Unavailable(_)),
        "{err}"
    );
}
