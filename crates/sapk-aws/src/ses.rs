//! The SES v2 `Mailer`: SendEmail with simple content (subject, text and HTML, UTF-8).

use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use aws_sdk_sesv2::Client;
use sapk_core::ports::{MailError, Mailer, OutgoingEmail};
use tracing::info;

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// `from` is the verified sender (`SAPK BKN <no-reply@sapk.bkn.go.id>`);
    /// `configuration_set` routes events (bounces, complaints) when given.
    pub fn new(client: Client, from: String, configuration_set: Option<String>) -> SesMailer {
        SesMailer {
            client,
            from,
            configuration_set,
        }
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Rejected(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(utf8(&email.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&email.text)?)
                    .html(utf8(&email.html)?)
                    .build(),
            )
            // SES sets the Message-ID itself.
            .headers(
                MessageHeader::builder()
                    .name("Content-Language")
                    .value(email.lang.tag())
                    .build()
                    .map_err(|e| MailError::Rejected(e.to_string()))?,
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .to_addresses(email.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| {
                let rejected = matches!(
                    e.code(),
                    Some("MessageRejected")
                        | Some("MailFromDomainNotVerifiedException")
                        | Some("BadRequestException")
                        | Some("AccountSuspendedException")
                        | Some("SendingPausedException")
                );
                let text = DisplayErrorContext(e).to_string();
                if rejected {
                    MailError::Rejected(text)
                } else {
                    MailError::Unavailable(text)
                }
            })?;
        info!(
            kind = email.kind.as_str(),
            message_id = out.message_id().unwrap_or(""),
            "e-mail handed to SES"
        );
        Ok(())
    }
}

/// SES's account-level suppression list.
#[async_trait]
impl sapk_core::ports::Suppressions for SesMailer {
    async fn release(&self, to: &sapk_core::Email) -> Result<bool, MailError> {
        match self
            .client
            .delete_suppressed_destination()
            .email_address(to.as_str())
            .send()
            .await
        {
            Ok(_) => {
                info!(to = %to.masked(), "address taken off the SES suppression list");
                Ok(true)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(MailError::Unavailable(DisplayErrorContext(&e).to_string())),
        }
    }
}
