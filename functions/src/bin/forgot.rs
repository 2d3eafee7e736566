//! Lambda function `forgot`: POST /v1/password/forgot.

use sapk_http::Route;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run(&[Route::Forgot]).await
}
