//! CodeDeploy and Lambda as the pre-traffic hook meets them, on 127.0.0.1: deployments the
//! test declares (`GetDeployment`, `GetApplicationRevision`), the verdicts the hook reports
//! (`PutLifecycleEventHookExecutionStatus`), and `Invoke` handed to a function binary the test
//! runs as the "new version" ([`crate::lambda_runtime::LambdaProcess`]). Neither moto nor any
//! other stand-in here runs Lambda functions.

use crate::lambda_runtime::LambdaProcess;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

/// One deployment: its application and group, its AppSpec, and whether `GetDeployment`
/// carries the AppSpec inline (else the hook asks `GetApplicationRevision`).
#[derive(Clone)]
pub struct Deployment {
    pub application: String,
    pub group: String,
    pub appspec: String,
    pub inline: bool,
}

#[derive(Default)]
struct State {
    deployments: HashMap<String, Deployment>,
    versions: HashMap<String, Arc<LambdaProcess>>,
    verdicts: Vec<(String, String, String)>,
}

pub struct ControlPlane {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(status: u16, headers: &[(&str, &str)], body: String) -> hyper::Response<Full<Bytes>> {
    let mut b = hyper::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::from(body))).unwrap_or_default()
}

fn aws_json(v: Value) -> hyper::Response<Full<Bytes>> {
    answer(
        200,
        &[("content-type", "application/x-amz-json-1.1")],
        v.to_string(),
    )
}

fn revision(d: &Deployment) -> Value {
    json!({
        "revisionType": "AppSpecContent",
        "appSpecContent": { "content": d.appspec, "sha256": "0" }
    })
}

async fn codedeploy(state: &Mutex<State>, op: &str, body: &Value) -> hyper::Response<Full<Bytes>> {
    let id = body["deploymentId"].as_str().unwrap_or("").to_owned();
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    match op {
        "GetDeployment" => match lock().deployments.get(&id).cloned() {
            Some(d) => {
                let mut rev = revision(&d);
                if !d.inline {
                    // The revision by its digest (here: the deployment's id) alone.
                    rev = json!({ "revisionType": "AppSpecContent", "appSpecContent": { "sha256": id } });
                }
                aws_json(json!({ "deploymentInfo": {
                    "deploymentId": id,
                    "applicationName": d.application,
                    "deploymentGroupName": d.group,
                    "computePlatform": "Lambda",
                    "revision": rev,
                }}))
            }
            None => answer(
                400,
                &[],
                json!({ "__type": "DeploymentDoesNotExistException" }).to_string(),
            ),
        },
        "GetApplicationRevision" => {
            let app = body["applicationName"].as_str().unwrap_or("");
            let digest = body["revision"]["appSpecContent"]["sha256"]
                .as_str()
                .unwrap_or("");
            let found = lock()
                .deployments
                .get(digest)
                .filter(|d| d.application == app)
                .cloned();
            match found {
                Some(d) => aws_json(
                    json!({ "applicationName": app, "revision": revision(&d), "revisionInfo": {} }),
                ),
                None => answer(
                    400,
                    &[],
                    json!({ "__type": "RevisionDoesNotExistException" }).to_string(),
                ),
            }
        }
        "PutLifecycleEventHookExecutionStatus" => {
            let hook = body["lifecycleEventHookExecutionId"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let status = body["status"].as_str().unwrap_or("").to_owned();
            lock().verdicts.push((id, hook.clone(), status));
            aws_json(json!({ "lifecycleEventHookExecutionId": hook }))
        }
        other => answer(400, &[], format!("unknown operation {other}")),
    }
}

async fn route(
    state: Arc<Mutex<State>>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or("").to_owned());
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if let Some(op) = target {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        return codedeploy(&state, &op, &v).await;
    }
    // POST /2015-03-31/functions/{name}/invocations?Qualifier={version}
    let name = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|p| p.strip_suffix("/invocations"))
        .unwrap_or("");
    let name = crate::recorder::percent_decode(name);
    let qualifier = query
        .split('&')
        .find_map(|p| p.strip_prefix("Qualifier="))
        .unwrap_or("$LATEST");
    let process = state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .versions
        .get(&format!("{name}:{qualifier}"))
        .cloned();
    let Some(process) = process else {
        return answer(
            404,
            &[("x-amzn-errortype", "ResourceNotFoundException")],
            json!({ "Type": "User", "message": "Function not found" }).to_string(),
        );
    };
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match process.invoke(payload).await {
        Ok(out) => answer(
            200,
            &[("x-amz-executed-version", qualifier)],
            out.to_string(),
        ),
        Err(e) => answer(
            200,
            &[("x-amz-function-error", "Unhandled")],
            json!({ "errorMessage": e }).to_string(),
        ),
    }
}

impl ControlPlane {
    pub async fn start() -> ControlPlane {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the control plane");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, Infallible>(route(s, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        ControlPlane { url, state, task }
    }

    /// Declares deployment `id`, and the process that is version `version` of `function`.
    pub fn deploy(
        &self,
        id: &str,
        function: &str,
        version: &str,
        process: Arc<LambdaProcess>,
        inline: bool,
    ) {
        let appspec = json!({
            "version": 0.0,
            "Resources": [{ function: { "Type": "AWS::Lambda::Function", "Properties": {
                "Name": function, "Alias": "live", "CurrentVersion": "1", "TargetVersion": version
            }}}]
        });
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.deployments.insert(
            id.to_owned(),
            Deployment {
                application: "sapk-codedeploy-app".into(),
                group: format!("{function}DeploymentGroup"),
                appspec: appspec.to_string(),
                inline,
            },
        );
        s.versions.insert(format!("{function}:{version}"), process);
    }

    /// The verdicts reported so far: (deployment, hook execution, status).
    pub fn verdicts(&self) -> Vec<(String, String, String)> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .verdicts
            .clone()
    }
}
