//! The SQS mail queues: the `Mailer` the API functions use. `send` puts the e-mail (JSON) on
//! a queue (server-side encrypted, see `infra/template.yaml`): a reset code on the code queue,
//! retained no longer than a code lives; a notice (password or e-mail changed) on the notice
//! queue when there is one, retained for days, so an SES outage longer than a code's lifetime
//! does not lose it. The `mailer` function sends both through SES at the quota's rate.

use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;
use sapk_core::ports::{MailError, Mailer, OutgoingEmail};

#[derive(Debug, Clone)]
pub struct SqsMailQueue {
    client: Client,
    queue_url: String,
    notice_queue_url: Option<String>,
}

impl SqsMailQueue {
    pub fn new(client: Client, queue_url: String) -> SqsMailQueue {
        SqsMailQueue {
            client,
            queue_url,
            notice_queue_url: None,
        }
    }

    /// Notices go to `url` instead (a queue that keeps them longer than a code lives).
    pub fn with_notice_queue(mut self, url: String) -> SqsMailQueue {
        self.notice_queue_url = Some(url);
        self
    }

    fn url_for(&self, email: &OutgoingEmail) -> &str {
        match (&self.notice_queue_url, email.kind) {
            (_, sapk_core::ports::EmailKind::ResetCode) | (None, _) => &self.queue_url,
            (Some(notices), _) => notices,
        }
    }
}

#[async_trait]
impl Mailer for SqsMailQueue {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let body = serde_json::to_string(email).map_err(|e| MailError::Rejected(e.to_string()))?;
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(email.kind.as_str())
            .build()
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        let out = self
            .client
            .send_message()
            .queue_url(self.url_for(email))
            .message_body(body)
            .message_attributes("kind", kind)
            .send()
            .await
            .map_err(|e| MailError::Unavailable(DisplayErrorContext(&e).to_string()))?;
        tracing::info!(
            kind = email.kind.as_str(),
            message_id = out.message_id().unwrap_or("-"),
            "e-mail queued"
        );
        Ok(())
    }

    fn queues(&self) -> bool {
        true
    }
}
