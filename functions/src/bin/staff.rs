//! Lambda function `staff`: the counter routes `/v1/staff/...`, behind API Gateway's IAM
//! authorizer.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run_staff().await
}
