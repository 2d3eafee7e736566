//! Lambda function `forgot`: POST /v1/password/forgot.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run(sapk_functions::FORGOT_ROUTES).await
}
