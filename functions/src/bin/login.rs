//! Lambda function `login`: POST /v1/login, GET /v1/session, POST /v1/logout.

use sapk_http::Route;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run(&[Route::Login, Route::Session, Route::Logout]).await
}
