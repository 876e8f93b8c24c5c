//! Installing the six generated CRDs (server-side apply) once per test process, and where their objects live.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use booster_api::crds;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::ApiResource;
use tokio::sync::OnceCell;

use crate::reply::{Reply, send};
use crate::{Error, Result};

/// The field manager of everything the tests apply.
pub const FIELD_MANAGER: &str = "model-booster-testkit";
const CRD_PATH: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(60);

static INSTALL: OnceCell<CrdInstall> = OnceCell::const_new();

/// What installing the CRDs reported.
#[derive(Clone, Debug)]
pub struct CrdInstall {
    /// The CRDs the API server accepted (all six, normally), in [`crds::all`] order.
    pub crds: Vec<CrdReport>,
    /// CRDs the API server refused, with its message: the tests of other kinds still run, and every request for
    /// a refused kind made through [`crate::Cluster`] fails with this message.
    pub refused: Vec<(String, String)>,
    /// Apply plus wait for Established, all six.
    pub elapsed: Duration,
}

#[derive(Clone, Debug)]
pub struct CrdReport {
    pub name: String,
    /// `Warning` headers of the apply response.
    pub warnings: Vec<String>,
    /// Bytes of the apply request body (the CRD as JSON).
    pub request_bytes: usize,
    /// Bytes of the stored object as returned (JSON, with `managedFields`).
    pub stored_bytes: usize,
    /// Bytes of `metadata.managedFields` alone.
    pub managed_fields_bytes: usize,
}

pub(crate) async fn install_once(client: &kube::Client) -> Result<&'static CrdInstall> {
    INSTALL.get_or_try_init(|| install(client)).await
}

async fn install(client: &kube::Client) -> Result<CrdInstall> {
    let started = Instant::now();
    let mut reports = Vec::new();
    let mut refused = Vec::new();
    for crd in crds::all() {
        match apply(client, &crd).await? {
            Ok(report) => reports.push(report),
            Err(refusal) => refused.push(refusal),
        }
    }
    for report in &reports {
        wait_established(client, &report.name).await?;
    }
    Ok(CrdInstall { crds: reports, refused, elapsed: started.elapsed() })
}

impl CrdInstall {
    /// Fails when the CRD serving `kind` was refused, with the API server's message.
    pub fn require(&self, kind: &str) -> Result<()> {
        let name = api_resource(kind).map(|r| format!("{}.{}", r.plural, r.group)).unwrap_or_default();
        match self.refused.iter().find(|(refused, _)| *refused == name) {
            Some((_, message)) => Err(Error::Cluster(format!("the API server refused CRD {name}: {message}"))),
            None => Ok(()),
        }
    }
}

/// Applies `crd` server-side (field manager [`FIELD_MANAGER`], forced) and waits until it is Established.
pub(crate) async fn apply_and_wait(client: &kube::Client, crd: &CustomResourceDefinition) -> Result<()> {
    let report = apply(client, crd)
        .await?
        .map_err(|(name, message)| Error::Cluster(format!("the API server refused CRD {name}: {message}")))?;
    wait_established(client, &report.name).await
}

/// Applies one CRD; the inner `Err` is a refusal (name, the API server's message).
async fn apply(client: &kube::Client, crd: &CustomResourceDefinition) -> Result<Result<CrdReport, (String, String)>> {
    let name = crd.metadata.name.clone().ok_or_else(|| Error::Cluster("a generated CRD has no name".into()))?;
    let body = serde_json::to_vec(crd)?;
    let request_bytes = body.len();
    let request = http::Request::patch(format!(
        "{CRD_PATH}/{name}?fieldManager={FIELD_MANAGER}&force=true&fieldValidation=Strict"
    ))
    .header(http::header::CONTENT_TYPE, "application/apply-patch+yaml")
    .body(body)?;
    let reply: Reply = send(client, request).await?;
    if reply.status == http::StatusCode::UNPROCESSABLE_ENTITY {
        return Ok(Err((name, reply.message())));
    }
    if !reply.status.is_success() {
        return Err(Error::Cluster(format!("applying CRD {name}: HTTP {}: {}", reply.status, reply.message())));
    }
    let managed_fields_bytes =
        reply.body.pointer("/metadata/managedFields").map(|v| v.to_string().len()).unwrap_or_default();
    Ok(Ok(CrdReport {
        name,
        warnings: reply.warnings,
        request_bytes,
        stored_bytes: reply.body.to_string().len(),
        managed_fields_bytes,
    }))
}

async fn wait_established(client: &kube::Client, name: &str) -> Result<()> {
    let deadline = Instant::now() + ESTABLISH_TIMEOUT;
    loop {
        let request = http::Request::get(format!("{CRD_PATH}/{name}")).body(Vec::new())?;
        let reply = send(client, request).await?;
        let conditions =
            reply.body.pointer("/status/conditions").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
        let established = conditions.iter().any(|c| {
            c.get("type").and_then(serde_json::Value::as_str) == Some("Established")
                && c.get("status").and_then(serde_json::Value::as_str) == Some("True")
        });
        if established {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Cluster(format!(
                "CRD {name} not Established after {ESTABLISH_TIMEOUT:?}; conditions: {}",
                serde_json::Value::Array(conditions)
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The resource of one of our six kinds (`ModelBooster`, `ModelServing`, …), from the generated CRDs.
pub fn api_resource(kind: &str) -> Option<ApiResource> {
    // Generating the CRDs takes a while in debug builds (the ModelServing schema is large): once per process.
    static RESOURCES: LazyLock<Vec<ApiResource>> = LazyLock::new(|| {
        crds::all()
            .into_iter()
            .filter_map(|crd| {
                let spec = crd.spec;
                let version = spec.versions.first()?.name.clone();
                Some(ApiResource {
                    api_version: format!("{}/{version}", spec.group),
                    group: spec.group,
                    version,
                    kind: spec.names.kind,
                    plural: spec.names.plural,
                })
            })
            .collect()
    });
    RESOURCES.iter().find(|r| r.kind == kind).cloned()
}

/// `/apis/<group>/<version>/namespaces/<namespace>/<plural>`.
pub fn collection_path(resource: &ApiResource, namespace: &str) -> String {
    format!("/apis/{}/{}/namespaces/{namespace}/{}", resource.group, resource.version, resource.plural)
}
