//! SES's event records (published through the configuration set to SNS) read into the
//! core's [`MailEvent`]s: delivery, delivery delay, bounce (permanent, transient, or a
//! suppression), complaint and reject. Send, open and click records say nothing about
//! whether mail arrives and are skipped.

use chrono::{DateTime, Utc};
use sapk_core::mail_status::{MailEvent, MailState, MailStatus};
use sapk_core::Email;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(alias = "notificationType")]
    event_type: String,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    delivery: Option<Delivery>,
    delivery_delay: Option<DeliveryDelay>,
    reject: Option<Reject>,
}

#[derive(Deserialize)]
struct Mail {
    timestamp: DateTime<Utc>,
    #[serde(default)]
    destination: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    diagnostic_code: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: String,
    bounced_recipients: Vec<Recipient>,
    timestamp: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    complained_recipients: Vec<Recipient>,
    timestamp: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    timestamp: DateTime<Utc>,
    recipients: Vec<String>,
    smtp_response: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryDelay {
    timestamp: DateTime<Utc>,
    delayed_recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
struct Reject {
    reason: Option<String>,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not an SES event record: {0}")]
pub struct NotAnEvent(String);

/// The events in one SES record (one per recipient). Addresses that do not parse are
/// skipped (nothing of ours could have them).
pub fn parse(message: &str) -> Result<Vec<MailEvent>, NotAnEvent> {
    let r: Record = serde_json::from_str(message).map_err(|e| NotAnEvent(e.to_string()))?;
    let event = |to: &str, state, at, diagnostic: Option<String>| {
        Email::parse(to).ok().map(|to| MailEvent {
            status: MailStatus {
                state,
                at,
                address: to.clone(),
                diagnostic,
            },
            to,
        })
    };
    let missing = |what: &str| NotAnEvent(format!("{} without its {what}", r.event_type));
    let events: Vec<Option<MailEvent>> = match r.event_type.as_str() {
        "Delivery" => {
            let d = r.delivery.as_ref().ok_or_else(|| missing("delivery"))?;
            d.recipients
                .iter()
                .map(|to| {
                    event(
                        to,
                        MailState::Delivered,
                        d.timestamp,
                        d.smtp_response.clone(),
                    )
                })
                .collect()
        }
        "DeliveryDelay" => {
            let d = r
                .delivery_delay
                .as_ref()
                .ok_or_else(|| missing("deliveryDelay"))?;
            d.delayed_recipients
                .iter()
                .map(|x| {
                    event(
                        &x.email_address,
                        MailState::Delayed,
                        d.timestamp,
                        diagnostic(x),
                    )
                })
                .collect()
        }
        "Bounce" => {
            let b = r.bounce.as_ref().ok_or_else(|| missing("bounce"))?;
            let state = match (b.bounce_type.as_str(), b.bounce_sub_type.as_str()) {
                (_, "Suppressed" | "OnAccountSuppressionList") => MailState::Suppressed,
                ("Permanent", _) => MailState::HardBounce,
                _ => MailState::SoftBounce,
            };
            b.bounced_recipients
                .iter()
                .map(|x| event(&x.email_address, state, b.timestamp, diagnostic(x)))
                .collect()
        }
        "Complaint" => {
            let c = r.complaint.as_ref().ok_or_else(|| missing("complaint"))?;
            c.complained_recipients
                .iter()
                .map(|x| event(&x.email_address, MailState::Complaint, c.timestamp, None))
                .collect()
        }
        "Reject" => {
            let why = r.reject.as_ref().and_then(|x| x.reason.clone());
            r.mail
                .destination
                .iter()
                .map(|to| event(to, MailState::Rejected, r.mail.timestamp, why.clone()))
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(events.into_iter().flatten().collect())
}

/// The receiving server's words, or the status code when there are none.
fn diagnostic(r: &Recipient) -> Option<String> {
    r.diagnostic_code.clone().or_else(|| r.status.clone())
}
