//! Lambda function `mailer`: sends the e-mails the API queued (SQS event source).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run_mailer().await
}
