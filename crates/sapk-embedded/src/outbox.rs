use async_trait::async_trait;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use sapk_core::ports::{MailError, Mailer, OutgoingEmail};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::info;

/// Writes every e-mail to `dir` as one RFC 5322 `.eml` file (multipart/alternative: text and
/// HTML, UTF-8). File names sort in send order: UTC time, process id, sequence number.
#[derive(Debug)]
pub struct FileOutbox {
    dir: PathBuf,
    from: Mailbox,
    seq: AtomicU64,
}

impl FileOutbox {
    /// `from` is a mailbox such as `SAPK BKN <no-reply@sapk.localhost>`.
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<FileOutbox, MailError> {
        let dir = dir.into();
        crate::datadir::private_dir(&dir)
            .map_err(|e| MailError::Unavailable(format!("outbox {}: {e}", dir.display())))?;
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| MailError::Rejected(format!("sender {from:?}: {e}")))?;
        Ok(FileOutbox {
            dir,
            from,
            seq: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn render(&self, email: &OutgoingEmail) -> Result<Vec<u8>, MailError> {
        let to = email
            .to
            .as_str()
            .parse::<Mailbox>()
            .map_err(|e| MailError::Rejected(format!("recipient: {e}")))?;
        let domain = self.from.email.domain().to_owned();
        let id = format!(
            "<{}.{}@{domain}>",
            chrono::Utc::now().timestamp_micros(),
            self.seq.load(Ordering::SeqCst)
        );
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .message_id(Some(id))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Content-Language"),
                email.lang.tag().to_owned(),
            ))
            .subject(email.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        Ok(msg.formatted())
    }
}

#[async_trait]
impl Mailer for FileOutbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let bytes = self.render(email)?;
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
        let name = format!(
            "{stamp}-{:07}-{seq:06}-{}.eml",
            std::process::id(),
            email.kind.as_str()
        );
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let (p, t) = (path.clone(), tmp.clone());
        tokio::task::spawn_blocking(move || {
            // The files hold reset codes: readable by the owner only.
            crate::datadir::write_private(&t, &bytes)?;
            std::fs::rename(&t, &p)
        })
        .await
        .map_err(|e| MailError::Unavailable(e.to_string()))?
        .map_err(|e| MailError::Unavailable(format!("{}: {e}", path.display())))?;
        info!(to = %email.to.masked(), kind = email.kind.as_str(), file = %path.display(), "e-mail written to outbox");
        Ok(())
    }
}
