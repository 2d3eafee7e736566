//! SES event records as SES publishes them to SNS (one fixture per type, in the documented
//! format, `tests/data/ses_*.json`) read into mail statuses.

use sapk_aws::ses_events::parse;
use sapk_core::mail_status::MailState;

fn message(fixture: &str, to: &str) -> String {
    let sns: serde_json::Value = serde_json::from_str(fixture).expect("fixture");
    sns["Records"][0]["Sns"]["Message"]
        .as_str()
        .expect("message")
        .replace("RECIPIENT", to)
}

#[test]
fn every_event_type_reads_as_a_status() {
    let to = "budi.santoso@example.go.id";
    for (fixture, state, diagnostic) in [
        (
            include_str!("../data/ses_delivery.json"),
            MailState::Delivered,
            Some("250 2.6.0 Message received"),
        ),
        (
            include_str!("../data/ses_delivery_delay.json"),
            MailState::Delayed,
            Some("smtp; 421 4.4.1 Unable to connect to remote host"),
        ),
        (
            include_str!("../data/ses_bounce_permanent.json"),
            MailState::HardBounce,
            Some("smtp; 550 5.1.1 user unknown"),
        ),
        (
            include_str!("../data/ses_bounce_transient.json"),
            MailState::SoftBounce,
            Some("smtp; 452 4.2.2 mailbox full"),
        ),
        (
            include_str!("../data/ses_bounce_suppressed.json"),
            MailState::Suppressed,
            None,
        ),
        (
            include_str!("../data/ses_complaint.json"),
            MailState::Complaint,
            None,
        ),
        (
            include_str!("../data/ses_reject.json"),
            MailState::Rejected,
            Some("Bad content"),
        ),
    ] {
        let events = parse(&message(fixture, to)).expect("an SES record");
        assert_eq!(events.len(), 1, "{state:?}");
        let e = &events[0];
        assert_eq!((e.to.as_str(), e.status.state), (to, state));
        if let Some(d) = diagnostic {
            assert_eq!(e.status.diagnostic.as_deref(), Some(d), "{state:?}");
        }
    }
}

#[test]
fn what_is_not_an_ses_record_is_refused_and_other_types_are_skipped() {
    assert!(parse("{").is_err());
    assert!(
        parse(r#"{"eventType":"Bounce","mail":{"timestamp":"2026-11-27T03:00:00Z"}}"#).is_err()
    );
    let open = r#"{"eventType":"Open","mail":{"timestamp":"2026-11-27T03:00:00Z","destination":["a@b.id"]},"open":{}}"#;
    assert!(parse(open).unwrap().is_empty());
    // An address that is not one is skipped, the others kept.
    let m = message(include_str!("../data/ses_delivery.json"), "not an address");
    assert!(parse(&m).unwrap().is_empty());
}
