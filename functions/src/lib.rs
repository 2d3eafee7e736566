//! Shared start-up of the Lambda functions: JSON logs, configuration from the environment,
//! clients built once, then the runtime loop over [`sapk_http::Api::handle`].

use anyhow::Context;
use lambda_http::{service_fn, Body, Request, Response};
use sapk_core::Config;
use sapk_http::{Api, Route};

/// JSON logs, level from `RUST_LOG` (default `info`), without ANSI colours.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .init();
}

/// Builds everything once, then serves `routes` until the runtime stops.
pub async fn run(routes: &[Route]) -> anyhow::Result<()> {
    init_logging();
    let config = Config::from_env().context("reading SAPK_* configuration")?;
    let service = wiring::service_from_env(config).await?;
    service.warm_up().await;
    let api = Api::new(std::sync::Arc::new(service), routes);
    lambda_http::run(service_fn(move |req: Request| {
        let api = api.clone();
        async move { Ok::<Response<Body>, lambda_http::Error>(api.handle(req).await) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

mod wiring {
    use sapk_core::{Config, Service};

    /// The AWS wiring (DynamoDB store, SES mailer, token key from configuration).
    pub async fn service_from_env(_config: Config) -> anyhow::Result<Service> {
        anyhow::bail!(
            "the AWS adapters (DynamoDB store, SES mailer) are not wired into this build yet; \
             run `sapk-local` to serve the API on this machine"
        )
    }
}
