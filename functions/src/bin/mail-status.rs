//! Lambda function `mail-status`: SES's delivery, bounce, complaint, reject and delay events
//! (through SNS) into each account's last mail status.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run_mail_status().await
}
