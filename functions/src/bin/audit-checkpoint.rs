//! Lambda function `audit-checkpoint`: every hour, a keyed checkpoint of every audit chain's
//! head into the Object Lock bucket.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run_audit_checkpoint().await
}
