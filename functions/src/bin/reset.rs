//! Lambda function `reset`: POST /v1/password/reset.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run(sapk_functions::RESET_ROUTES).await
}
