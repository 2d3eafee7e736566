//! Lambda function `login`: POST /v1/login, GET /v1/session, POST /v1/logout.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run(sapk_functions::LOGIN_ROUTES).await
}
