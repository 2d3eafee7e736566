//! Lambda function `reset`: POST /v1/password/reset.

use sapk_http::Route;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run(&[Route::Reset]).await
}
