//! CodeDeploy's side of the pre-traffic hook: which version a deployment is about to send
//! traffic to (its AppSpec), invoking that version, and reporting the verdict.

use aws_sdk_codedeploy::types::LifecycleEventStatus;
use aws_sdk_lambda::primitives::Blob;
use serde::Deserialize;
use std::time::Duration;

/// Why the hook could not reach a verdict (it then reports `Failed`: traffic stays where it
/// is).
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("CodeDeploy: {0}")]
    CodeDeploy(String),
    #[error("the deployment's AppSpec: {0}")]
    AppSpec(String),
    #[error("invoking the new version: {0}")]
    Invoke(String),
}

/// The function and the version a deployment shifts its alias to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub function: String,
    pub alias: String,
    pub version: String,
}

#[derive(Deserialize)]
struct AppSpec {
    #[serde(rename = "Resources")]
    resources: Vec<std::collections::BTreeMap<String, AppSpecResource>>,
}

#[derive(Deserialize)]
struct AppSpecResource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Properties")]
    properties: AppSpecProperties,
}

#[derive(Deserialize)]
struct AppSpecProperties {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Alias")]
    alias: String,
    #[serde(rename = "TargetVersion")]
    target_version: String,
}

/// The one Lambda function of an AppSpec: `{"version":0.0,"Resources":[{"<Logical>":{"Type":
/// "AWS::Lambda::Function","Properties":{"Name","Alias","CurrentVersion","TargetVersion"}}}]}`.
/// CodeDeploy keeps AppSpec content as JSON or YAML (RevisionLocation.appSpecContent); JSON is
/// YAML, so one YAML parser reads either.
pub fn target_of(appspec: &str) -> Result<Target, HookError> {
    let spec: AppSpec =
        serde_norway::from_str(appspec).map_err(|e| HookError::AppSpec(e.to_string()))?;
    let mut functions = spec
        .resources
        .into_iter()
        .flat_map(|m| m.into_values())
        .filter(|r| r.kind == "AWS::Lambda::Function");
    let one = functions
        .next()
        .ok_or_else(|| HookError::AppSpec("no AWS::Lambda::Function".into()))?;
    if functions.next().is_some() {
        return Err(HookError::AppSpec("more than one function".into()));
    }
    Ok(Target {
        function: one.properties.name,
        alias: one.properties.alias,
        version: one.properties.target_version,
    })
}

fn codedeploy_error(e: impl std::error::Error + 'static) -> HookError {
    HookError::CodeDeploy(aws_sdk_codedeploy::error::DisplayErrorContext(e).to_string())
}

/// The version deployment `deployment_id` shifts traffic to.
pub async fn target(
    codedeploy: &aws_sdk_codedeploy::Client,
    deployment_id: &str,
) -> Result<Target, HookError> {
    let info = codedeploy
        .get_deployment()
        .deployment_id(deployment_id)
        .send()
        .await
        .map_err(codedeploy_error)?
        .deployment_info
        .ok_or_else(|| HookError::CodeDeploy("no deploymentInfo".into()))?;
    let inline = info
        .revision()
        .and_then(|r| r.app_spec_content())
        .and_then(|c| c.content())
        .map(str::to_owned);
    let content = match inline {
        Some(c) => c,
        None => {
            let revision = codedeploy
                .get_application_revision()
                .application_name(info.application_name().unwrap_or_default())
                .set_revision(info.revision().cloned())
                .send()
                .await
                .map_err(codedeploy_error)?;
            let r = revision.revision();
            r.and_then(|r| r.app_spec_content())
                .and_then(|c| c.content())
                .or_else(|| r.and_then(|r| r.string()).and_then(|s| s.content()))
                .ok_or_else(|| HookError::CodeDeploy("the revision has no AppSpec".into()))?
                .to_owned()
        }
    };
    target_of(&content)
}

/// What the new version made of the probe: the error Lambda reports (a failed init, a panic,
/// a handler error), or its answer.
#[derive(Debug)]
pub struct Invoked {
    pub function_error: Option<String>,
    pub payload: serde_json::Value,
}

/// Invokes `target`'s new version (not the alias: it has no traffic yet) with `payload`.
pub async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    target: &Target,
    payload: &serde_json::Value,
) -> Result<Invoked, HookError> {
    let out = lambda
        .invoke()
        .function_name(&target.function)
        .qualifier(&target.version)
        .payload(Blob::new(payload.to_string()))
        .send()
        .await
        .map_err(|e| {
            HookError::Invoke(aws_sdk_lambda::error::DisplayErrorContext(e).to_string())
        })?;
    let bytes = out
        .payload()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    Ok(Invoked {
        function_error: out.function_error().map(str::to_owned),
        payload: serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into())),
    })
}

/// Tells CodeDeploy the verdict: `Succeeded` lets traffic shift, `Failed` rolls back.
pub async fn report(
    codedeploy: &aws_sdk_codedeploy::Client,
    deployment_id: &str,
    hook_execution_id: &str,
    succeeded: bool,
) -> Result<(), HookError> {
    let status = if succeeded {
        LifecycleEventStatus::Succeeded
    } else {
        LifecycleEventStatus::Failed
    };
    codedeploy
        .put_lifecycle_event_hook_execution_status()
        .deployment_id(deployment_id)
        .lifecycle_event_hook_execution_id(hook_execution_id)
        .status(status)
        .send()
        .await
        .map_err(codedeploy_error)?;
    Ok(())
}

/// The clients, from one SDK configuration. An invocation attempt waits up to 30 s (a cold
/// start reads the keys and opens the store before answering); a throttled one (the function
/// at its reserved concurrency during a flood) is tried again with backoff up to 20 s, for up
/// to 8 minutes, so that a busy hour does not roll back a healthy version.
pub fn clients(
    sdk: &aws_config::SdkConfig,
) -> (aws_sdk_codedeploy::Client, aws_sdk_lambda::Client) {
    let lambda = aws_sdk_lambda::config::Builder::from(sdk)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(480))
                .build(),
        )
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(30)
                .with_initial_backoff(Duration::from_secs(1))
                .with_max_backoff(Duration::from_secs(20)),
        )
        .build();
    (
        aws_sdk_codedeploy::Client::new(sdk),
        aws_sdk_lambda::Client::from_conf(lambda),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_appspec_cloudformation_writes_names_the_new_version() {
        let spec = r#"{"version":0.0,"Resources":[{"ForgotFunction":{"Type":"AWS::Lambda::Function","Properties":{"Name":"sapk-ForgotFunction-1AbC","Alias":"live","CurrentVersion":"7","TargetVersion":"8"}}}]}"#;
        assert_eq!(
            target_of(spec).unwrap(),
            Target {
                function: "sapk-ForgotFunction-1AbC".into(),
                alias: "live".into(),
                version: "8".into()
            }
        );
    }

    #[test]
    fn an_appspec_in_yaml_names_the_new_version_too() {
        let spec = "version: 0.0\nResources:\n  - ForgotFunction:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: sapk-ForgotFunction-1AbC\n        Alias: live\n        CurrentVersion: 7\n        TargetVersion: 8\n";
        assert_eq!(target_of(spec).unwrap().version, "8");
    }

    #[test]
    fn an_appspec_without_one_function_is_refused() {
        for spec in [
            r#"{"Resources":[]}"#,
            "not json",
            r#"{"Resources":[{"A":{"Type":"AWS::Lambda::Function","Properties":{"Name":"a","Alias":"live","TargetVersion":"2"}}},{"B":{"Type":"AWS::Lambda::Function","Properties":{"Name":"b","Alias":"live","TargetVersion":"2"}}}]}"#,
        ] {
            assert!(target_of(spec).is_err(), "{spec}");
        }
    }
}
