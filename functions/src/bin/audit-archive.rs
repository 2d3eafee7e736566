//! Lambda function `audit-archive`: the audit table's stream into the Object Lock bucket.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run_audit_archive().await
}
