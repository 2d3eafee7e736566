//! The deployed mail path on the stand-ins: the API functions queue e-mails on SQS (moto);
//! the `mailer` function's batch handler, fed SQS events in the format Lambda delivers
//! (`tests/data/sqs_event.json`, AWS's documented sample), sends them through SES
//! (aws-ses-v2-local), drops codes that expired or were replaced, and reports what failed
//! so SQS retries it. One test polls a real queue as Lambda's event source does (receive,
//! hand over, delete what was not reported), with the template's redrive policy: a reported
//! message comes back after its visibility timeout, and a hopeless one reaches the
//! dead-letter queue.

use aws_lambda_events::event::sqs::SqsEvent;
use sapk_core::staff::Operator;
use sapk_e2e::aws::*;
use serde_json::json;

const PW: &str = "Sungai-Kapuas-Senja-58";

async fn queue(name: &str) -> (sapk_aws::aws_sdk_sqs::Client, String) {
    let sqs = sapk_aws::sqs_client(&sapk_aws::local_sdk_config(&dynamodb_url()).await);
    let url = sqs
        .create_queue()
        .queue_name(format!("{name}-{}-{}", std::process::id(), rand_suffix()))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    (sqs, url)
}

/// On fresh tables, with a new queue named after `name`: the functions sending through SES
/// (the mailer's side), the forgot function as deployed (`SAPK_MAIL_QUEUE_URL` makes it
/// queue; one key for both), the SQS client and the queue's URL.
async fn mailer_and_queued_forgot(
    name: &str,
) -> (
    Functions,
    sapk_http::Api,
    sapk_aws::aws_sdk_sqs::Client,
    String,
) {
    let tables = fresh_tables(&dynamodb_url()).await;
    let mut env = function_env(&tables);
    let f = functions(&dynamodb_url(), &env).await;
    let (sqs, url) = queue(name).await;
    env.insert("SAPK_MAIL_QUEUE_URL".into(), url.clone());
    let forgot = functions(&dynamodb_url(), &env).await.forgot;
    (f, forgot, sqs, url)
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 % 1_000_000_007)
        .unwrap_or(0)
}

/// Received messages as the SQS event Lambda hands the mailer (the format of AWS's
/// documented sample, `tests/data/sqs_event.json`).
fn sqs_event(messages: &[sapk_aws::aws_sdk_sqs::types::Message]) -> SqsEvent {
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../../data/sqs_event.json")).expect("fixture");
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let mut r = sample["Records"][0].clone();
            r["messageId"] = json!(m.message_id());
            r["receiptHandle"] = json!(m.receipt_handle());
            r["body"] = json!(m.body());
            r["md5OfBody"] = json!(m.md5_of_body());
            r
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("event")
}

/// Everything on the queue now, as the SQS events Lambda would hand the mailer (10 a batch).
async fn events(sqs: &sapk_aws::aws_sdk_sqs::Client, url: &str) -> Vec<SqsEvent> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        let event = sqs_event(&messages);
        for m in &messages {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
        out.push(event);
    }
}

#[tokio::test]
async fn forgot_queues_and_the_mailer_sends_drops_and_reports_failures() {
    let (f, forgot, sqs, url) = mailer_and_queued_forgot("sapk-mail").await;
    let nip = "198507152010012004";
    let email = format!(
        "antri.{}.{}@example.go.id",
        std::process::id(),
        rand_suffix()
    );
    seed(&f.service, nip, &email).await;

    let (s, _, _) = post_forgot_on(&forgot, nip).await;
    assert_eq!(s, 202);
    assert_eq!(ses_code_for(&email).await, None, "queued, not sent");
    let batches = events(&sqs, &url).await;
    assert_eq!(batches.iter().map(|b| b.records.len()).sum::<usize>(), 1);
    let body: serde_json::Value =
        serde_json::from_str(batches[0].records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["kind"], "reset_code");
    assert_eq!(body["guard"]["nip"], nip);

    // SES is down: the message is reported back (SQS would retry it), nothing sent.
    let dead_ses = sapk_aws::SesMailer::new(
        sapk_aws::sesv2_client(&sapk_aws::local_sdk_config("http://127.0.0.1:9").await),
        "SAPK BKN <no-reply@sapk.bkn.go.id>".into(),
        None,
    );
    let pace = sapk_core::mail::deliver::Pace::new(1000.0);
    let (resp, counts) =
        sapk_functions::deliver_batch(&f.service, &dead_ses, &pace, batches[0].clone()).await;
    assert_eq!(counts.failed, 1);
    assert_eq!(
        resp.batch_item_failures[0].item_identifier,
        batches[0].records[0].message_id.clone().unwrap()
    );
    // SES back: the same message sends, and the code in it works.
    let ses = f.service.mailer();
    let (resp, counts) =
        sapk_functions::deliver_batch(&f.service, ses.as_ref(), &pace, batches[0].clone()).await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(counts.sent, 1);
    let code = ses_code_for(&email).await.expect("code mailed through SES");
    let (s, body, _) = f.post_reset(nip, &code, PW).await;
    assert_eq!(s, 200, "{body}");
    // Sent again after the reset (SQS delivers at least once): the code is used, dropped.
    let (_, counts) =
        sapk_functions::deliver_batch(&f.service, ses.as_ref(), &pace, batches[0].clone()).await;
    assert_eq!((counts.sent, counts.dropped_superseded), (0, 1));

    // An expired code is dropped; an unreadable message is reported (to the dead-letter queue).
    let mut expired: serde_json::Value = body_of(&batches[0]);
    expired["guard"]["expires_at"] = json!("2020-01-01T00:00:00Z");
    let mut broken = batches[0].clone();
    broken.records[0].body = Some(expired.to_string());
    let mut unreadable = batches[0].records[0].clone();
    unreadable.message_id = Some("not-json".into());
    unreadable.body = Some("{".into());
    broken.records.push(unreadable);
    let (resp, counts) =
        sapk_functions::deliver_batch(&f.service, ses.as_ref(), &pace, broken).await;
    assert_eq!((counts.dropped_expired, counts.failed), (1, 1));
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert_eq!(resp.batch_item_failures[0].item_identifier, "not-json");
}

fn body_of(e: &SqsEvent) -> serde_json::Value {
    serde_json::from_str(e.records[0].body.as_deref().unwrap()).unwrap()
}

/// A wave: many codes queued at once drain at the capped rate; every unexpired one is
/// delivered, the expired ones are dropped, and none is lost.
#[tokio::test]
async fn a_wave_drains_at_the_capped_rate_and_loses_nothing() {
    let (f, forgot, sqs, url) = mailer_and_queued_forgot("sapk-wave").await;
    const N: usize = 60;
    let run = rand_suffix();
    let mut who = Vec::new();
    for i in 0..N {
        let nip = format!("198507152010{:02}1{:03}", 1 + i % 12, 100 + i);
        let email = format!("gelombang.{run}.{i}@example.go.id");
        seed(&f.service, &nip, &email).await;
        let (s, _, _) = post_forgot_on(&forgot, &nip).await;
        assert_eq!(s, 202);
        who.push(email);
    }
    let mut batches = events(&sqs, &url).await;
    assert_eq!(batches.iter().map(|b| b.records.len()).sum::<usize>(), N);
    // The wave outlasted some codes: every third message's code expired before its turn
    // (its guard says so; the stored code is the same).
    let mut expired = std::collections::HashSet::new();
    for (k, r) in batches
        .iter_mut()
        .flat_map(|b| b.records.iter_mut())
        .enumerate()
    {
        if k % 3 == 0 {
            let mut body: serde_json::Value =
                serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
            body["guard"]["expires_at"] = json!("2020-01-01T00:00:00Z");
            expired.insert(body["to"].as_str().unwrap().to_owned());
            r.body = Some(body.to_string());
        }
    }
    let rate = 200.0;
    let pace = sapk_core::mail::deliver::Pace::new(rate);
    let ses = f.service.mailer();
    let started = std::time::Instant::now();
    let (mut sent, mut dropped) = (0, 0);
    for b in batches {
        let (resp, counts) =
            sapk_functions::deliver_batch(&f.service, ses.as_ref(), &pace, b).await;
        assert!(resp.batch_item_failures.is_empty());
        sent += counts.sent;
        dropped += counts.dropped_expired;
    }
    assert_eq!(dropped as usize, expired.len(), "expired codes are dropped");
    assert_eq!(sent as usize + dropped as usize, N, "none lost");
    assert!(
        started.elapsed().as_secs_f64() >= (N as f64 - 1.0) / rate,
        "no faster than the cap"
    );
    for email in &who {
        assert_eq!(
            ses_code_for(email).await.is_some(),
            !expired.contains(email),
            "{email}: every unexpired code delivered, no expired one"
        );
    }
}

fn sns_event(fixture: &str, to: &str) -> aws_lambda_events::event::sns::SnsEvent {
    let mut v: serde_json::Value = serde_json::from_str(fixture).expect("fixture");
    let message = v["Records"][0]["Sns"]["Message"]
        .as_str()
        .expect("message")
        .replace("RECIPIENT", to);
    v["Records"][0]["Sns"]["Message"] = json!(message);
    serde_json::from_value(v).expect("SNS event")
}

/// SES's events (the documented records, through SNS) become the account's last mail status:
/// the newest wins, problems are audited, the counter reads it in Indonesian, and a staff
/// e-mail change clears it.
#[tokio::test]
async fn ses_events_become_the_counters_mail_status() {
    use sapk_core::mail_status::MailState;
    let tables = fresh_tables(&dynamodb_url()).await;
    let f = functions(&dynamodb_url(), &function_env(&tables)).await;
    let nip = "198507152010012004";
    let email = format!(
        "status.{}.{}@example.go.id",
        std::process::id(),
        rand_suffix()
    );
    seed(&f.service, nip, &email).await;
    let data = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/../crates/sapk-aws/tests/data/ses_{name}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture")
    };
    let state = || async {
        let n = sapk_core::Nip::from_stored(nip).unwrap();
        f.service
            .mail()
            .mail_status(&n)
            .await
            .unwrap()
            .map(|s| s.state)
    };
    // The email index is eventually consistent on DynamoDB: poll (bounded) until the
    // account is found by its address.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n = sapk_functions::record_ses_notifications(
            &f.service,
            sns_event(&data("bounce_permanent"), &email),
        )
        .await
        .unwrap();
        if n == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the address was never found"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(state().await, Some(MailState::HardBounce));
    // An older delivery does not overwrite the newer bounce; a newer complaint does.
    sapk_functions::record_ses_notifications(&f.service, sns_event(&data("delivery"), &email))
        .await
        .unwrap();
    assert_eq!(state().await, Some(MailState::HardBounce));
    sapk_functions::record_ses_notifications(&f.service, sns_event(&data("complaint"), &email))
        .await
        .unwrap();
    assert_eq!(state().await, Some(MailState::Complaint));
    // Something that is not an SES record is skipped, not retried.
    let mut junk = sns_event(&data("delivery"), &email);
    junk.records[0].sns.message = "hello".into();
    assert_eq!(
        sapk_functions::record_ses_notifications(&f.service, junk)
            .await
            .unwrap(),
        0
    );

    // The counter's view (the staff API's overview carries it) and the trail.
    let op = Operator {
        id: "officer".into(),
        office: "KANREG-IV".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    let o = f
        .service
        .staff()
        .employee_overview_for(nip, &op, 10, None)
        .await
        .unwrap();
    let status = o.mail_status.expect("a status");
    let text = status.text(sapk_core::Lang::Id, sapk_core::i18n::Zone::Wita);
    assert!(text.starts_with("Email terakhir dilaporkan sebagai spam oleh penerima pada 27 November 2026 pukul 11.05 WITA"), "{text}");
    let problems: Vec<_> = o
        .recent_audit
        .iter()
        .filter(|e| e.action == "mail_status" && e.outcome == "problem")
        .map(|e| e.details["state"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(problems, ["complaint", "hard_bounce"]);

    // A staff e-mail change clears it: it was about the old address.
    let nik = "3174055507850004"; // born 15-07-85, female (day + 40)
    let req = sapk_core::staff::EmailChangeRequest {
        new_email: format!("baru.{email}"),
        identity: sapk_core::staff::IdentityCheck {
            nik: Some(nik.into()),
            documents: vec![sapk_core::staff::DocumentSeen::new("ktp", None).unwrap()],
            person_confirmed: true,
        },
        ..Default::default()
    };
    let n = sapk_core::Nip::from_stored(nip).unwrap();
    f.service
        .staff()
        .change_email(&n, &req, &op, sapk_core::Lang::Id)
        .await
        .expect("the e-mail changed");
    assert_eq!(state().await, None);
}

/// An activation wave at scale: a thousand codes queued at once (a quarter of them outlived
/// by the wave), drained by the mailer capped at 500 a second: every unexpired code sent
/// once, every expired one dropped, none lost, and never faster than the cap.
#[tokio::test]
async fn a_wave_of_a_thousand_codes_drains_at_the_cap_and_loses_none() {
    use futures::stream::{self, StreamExt};
    use sapk_core::ports::{CodeGuard, EmailKind, Mailer, OutgoingEmail, ResetCodeRecord};
    const N: usize = 1000;
    let tables = fresh_tables(&dynamodb_url()).await;
    let f = functions(&dynamodb_url(), &function_env(&tables)).await;
    let (sqs, url) = queue("sapk-wave-1k").await;
    let q = sapk_aws::SqsMailQueue::new(sqs.clone(), url.clone());
    let run = rand_suffix();
    let now = chrono::Utc::now();
    let store = f.service.store();
    let expired = stream::iter(0..N)
        .map(|i| {
            let (q, store) = (&q, &store);
            async move {
                let nip = sapk_core::Nip::from_stored(&format!(
                    "198507152010{:02}1{:03}",
                    1 + i % 12,
                    1 + i / 12
                ))
                .expect("nip");
                let outlived = i % 4 == 0;
                let expires_at = if outlived {
                    now - chrono::Duration::seconds(1)
                } else {
                    now + chrono::Duration::minutes(15)
                };
                let code_hash = format!("wave-{run}-{i}");
                store
                    .put_reset_code(&ResetCodeRecord {
                        nip: nip.clone(),
                        code_hash: code_hash.clone(),
                        issued_at: now,
                        expires_at,
                        attempts_left: 5,
                        credential_version: 0,
                    })
                    .await
                    .expect("code");
                q.send(&OutgoingEmail {
                    kind: EmailKind::ResetCode,
                    to: sapk_core::Email::parse(&format!("wave.{run}.{i}@example.go.id")).unwrap(),
                    subject: "Kode reset password SAPK".into(),
                    text: format!("kode {i}"),
                    html: format!("<p>kode {i}</p>"),
                    lang: sapk_core::Lang::Id,
                    guard: Some(CodeGuard {
                        nip,
                        code_hash,
                        expires_at,
                    }),
                })
                .await
                .expect("queued");
                outlived
            }
        })
        .buffer_unordered(16)
        .filter(|outlived| std::future::ready(*outlived))
        .count()
        .await;
    let batches = events(&sqs, &url).await;
    assert_eq!(batches.iter().map(|b| b.records.len()).sum::<usize>(), N);
    let rate = 500.0;
    let pace = sapk_core::mail::deliver::Pace::new(rate);
    let ses = f.service.mailer();
    let started = std::time::Instant::now();
    let (mut sent, mut dropped) = (0usize, 0usize);
    for b in batches {
        let (resp, counts) =
            sapk_functions::deliver_batch(&f.service, ses.as_ref(), &pace, b).await;
        assert!(resp.batch_item_failures.is_empty());
        sent += counts.sent as usize;
        dropped += counts.dropped_expired as usize;
    }
    assert_eq!((sent, dropped), (N - expired, expired), "none lost");
    assert!(
        started.elapsed().as_secs_f64() >= (N as f64 - 1.0) / rate,
        "no faster than the cap"
    );
    let store: serde_json::Value = reqwest::get(format!("{}/store", ses_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let delivered = store["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["destination"]["to"][0]
                .as_str()
                .is_some_and(|to| to.starts_with(&format!("wave.{run}.")))
        })
        .count();
    assert_eq!(delivered, N - expired, "each unexpired code sent once");
}

/// Codes and notices take different queues when a notice queue is configured (as deployed):
/// a notice outlives a long SES outage, a code's message does not outlive the code.
#[tokio::test]
async fn notices_go_to_their_own_queue() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let mut env = function_env(&tables);
    let f = functions(&dynamodb_url(), &env).await;
    let (sqs, codes) = queue("sapk-codes").await;
    let (_, notices) = queue("sapk-notices").await;
    env.insert("SAPK_MAIL_QUEUE_URL".into(), codes.clone());
    env.insert("SAPK_MAIL_NOTICE_QUEUE_URL".into(), notices.clone());
    let queued = functions(&dynamodb_url(), &env).await;
    let nip = "198507152010012004";
    let email = format!(
        "dua.antrean.{}.{}@example.go.id",
        std::process::id(),
        rand_suffix()
    );
    seed(&f.service, nip, &email).await;
    let (s, _, _) = queued.post_forgot(nip).await;
    assert_eq!(s, 202);
    assert!(
        events(&sqs, &notices).await.is_empty(),
        "a code is not a notice"
    );
    let batches = events(&sqs, &codes).await;
    assert_eq!(batches.len(), 1);
    let pace = sapk_core::mail::deliver::Pace::new(1000.0);
    let ses = f.service.mailer();
    for b in batches {
        sapk_functions::deliver_batch(&f.service, ses.as_ref(), &pace, b).await;
    }
    let code = ses_code_for(&email).await.expect("code");
    let (s, body, _) = queued.post_reset(nip, &code, PW).await;
    assert_eq!(s, 200, "{body}");
    assert!(events(&sqs, &codes).await.is_empty());
    let batches = events(&sqs, &notices).await;
    assert_eq!(batches.iter().map(|b| b.records.len()).sum::<usize>(), 1);
    assert_eq!(body_of(&batches[0])["kind"], "password_changed");
}

/// The mailer's queue as `infra/template.yaml` declares it: the receives before the
/// dead-letter queue (MailQueue's RedrivePolicy), and whether the mailer's SQS event reports
/// failed items (without `ReportBatchItemFailures` Lambda ignores the answer's failures and
/// deletes or retries the whole batch).
fn template_mail_queue() -> (i64, bool) {
    use serde_norway::Value as Y;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let t: Y = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let receives = t["Resources"]["MailQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
        .as_i64()
        .expect("MailQueue has a dead-letter queue");
    let reports = t["Resources"]["MailerFunction"]["Properties"]["Events"]["Mail"]["Properties"]
        ["FunctionResponseTypes"]
        .as_sequence()
        .is_some_and(|s| {
            s.iter()
                .any(|v| v.as_str() == Some("ReportBatchItemFailures"))
        });
    (receives, reports)
}

/// What Lambda's SQS event source does for one poll: receive up to ten messages (each becomes
/// invisible for the queue's visibility timeout), hand them to the mailer as one event, then
/// delete the ones the answer did not report as failed. Reported ones stay on the queue and
/// come back when their visibility ends. Returns the message ids received and reported.
async fn lambda_poll(
    sqs: &sapk_aws::aws_sdk_sqs::Client,
    url: &str,
    deliver: impl AsyncFnOnce(SqsEvent) -> aws_lambda_events::event::sqs::SqsBatchResponse,
) -> (Vec<String>, Vec<String>) {
    let got = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    let messages = got.messages.unwrap_or_default();
    if messages.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let event = sqs_event(&messages);
    let resp = deliver(event).await;
    let failed: Vec<String> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    let mut received = Vec::new();
    for m in &messages {
        let id = m.message_id().unwrap_or_default().to_owned();
        if !failed.contains(&id) {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
        received.push(id);
    }
    (received, failed)
}

/// Through a real queue with the template's redrive policy (its visibility timeout shortened
/// to one second): a code the mailer could not send (SES down) is reported, comes back, and is
/// sent once SES is back, and that code works; a message the mailer can never read is reported
/// on every receive and, after the template's number of receives, lands in the dead-letter
/// queue, where an operator finds it.
#[tokio::test]
async fn a_reported_message_comes_back_and_a_hopeless_one_ends_in_the_dead_letter_queue() {
    let (receives, reports) = template_mail_queue();
    assert!(reports, "the mailer's SQS event must report failed items");
    let (sqs, dlq) = queue("sapk-dlq").await;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(sapk_aws::aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("dlq arn")
        .attributes
        .and_then(|a| {
            a.get(&sapk_aws::aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("dlq arn");
    let url = sqs
        .create_queue()
        .queue_name(format!(
            "sapk-redrive-{}-{}",
            std::process::id(),
            rand_suffix()
        ))
        .attributes(
            sapk_aws::aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "1",
        )
        .attributes(
            sapk_aws::aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": receives.to_string() })
                .to_string(),
        )
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let mut env = function_env(&fresh_tables(&dynamodb_url()).await);
    let nip = "198507152010012004";
    let email = format!(
        "ulang.{}.{}@example.go.id",
        std::process::id(),
        rand_suffix()
    );
    env.insert("SAPK_MAIL_QUEUE_URL".into(), url.clone());
    let queued = functions(&dynamodb_url(), &env).await;
    env.remove("SAPK_MAIL_QUEUE_URL");
    let direct = functions(&dynamodb_url(), &env).await;
    seed(&direct.service, nip, &email).await;
    assert_eq!(post_forgot_on(&queued.forgot, nip).await.0, 202);
    sqs.send_message()
        .queue_url(&url)
        .message_body("{")
        .send()
        .await
        .expect("send the unreadable message");

    let dead_ses = sapk_aws::SesMailer::new(
        sapk_aws::sesv2_client(&sapk_aws::local_sdk_config("http://127.0.0.1:9").await),
        "SAPK BKN <no-reply@sapk.bkn.go.id>".into(),
        None,
    );
    let ses = direct.service.mailer();
    let pace = sapk_core::mail::deliver::Pace::new(1000.0);
    // Poll as Lambda would until the queue is empty (bounded): SES is down for the first
    // poll that holds the code, up afterwards.
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    let mut ses_was_down = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let down = !ses_was_down;
        let (received, failed) = lambda_poll(&sqs, &url, async |event: SqsEvent| {
            let has_code = event.records.iter().any(|r| r.body.as_deref() != Some("{"));
            let mailer: &dyn sapk_core::ports::Mailer = if down && has_code {
                ses_was_down = true;
                &dead_ses
            } else {
                ses.as_ref()
            };
            sapk_functions::deliver_batch(&direct.service, mailer, &pace, event)
                .await
                .0
        })
        .await;
        for id in &received {
            *seen.entry(id.clone()).or_default() += 1;
        }
        let _ = failed;
        let visible = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(sapk_aws::aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .expect("attributes")
            .attributes
            .unwrap_or_default();
        let left: i64 = [
            sapk_aws::aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
            sapk_aws::aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .filter_map(|k| visible.get(k).and_then(|v| v.parse::<i64>().ok()))
        .sum();
        if left == 0 && received.is_empty() {
            break;
        }
    }
    assert!(ses_was_down, "the code met SES down once");
    let code = ses_code_for(&email)
        .await
        .expect("the code sent on its second delivery");
    assert_eq!(direct.post_reset(nip, &code, PW).await.0, 200);
    // The code's message came twice (reported, then sent); the unreadable one the template's
    // number of times, then SQS moved it.
    let mut counts: Vec<usize> = seen.values().copied().collect();
    counts.sort_unstable();
    assert_eq!(counts, vec![2, receives as usize], "{seen:?}");
    let moved = sqs
        .receive_message()
        .queue_url(&dlq)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive from the dead-letter queue")
        .messages
        .unwrap_or_default();
    assert_eq!(
        moved
            .iter()
            .map(|m| m.body().unwrap_or_default())
            .collect::<Vec<_>>(),
        vec!["{"],
        "only the unreadable message is dead-lettered"
    );
}
