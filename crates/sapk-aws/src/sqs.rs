//! The SQS mail queue: the `Mailer` the API functions use. `send` puts the e-mail (JSON) on
//! the queue (server-side encrypted, retained no longer than a code lives, see
//! `infra/template.yaml`); the `mailer` function sends it through SES at the quota's rate.

use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;
use sapk_core::ports::{MailError, Mailer, OutgoingEmail};

#[derive(Debug, Clone)]
pub struct SqsMailQueue {
    client: Client,
    queue_url: String,
}

impl SqsMailQueue {
    pub fn new(client: Client, queue_url: String) -> SqsMailQueue {
        SqsMailQueue { client, queue_url }
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
            .queue_url(&self.queue_url)
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
