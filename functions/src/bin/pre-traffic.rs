//! Lambda function `pre-traffic`: CodeDeploy's hook before a new version gets traffic.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sapk_functions::run_pre_traffic().await
}
