//! The Helm chart `charts/model-booster`: `helm lint`; the package holds the ModelBooster CRD and not the Kthena
//! ones; every manifest of `helm template` (default values, a watch namespace, two replicas, a ServiceMonitor) is
//! accepted by a server-side dry-run apply; and the RBAC proof: the real operator runs under the chart's
//! ServiceAccount, bound to exactly the chart's roles, and does its whole job, while everything else is denied.
//!
//! - helm comes from `MODEL_BOOSTER_HELM` (`cargo xtask helm build` builds it; `cargo xtask test` sets the
//!   variable). Unset: the test is skipped with one line, or fails when `CI` is set.
//! - The operator is the `booster` binary of the same build (`target/debug/booster`, beside this test binary's
//!   `deps/` directory). `cargo test --workspace` builds it because `booster-operator` has integration tests; the
//!   test lives here rather than in `booster-operator/tests/` so that all chart tests share one binary, the
//!   `Cluster` helpers and the chart-rendering code. After `cargo test -p booster-testkit` alone it can be stale.

use std::collections::BTreeSet;
use std::future::Future;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use booster_testkit::{Cluster, api_resource, collection_path, workspace_root};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope, pinned_kind};
use serde_json::{Value, json};

use crate::{cluster, set_namespace};

/// The helm binary for the chart tests.
const HELM_ENV: &str = "MODEL_BOOSTER_HELM";
const FIELD_MANAGER: &str = "model-booster-chart-test";
const LEASE_NAME: &str = "model-booster";
/// Operator start, reconcile passes, and the API server's RBAC cache picking up new bindings.
const TIMEOUT: Duration = Duration::from_secs(60);
/// `booster run --shutdown-timeout` (25 s) plus the Lease release.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
const EXAMPLE: &str = "examples/gpu-vllm.yaml";

/// Returns `Ok(())` from the test when helm is not configured (the line was printed).
macro_rules! helm {
    ($test:expr) => {
        match Helm::find($test)? {
            Some(helm) => helm,
            None => return Ok(()),
        }
    };
}

// ----------------------------------------------------------------------------------------------------------------
// The rules of spec §5.13, as the chart must render them.

fn operator_rules() -> Value {
    let children = ["get", "list", "watch", "create", "patch", "delete"];
    json!([
        { "apiGroups": ["workload.serving.volcano.sh"], "resources": ["modelboosters"], "verbs": ["get", "list", "watch"] },
        { "apiGroups": ["workload.serving.volcano.sh"], "resources": ["modelboosters/status"], "verbs": ["patch"] },
        { "apiGroups": ["workload.serving.volcano.sh"], "resources": ["modelboosters/finalizers"], "verbs": ["update"] },
        {
            "apiGroups": ["workload.serving.volcano.sh"],
            "resources": ["modelservings", "autoscalingpolicies", "autoscalingpolicybindings"],
            "verbs": children,
        },
        { "apiGroups": ["networking.serving.volcano.sh"], "resources": ["modelservers", "modelroutes"], "verbs": children },
        { "apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"] },
    ])
}

fn lease_rules() -> Value {
    json!([
        { "apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"] },
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [LEASE_NAME],
            "verbs": ["get", "update", "patch"],
        },
    ])
}

// ----------------------------------------------------------------------------------------------------------------
// (a) lint and package

#[test]
fn chart_passes_helm_lint() -> Result<()> {
    let helm = helm!("chart::chart_passes_helm_lint");
    for sets in [
        &[][..],
        &["operator.watchNamespace=apps"],
        &["replicaCount=2", "serviceMonitor.enabled=false"],
        &["serviceMonitor.enabled=true"],
    ] {
        let mut args = vec!["lint", "--strict", helm.chart_arg()];
        for set in sets {
            args.extend(["--set", set]);
        }
        let out = helm.run(&args)?;
        println!("helm lint {sets:?}:\n{out}");
    }
    Ok(())
}

#[test]
fn chart_values_are_checked() -> Result<()> {
    let helm = helm!("chart::chart_values_are_checked");
    for (set, expected) in [
        ("unknownKey=1", "additional properties 'unknownKey' not allowed"),
        ("operator.workers=0", "/operator/workers"),
        ("operator.logFormat=xml", "/operator/logFormat"),
        ("operator.resyncInterval=soon", "/operator/resyncInterval"),
        ("operator.watchNamespace=Not_A_Namespace", "/operator/watchNamespace"),
        ("terminationGracePeriodSeconds=20", "must exceed operator.shutdownTimeoutSeconds"),
    ] {
        let out = helm.output(&["template", "x", helm.chart_arg(), "--set", set])?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(!out.status.success(), "helm template --set {set} succeeded; expected a failure naming {expected:?}");
        ensure!(stderr.contains(expected), "helm template --set {set}: expected {expected:?} in:\n{stderr}");
    }
    Ok(())
}

#[test]
fn package_holds_the_model_booster_crd_and_not_the_kthena_crds() -> Result<()> {
    let helm = helm!("chart::package_holds_the_model_booster_crd_and_not_the_kthena_crds");
    let dir = TempDir::new("chart-package")?;
    let dir_arg = dir.path().display().to_string();
    helm.run(&["package", helm.chart_arg(), "--destination", &dir_arg])?;
    let package = dir.path().join("model-booster-0.1.0.tgz");
    let out = Command::new("tar").arg("-tzf").arg(&package).output().context("running tar -tzf")?;
    ensure!(out.status.success(), "tar -tzf {}: {}", package.display(), String::from_utf8_lossy(&out.stderr));
    let files: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    println!("package files:\n  {}", files.join("\n  "));
    let kthena: Vec<&String> = files.iter().filter(|f| f.contains("kthena-crds")).collect();
    ensure!(kthena.is_empty(), "the chart package contains the Kthena CRDs: {kthena:?} (see .helmignore)");
    let crds: Vec<&String> = files.iter().filter(|f| f.starts_with("model-booster/crds/")).collect();
    ensure!(
        crds == ["model-booster/crds/workload.serving.volcano.sh_modelboosters.yaml"],
        "the package's crds/ must hold exactly the ModelBooster CRD, found {crds:?}"
    );
    for required in ["Chart.yaml", "values.yaml", "values.schema.json", "README.md", "templates/deployment.yaml"] {
        ensure!(files.iter().any(|f| *f == format!("model-booster/{required}")), "the package lacks {required}");
    }
    // What Helm would install from crds/ on `helm install` of the package.
    let crds = parse_documents(&helm.run(&["show", "crds", &package.display().to_string()])?)?;
    let names: Vec<&str> = crds.iter().map(name).collect();
    ensure!(names == ["modelboosters.workload.serving.volcano.sh"], "helm show crds: {names:?}");
    Ok(())
}

// ----------------------------------------------------------------------------------------------------------------
// (b) server-side dry run of every rendered manifest

#[tokio::test]
async fn rendered_manifests_are_accepted_by_the_api_server() -> Result<()> {
    let test = "chart::rendered_manifests_are_accepted_by_the_api_server";
    let cluster = cluster!(test);
    let helm = helm!(test);
    let namespace = cluster.namespace("chart-template").await?;
    let watched = cluster.namespace("chart-template-watched").await?;
    let (ns, watched) = (namespace.name(), watched.name());
    let release = ns;
    let watch_set = format!("operator.watchNamespace={watched}");
    let cases: [(&str, Vec<&str>); 4] = [
        ("default values", vec![]),
        ("watch namespace", vec![watch_set.as_str()]),
        ("two replicas", vec!["replicaCount=2", "serviceMonitor.enabled=false"]),
        ("ServiceMonitor", vec!["serviceMonitor.enabled=true"]),
    ];
    let service_monitor_served =
        pinned_kind(cluster.client(), &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor"))
            .await
            .is_ok();
    let mut failures = Vec::new();
    for (case, sets) in &cases {
        let documents = helm.template(release, ns, sets)?;
        let kinds: BTreeSet<&str> = documents.iter().map(kind).collect();
        println!("{case}: {} manifests: {kinds:?}", documents.len());
        ensure!(!kinds.contains("CustomResourceDefinition"), "{case}: a CRD was rendered into the templates");
        check_manifests(case, &documents, ns, release, watched)?;
        for document in &documents {
            if kind(document) == "ServiceMonitor" && !service_monitor_served {
                println!(
                    "  ServiceMonitor {}: not applied, the API server does not serve monitoring.coreos.com/v1",
                    name(document)
                );
                continue;
            }
            if let Err(e) = apply(&cluster, document, true).await {
                failures.push(format!("{case}: {} {}: {e:#}", kind(document), name(document)));
            }
        }
    }
    ensure!(failures.is_empty(), "manifests refused by the API server:\n{}", failures.join("\n"));
    Ok(())
}

/// The objects of each case, the exact RBAC rules, and the Deployment's settings.
fn check_manifests(case: &str, documents: &[Value], ns: &str, release: &str, watched: &str) -> Result<()> {
    let full_name = format!("{release}-model-booster");
    let found = |k: &'static str| documents.iter().filter(move |d| kind(d) == k);
    let only = |k: &'static str| -> Result<&Value> {
        let all: Vec<&Value> = found(k).collect();
        ensure!(all.len() == 1, "{case}: expected one {k}, found {}", all.len());
        Ok(all[0])
    };
    let expected_kinds: &[&str] = match case {
        "watch namespace" => &["Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"],
        "two replicas" => &[
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "PodDisruptionBudget",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount",
        ],
        "ServiceMonitor" => &[
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount",
            "ServiceMonitor",
        ],
        _ => &["ClusterRole", "ClusterRoleBinding", "Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"],
    };
    let kinds: BTreeSet<&str> = documents.iter().map(kind).collect();
    ensure!(
        kinds.iter().copied().eq(expected_kinds.iter().copied()),
        "{case}: kinds {kinds:?}, expected {expected_kinds:?}"
    );

    // RBAC, spec §5.13: the operator's rules in a ClusterRole or in a Role in the watched namespace, and the Lease
    // Role in the release namespace, each bound to the chart's ServiceAccount.
    let operator_role = match case {
        "watch namespace" => {
            found("Role").find(|r| namespace(r) == watched).context("no Role in the watched namespace")?
        }
        _ => only("ClusterRole")?,
    };
    ensure!(operator_role["rules"] == operator_rules(), "{case}: operator rules {}", operator_role["rules"]);
    let lease_role = found("Role").find(|r| namespace(r) == ns).context("no Lease Role in the release namespace")?;
    ensure!(lease_role["rules"] == lease_rules(), "{case}: Lease rules {}", lease_role["rules"]);
    for binding in documents.iter().filter(|d| kind(d).ends_with("Binding")) {
        ensure!(
            binding["subjects"] == json!([{ "kind": "ServiceAccount", "name": full_name, "namespace": ns }]),
            "{case}: {} {} binds {}",
            kind(binding),
            name(binding),
            binding["subjects"]
        );
    }

    let deployment = only("Deployment")?;
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut expected_args = vec![
        "run",
        "--workers=5",
        "--resync-interval=10m",
        "--leader-elect=true",
        "--leader-election-id=model-booster",
        "--http-bind-address=0.0.0.0:8080",
        "--shutdown-timeout=25s",
        "--log-format=text",
    ];
    let watch_arg = format!("--watch-namespace={watched}");
    if case == "watch namespace" {
        expected_args.insert(2, &watch_arg);
    }
    ensure!(args == expected_args, "{case}: args {args:?}, expected {expected_args:?}");
    for (variable, field) in [("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")] {
        let env = container["env"].as_array().into_iter().flatten().find(|e| e["name"] == variable);
        ensure!(
            env.is_some_and(|e| e["valueFrom"]["fieldRef"]["fieldPath"] == field),
            "{case}: {variable} is not taken from {field} (Downward API)"
        );
    }
    ensure!(
        pod["serviceAccountName"] == full_name.as_str(),
        "{case}: serviceAccountName {}",
        pod["serviceAccountName"]
    );
    ensure!(pod["terminationGracePeriodSeconds"] == 30, "{case}: terminationGracePeriodSeconds");
    ensure!(
        container["ports"] == json!([{ "name": "http", "containerPort": 8080, "protocol": "TCP" }]),
        "{case}: ports"
    );
    ensure!(container["livenessProbe"]["httpGet"] == json!({ "path": "/healthz", "port": "http" }), "{case}: liveness");
    ensure!(
        container["readinessProbe"]["httpGet"] == json!({ "path": "/readyz", "port": "http" }),
        "{case}: readiness"
    );
    ensure!(
        pod["securityContext"]
            == json!({ "runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534, "seccompProfile": { "type": "RuntimeDefault" } }),
        "{case}: pod securityContext {}",
        pod["securityContext"]
    );
    ensure!(
        container["securityContext"]
            == json!({ "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": { "drop": ["ALL"] } }),
        "{case}: container securityContext {}",
        container["securityContext"]
    );
    let replicas = if case == "two replicas" { 2 } else { 1 };
    ensure!(deployment["spec"]["replicas"] == replicas, "{case}: replicas {}", deployment["spec"]["replicas"]);
    if let Some(pdb) = found("PodDisruptionBudget").next() {
        ensure!(pdb["spec"]["minAvailable"] == 1, "{case}: PDB minAvailable {}", pdb["spec"]["minAvailable"]);
    }
    if let Some(monitor) = found("ServiceMonitor").next() {
        ensure!(
            monitor["spec"]["endpoints"][0]["port"] == "http" && monitor["spec"]["endpoints"][0]["path"] == "/metrics",
            "{case}: ServiceMonitor endpoints {}",
            monitor["spec"]["endpoints"]
        );
    }
    let service = only("Service")?;
    ensure!(
        service["spec"]["ports"] == json!([{ "name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP" }]),
        "{case}: Service ports {}",
        service["spec"]["ports"]
    );
    Ok(())
}

// ----------------------------------------------------------------------------------------------------------------
// (c) the operator under the chart's ServiceAccount and RBAC

#[tokio::test]
async fn operator_works_with_exactly_the_chart_cluster_role() -> Result<()> {
    operator_works_with_exactly_the_chart_permissions(
        "chart::operator_works_with_exactly_the_chart_cluster_role",
        false,
    )
    .await
}

#[tokio::test]
async fn operator_works_with_exactly_the_chart_namespaced_role() -> Result<()> {
    operator_works_with_exactly_the_chart_permissions(
        "chart::operator_works_with_exactly_the_chart_namespaced_role",
        true,
    )
    .await
}

/// Installs the ServiceAccount and RBAC objects of `helm template` (a ClusterRole, or with `namespaced` the Role of
/// `operator.watchNamespace`), runs `booster` with the Deployment's arguments and a token of that ServiceAccount,
/// and checks the whole job: children created, status written, drift reverted, children pruned, events published,
/// the Lease held and released, no request forbidden.
async fn operator_works_with_exactly_the_chart_permissions(test: &str, namespaced: bool) -> Result<()> {
    let cluster = cluster!(test);
    let helm = helm!(test);
    let booster = booster_binary()?;
    require_served(&cluster).await?;
    let namespace = cluster.namespace(if namespaced { "chart-rbac-role" } else { "chart-rbac-cluster-role" }).await?;
    let ns = namespace.name();
    let identity = Identity::install(&cluster, &helm, ns, namespaced).await?;

    // The example, and the children the operator must create for it (rendered offline by the same binary).
    let mut booster_object = booster_testkit::load_yaml_documents(&workspace_root().join(EXAMPLE))?
        .into_iter()
        .next()
        .with_context(|| format!("{EXAMPLE} is empty"))?;
    set_namespace(&mut booster_object, ns);
    let model = name(&booster_object).to_string();
    let children = render_children(&booster, identity.dir.path(), &booster_object)?;
    ensure!(
        children.len() == 3,
        "{EXAMPLE} should render a ModelServing, a ModelServer and a ModelRoute: {children:?}"
    );

    let mut operator = Operator::start(&booster, &identity, ns)?;
    operator.wait_ready().await?;

    let reply = write(&cluster, http::Method::POST, ns, &booster_object).await?;
    ensure!(reply.status.is_success(), "creating {EXAMPLE}: HTTP {}: {}", reply.status, reply.message());

    // Every child created.
    for (child_kind, child_name) in &children {
        operator.wait_for(&format!("{child_kind} {child_name}"), || get(&cluster, child_kind, ns, child_name)).await?;
    }
    // Status written (merge patch of the status subresource).
    let status = operator
        .wait_for("the ModelBooster status", || async {
            let object = get(&cluster, "ModelBooster", ns, &model).await?;
            Ok(object.filter(|o| {
                o["status"]["observedGeneration"] == o["metadata"]["generation"]
                    && condition(o, "Initialized").is_some_and(|c| c["status"] == "True")
            }))
        })
        .await?;
    println!("status: {}", status["status"]);

    // A child changed by someone else is changed back (patch).
    let (serving_kind, serving_name) = children.iter().find(|(k, _)| k == "ModelServing").context("no ModelServing")?;
    let serving = get(&cluster, serving_kind, ns, serving_name).await?.context("ModelServing gone")?;
    let revision_label = "workload.serving.volcano.sh/revision";
    let revision = serving["metadata"]["labels"][revision_label].clone();
    ensure!(revision.is_string(), "ModelServing {serving_name} has no {revision_label} label");
    merge_patch(
        &cluster,
        serving_kind,
        ns,
        serving_name,
        &json!({ "metadata": { "labels": { revision_label: "changed" } } }),
    )
    .await?;
    operator
        .wait_for("the ModelServing's revision label to be restored", || async {
            let object = get(&cluster, serving_kind, ns, serving_name).await?;
            Ok(object.filter(|o| o["metadata"]["labels"][revision_label] == revision))
        })
        .await?;

    // Backend-level autoscaling adds an AutoscalingPolicy and its binding (create); removing it prunes them (delete).
    let original_spec = status["spec"].clone();
    let mut autoscaled = booster_object.clone();
    autoscaled["spec"]["backends"][0]["maxReplicas"] = json!(4);
    autoscaled["spec"]["backends"][0]["autoscalingPolicy"] =
        json!({ "metrics": [{ "metricName": "kthena:num_requests_waiting", "targetValue": 10 }] });
    let autoscaled_children = render_children(&booster, identity.dir.path(), &autoscaled)?;
    let added: Vec<&(String, String)> = autoscaled_children.iter().filter(|c| !children.contains(c)).collect();
    ensure!(added.len() == 2, "autoscaling should add a policy and a binding: {added:?}");
    replace_spec(&cluster, ns, &model, &autoscaled["spec"]).await?;
    for (child_kind, child_name) in &added {
        operator.wait_for(&format!("{child_kind} {child_name}"), || get(&cluster, child_kind, ns, child_name)).await?;
    }
    replace_spec(&cluster, ns, &model, &original_spec).await?;
    for (child_kind, child_name) in &added {
        operator
            .wait_for(&format!("{child_kind} {child_name} to be pruned"), || async {
                Ok(get(&cluster, child_kind, ns, child_name).await?.is_none().then_some(()))
            })
            .await?;
    }

    // Events published (create/patch on events.k8s.io; a failure there is only logged by the operator).
    let events = operator
        .wait_for("an Applied event", || async {
            let path = format!("/apis/events.k8s.io/v1/namespaces/{ns}/events");
            let reply = cluster.send(http::Request::get(path).body(Vec::new())?).await?;
            ensure!(reply.status.is_success(), "listing events: HTTP {}: {}", reply.status, reply.message());
            let items = reply.body["items"].as_array().cloned().unwrap_or_default();
            let ours: Vec<Value> = items.into_iter().filter(|e| e["reportingController"] == "model-booster").collect();
            Ok(ours.iter().any(|e| e["reason"] == "Applied").then_some(ours))
        })
        .await?;
    let reasons: BTreeSet<&str> = events.iter().filter_map(|e| e["reason"].as_str()).collect();
    println!("events by model-booster: {} ({reasons:?})", events.len());
    ensure!(reasons.contains("Pruned"), "no Pruned event among {reasons:?}");

    // The Lease is held by this process, and it says so on /metrics.
    let lease = get_lease(&cluster, ns).await?.context("no Lease")?;
    let holder = lease["spec"]["holderIdentity"].as_str().unwrap_or_default().to_string();
    ensure!(holder.starts_with(&operator.pod_name), "Lease holder {holder:?}, expected {}…", operator.pod_name);
    let metrics = operator.http_get("/metrics")?;
    ensure!(metrics.1.lines().any(|l| l == "model_booster_leader 1"), "/metrics lacks model_booster_leader 1");

    // A graceful shutdown releases the Lease (update by name) and exits 0.
    let log = operator.stop().await?;
    let lease = get_lease(&cluster, ns).await?.context("the Lease disappeared")?;
    let holder = lease["spec"]["holderIdentity"].as_str().unwrap_or_default();
    ensure!(holder.is_empty(), "the Lease is still held by {holder:?} after the shutdown");
    let forbidden = forbidden_lines(&log);
    ensure!(forbidden.is_empty(), "the operator was refused requests:\n{}", forbidden.join("\n"));
    Ok(())
}

// ----------------------------------------------------------------------------------------------------------------
// (d) what the ServiceAccount may and may not do

#[tokio::test]
async fn service_account_has_exactly_the_chart_permissions() -> Result<()> {
    let test = "chart::service_account_has_exactly_the_chart_permissions";
    let cluster = cluster!(test);
    let helm = helm!(test);
    for namespaced in [false, true] {
        let namespace =
            cluster.namespace(if namespaced { "chart-access-role" } else { "chart-access-cluster-role" }).await?;
        let ns = namespace.name();
        let identity = Identity::install(&cluster, &helm, ns, namespaced).await?;
        let client = identity.client().await?;
        // Exactly what spec §5.13 grants (the same rules the rendered roles are compared with), each verb on its own.
        let mut allowed = Vec::new();
        for rule in
            operator_rules().as_array().into_iter().flatten().chain(lease_rules().as_array().into_iter().flatten())
        {
            let strings = |key: &str| -> Vec<String> {
                rule[key].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
            };
            let names = strings("resourceNames");
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    for verb in strings("verbs") {
                        let access = Access::new(&verb, &group, &resource, ns);
                        allowed.push(match names.first() {
                            Some(name) => access.named(name),
                            None => access,
                        });
                    }
                }
            }
        }

        let mut denied = vec![
            Access::new("get", "", "secrets", ns),
            Access::new("list", "", "secrets", ns),
            Access::new("list", "", "pods", ns),
            Access::new("get", "", "configmaps", ns),
            Access::new("get", "", "services", ns),
            Access::new("create", "", "events", ns),
            Access::new("update", "workload.serving.volcano.sh", "modelboosters", ns),
            Access::new("patch", "workload.serving.volcano.sh", "modelboosters", ns),
            Access::new("create", "workload.serving.volcano.sh", "modelboosters", ns),
            Access::new("delete", "workload.serving.volcano.sh", "modelboosters", ns),
            Access::new("update", "workload.serving.volcano.sh", "modelboosters/status", ns),
            Access::new("update", "workload.serving.volcano.sh", "modelservings", ns),
            Access::new("update", "workload.serving.volcano.sh", "modelservings", ns).named("any"),
            Access::new("update", "workload.serving.volcano.sh", "autoscalingpolicies", ns),
            Access::new("update", "workload.serving.volcano.sh", "autoscalingpolicybindings", ns),
            Access::new("update", "networking.serving.volcano.sh", "modelservers", ns),
            Access::new("update", "networking.serving.volcano.sh", "modelroutes", ns),
            Access::new("deletecollection", "workload.serving.volcano.sh", "modelservings", ns),
            Access::new("get", "coordination.k8s.io", "leases", ns).named("another-lease"),
            Access::new("update", "coordination.k8s.io", "leases", ns).named("another-lease"),
            Access::new("list", "coordination.k8s.io", "leases", ns),
            Access::new("delete", "coordination.k8s.io", "leases", ns).named(LEASE_NAME),
            Access::new("get", "apiextensions.k8s.io", "customresourcedefinitions", ""),
        ];
        if namespaced {
            // The Role covers the watched namespace only.
            denied.push(Access::new("list", "workload.serving.volcano.sh", "modelboosters", "default"));
            denied.push(Access::new("list", "workload.serving.volcano.sh", "modelboosters", ""));
            denied.push(Access::new("create", "workload.serving.volcano.sh", "modelservings", "default"));
        }

        // New bindings reach the authorizer through its informers: wait for the first grant.
        let deadline = Instant::now() + TIMEOUT;
        while !allowed[0].check(&client).await? {
            ensure!(Instant::now() < deadline, "{}: never allowed {:?}", ns, allowed[0]);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut wrong = Vec::new();
        for access in &allowed {
            if !access.check(&client).await? {
                wrong.push(format!("denied but granted by the chart: {access:?}"));
            }
        }
        for access in &denied {
            if access.check(&client).await? {
                wrong.push(format!("allowed but not granted by spec §5.13: {access:?}"));
            }
        }
        // And a real request, not only a review.
        let reply =
            send_as(&client, http::Request::get(format!("/api/v1/namespaces/{ns}/secrets")).body(Vec::new())?).await?;
        if reply.status != http::StatusCode::FORBIDDEN {
            wrong.push(format!("listing secrets as the ServiceAccount: HTTP {}, expected 403", reply.status));
        }
        println!(
            "{}: {} accesses allowed, {} denied, as expected: {}",
            if namespaced { "Role" } else { "ClusterRole" },
            allowed.len(),
            denied.len(),
            wrong.is_empty()
        );
        ensure!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
    Ok(())
}

/// One SelfSubjectAccessReview question.
#[derive(Debug)]
struct Access {
    verb: String,
    group: String,
    resource: String,
    namespace: String,
    name: String,
}

impl Access {
    fn new(verb: &str, group: &str, resource: &str, namespace: &str) -> Self {
        let text = str::to_string;
        Self {
            verb: text(verb),
            group: text(group),
            resource: text(resource),
            namespace: text(namespace),
            name: String::new(),
        }
    }

    fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    async fn check(&self, client: &kube::Client) -> Result<bool> {
        let (resource, subresource) = self.resource.split_once('/').unwrap_or((&self.resource, ""));
        let review = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": { "resourceAttributes": {
                "namespace": self.namespace,
                "verb": self.verb,
                "group": self.group,
                "resource": resource,
                "subresource": subresource,
                "name": self.name,
            }},
        });
        let request = http::Request::post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&review)?)?;
        let reply = send_as(client, request).await?;
        ensure!(reply.status.is_success(), "SelfSubjectAccessReview {self:?}: HTTP {}: {}", reply.status, reply.body);
        Ok(reply.body["status"]["allowed"] == true)
    }
}

// ----------------------------------------------------------------------------------------------------------------
// helm

struct Helm {
    binary: PathBuf,
    chart: String,
}

impl Helm {
    /// `Ok(None)`: skip the test (one line printed); an error when `CI` is set.
    fn find(test: &str) -> Result<Option<Self>> {
        let chart = workspace_root().join("charts/model-booster").display().to_string();
        match std::env::var_os(HELM_ENV).filter(|v| !v.is_empty()) {
            Some(binary) => {
                let binary = PathBuf::from(binary);
                ensure!(binary.is_file(), "{HELM_ENV}={} is not a file; run cargo xtask helm build", binary.display());
                Ok(Some(Self { binary, chart }))
            }
            None if std::env::var("CI")
                .is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")) =>
            {
                bail!(
                    "{HELM_ENV} is unset and CI is set: run cargo xtask test (or cargo xtask helm build and export {HELM_ENV})"
                )
            }
            None => {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping {test}: {HELM_ENV} is unset (cargo xtask helm build prints the path; cargo xtask test sets it)"
                );
                Ok(None)
            }
        }
    }

    fn chart_arg(&self) -> &str {
        &self.chart
    }

    fn output(&self, args: &[&str]) -> Result<std::process::Output> {
        Command::new(&self.binary)
            .args(args)
            .output()
            .with_context(|| format!("running {} {}", self.binary.display(), args.join(" ")))
    }

    /// stdout of a successful run.
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = self.output(args)?;
        ensure!(
            out.status.success(),
            "helm {} failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The manifests of `helm template <release> <chart> --namespace <namespace> --set …`.
    fn template(&self, release: &str, namespace: &str, sets: &[&str]) -> Result<Vec<Value>> {
        let mut args = vec!["template", release, self.chart_arg(), "--namespace", namespace];
        for set in sets {
            args.extend(["--set", set]);
        }
        parse_documents(&self.run(&args)?)
    }
}

fn parse_documents(text: &str) -> Result<Vec<Value>> {
    use serde::Deserialize;
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document).context("parsing helm output")?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

fn kind(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

fn namespace(object: &Value) -> &str {
    object["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == type_)
}

// ----------------------------------------------------------------------------------------------------------------
// API helpers

/// Server-side apply of a rendered manifest (any kind the API server serves), optionally as a dry run.
async fn apply(cluster: &Cluster, object: &Value, dry_run: bool) -> Result<()> {
    let api_version = object["apiVersion"].as_str().context("manifest without apiVersion")?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind(object));
    let (resource, capabilities) =
        pinned_kind(cluster.client(), &gvk).await.with_context(|| format!("discovering {gvk:?}"))?;
    let api: Api<DynamicObject> = match capabilities.scope {
        Scope::Namespaced => Api::namespaced_with(cluster.client().clone(), namespace(object), &resource),
        Scope::Cluster => Api::all_with(cluster.client().clone(), &resource),
    };
    let mut params = PatchParams::apply(FIELD_MANAGER).force().validation_strict();
    if dry_run {
        params = params.dry_run();
    }
    api.patch(name(object), &params, &Patch::Apply(object)).await?;
    Ok(())
}

/// Fails unless the API server serves all six kinds. Whichever CRD version serves them will do (as in the
/// operator's tests): this proves the permissions, not the schemas; the message carries the testkit's CRD refusal.
async fn require_served(cluster: &Cluster) -> Result<()> {
    let mut missing = Vec::new();
    for kind in
        ["ModelBooster", "ModelServing", "ModelServer", "ModelRoute", "AutoscalingPolicy", "AutoscalingPolicyBinding"]
    {
        let resource = api_resource(kind).with_context(|| format!("{kind} is not one of our kinds"))?;
        let list = cluster.client().list_api_group_resources(&resource.api_version).await;
        if !list.is_ok_and(|l| l.resources.iter().any(|r| r.name == resource.plural)) {
            let refusal = cluster.crd_install().require(kind).err().map(|e| e.to_string()).unwrap_or_default();
            missing.push(format!("{kind} ({}) {refusal}", resource.api_version));
        }
    }
    ensure!(missing.is_empty(), "the API server does not serve: {}", missing.join("; "));
    Ok(())
}

/// POST (create) or PUT (replace, with `metadata.resourceVersion`) of one of our kinds, `fieldValidation=Strict`.
async fn write(cluster: &Cluster, method: http::Method, ns: &str, object: &Value) -> Result<booster_testkit::Reply> {
    let resource = api_resource(kind(object)).with_context(|| format!("{} is not one of our kinds", kind(object)))?;
    let mut path = collection_path(&resource, ns);
    if method == http::Method::PUT {
        path = format!("{path}/{}", name(object));
    }
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{path}?fieldValidation=Strict"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(object)?)?;
    Ok(cluster.send(request).await?)
}

/// GET of one of our six kinds; `None` on 404.
async fn get(cluster: &Cluster, kind: &str, ns: &str, name: &str) -> Result<Option<Value>> {
    let resource = api_resource(kind).with_context(|| format!("{kind} is not one of our kinds"))?;
    let path = format!("{}/{name}", collection_path(&resource, ns));
    let reply = cluster.send(http::Request::get(path).body(Vec::new())?).await?;
    if reply.status == http::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    ensure!(reply.status.is_success(), "GET {kind} {ns}/{name}: HTTP {}: {}", reply.status, reply.message());
    Ok(Some(reply.body))
}

async fn merge_patch(cluster: &Cluster, kind: &str, ns: &str, name: &str, patch: &Value) -> Result<()> {
    let resource = api_resource(kind).with_context(|| format!("{kind} is not one of our kinds"))?;
    let request = http::Request::patch(format!("{}/{name}", collection_path(&resource, ns)))
        .header(http::header::CONTENT_TYPE, "application/merge-patch+json")
        .body(serde_json::to_vec(patch)?)?;
    let reply = cluster.send(request).await?;
    ensure!(reply.status.is_success(), "patching {kind} {ns}/{name}: HTTP {}: {}", reply.status, reply.message());
    Ok(())
}

/// Replaces the ModelBooster's spec (GET, then PUT with its resourceVersion).
async fn replace_spec(cluster: &Cluster, ns: &str, model: &str, spec: &Value) -> Result<()> {
    let mut object = get(cluster, "ModelBooster", ns, model).await?.context("the ModelBooster is gone")?;
    object["spec"] = spec.clone();
    let reply = write(cluster, http::Method::PUT, ns, &object).await?;
    ensure!(reply.status.is_success(), "updating ModelBooster {model}: HTTP {}: {}", reply.status, reply.message());
    Ok(())
}

async fn get_lease(cluster: &Cluster, ns: &str) -> Result<Option<Value>> {
    let path = format!("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{LEASE_NAME}");
    let reply = cluster.send(http::Request::get(path).body(Vec::new())?).await?;
    if reply.status == http::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    ensure!(reply.status.is_success(), "GET Lease: HTTP {}: {}", reply.status, reply.message());
    Ok(Some(reply.body))
}

/// A raw request with another client (the ServiceAccount's); status and JSON body, also for errors.
async fn send_as(client: &kube::Client, request: http::Request<Vec<u8>>) -> Result<booster_testkit::Reply> {
    let response = client.send(request.map(kube::client::Body::from)).await?;
    let status = response.status();
    let bytes = response.into_body().collect_bytes().await?;
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Ok(booster_testkit::Reply { status, warnings: Vec::new(), body })
}

/// `(kind, name)` of every child `booster render` produces for `object`.
fn render_children(booster: &Path, dir: &Path, object: &Value) -> Result<Vec<(String, String)>> {
    let file = dir.join("model-booster.yaml");
    std::fs::write(&file, serde_yaml::to_string(object)?).with_context(|| format!("writing {}", file.display()))?;
    let out = Command::new(booster)
        .args(["render", "-o", "json", "-f"])
        .arg(&file)
        .output()
        .with_context(|| format!("running {} render", booster.display()))?;
    ensure!(out.status.success(), "booster render: {}", String::from_utf8_lossy(&out.stderr));
    let children: Vec<Value> = serde_json::from_slice(&out.stdout).context("parsing booster render -o json")?;
    Ok(children.iter().map(|c| (kind(c).to_string(), name(c).to_string())).collect())
}

// ----------------------------------------------------------------------------------------------------------------
// The chart's identity: ServiceAccount, roles and bindings, and a kubeconfig with a token of the ServiceAccount

struct Identity {
    /// Scratch files (kubeconfig, operator log); removed on drop.
    dir: TempDir,
    kubeconfig: PathBuf,
    /// The Deployment of the same `helm template` run.
    deployment: Value,
    /// Deletes the ClusterRole and ClusterRoleBinding on drop (the namespace takes the rest).
    _cluster_scoped: ClusterScoped,
}

impl Identity {
    async fn install(cluster: &Cluster, helm: &Helm, ns: &str, namespaced: bool) -> Result<Self> {
        // The release is named after the unique test namespace, so the cluster-scoped names are unique too.
        let watch = format!("operator.watchNamespace={ns}");
        let sets: Vec<&str> = if namespaced { vec![&watch] } else { vec![] };
        let documents = helm.template(ns, ns, &sets)?;
        let config = kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions::default()).await?;
        let mut cluster_scoped = ClusterScoped { paths: Vec::new(), config: config.clone() };
        let identity_kinds = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
        for document in documents.iter().filter(|d| identity_kinds.contains(&kind(d))) {
            match kind(document) {
                "ClusterRole" => cluster_scoped
                    .paths
                    .push(format!("/apis/rbac.authorization.k8s.io/v1/clusterroles/{}", name(document))),
                "ClusterRoleBinding" => cluster_scoped
                    .paths
                    .push(format!("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{}", name(document))),
                _ => ensure!(
                    namespace(document) == ns,
                    "{} {} is outside the test namespace",
                    kind(document),
                    name(document)
                ),
            }
            apply(cluster, document, false)
                .await
                .with_context(|| format!("applying {} {}", kind(document), name(document)))?;
        }
        let deployment = documents.iter().find(|d| kind(d) == "Deployment").context("no Deployment rendered")?.clone();
        let account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
            .as_str()
            .context("the Deployment names no ServiceAccount")?
            .to_string();

        // A token of the ServiceAccount (TokenRequest API), in a kubeconfig beside the admin one's cluster.
        let request = http::Request::post(format!("/api/v1/namespaces/{ns}/serviceaccounts/{account}/token"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&json!({
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": { "expirationSeconds": 3600 },
            }))?)?;
        let reply = cluster.send(request).await?;
        ensure!(reply.status.is_success(), "TokenRequest for {account}: HTTP {}: {}", reply.status, reply.message());
        let token = reply.body["status"]["token"].as_str().context("TokenRequest without a token")?;
        let admin = kube::config::Kubeconfig::read()?;
        let context = admin.current_context.as_deref().unwrap_or_default();
        let cluster_name = admin
            .contexts
            .iter()
            .find(|c| c.name == context)
            .and_then(|c| c.context.as_ref())
            .map(|c| c.cluster.clone())
            .context("the admin kubeconfig has no current context")?;
        let admin_cluster = admin
            .clusters
            .iter()
            .find(|c| c.name == cluster_name)
            .and_then(|c| c.cluster.as_ref())
            .context("the admin kubeconfig lacks the current context's cluster")?;
        let kubeconfig = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{ "name": "test", "cluster": {
                "server": admin_cluster.server,
                "certificate-authority-data": admin_cluster.certificate_authority_data,
                "certificate-authority": admin_cluster.certificate_authority,
            }}],
            "users": [{ "name": account, "user": { "token": token } }],
            "contexts": [{ "name": "sa", "context": { "cluster": "test", "user": account, "namespace": ns } }],
            "current-context": "sa",
        });
        let dir = TempDir::new(ns)?;
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, serde_json::to_vec_pretty(&kubeconfig)?)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Self { dir, kubeconfig: path, deployment, _cluster_scoped: cluster_scoped })
    }

    /// A client authenticated as the ServiceAccount.
    async fn client(&self) -> Result<kube::Client> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }
}

/// Cluster-scoped objects a test created, deleted on drop (also on panic), from a thread with its own runtime.
struct ClusterScoped {
    paths: Vec<String>,
    config: kube::Config,
}

impl Drop for ClusterScoped {
    fn drop(&mut self) {
        let paths = std::mem::take(&mut self.paths);
        let config = self.config.clone();
        let deletion = std::thread::spawn(move || -> Result<(), String> {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
                let mut errors = Vec::new();
                for path in paths {
                    let request =
                        http::Request::delete(&path).body(kube::client::Body::empty()).map_err(|e| e.to_string())?;
                    match client.send(request).await {
                        Ok(r) if r.status().is_success() || r.status() == http::StatusCode::NOT_FOUND => {}
                        Ok(r) => errors.push(format!("{path}: HTTP {}", r.status())),
                        Err(e) => errors.push(format!("{path}: {e}")),
                    }
                }
                if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
            })
        });
        if let Err(e) = deletion.join().unwrap_or_else(|_| Err("the deleting thread panicked".into())) {
            let _ = writeln!(std::io::stderr(), "warning: could not delete cluster-scoped test objects: {e}");
        }
    }
}

// ----------------------------------------------------------------------------------------------------------------
// The operator process

/// `target/<profile>/booster`, beside the `deps/` directory of this test binary.
fn booster_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test binary")?;
    let profile_dir =
        exe.parent().and_then(Path::parent).context("the test binary is not in <target>/<profile>/deps")?;
    let booster = profile_dir.join(format!("booster{}", std::env::consts::EXE_SUFFIX));
    ensure!(
        booster.is_file(),
        "{} not found: cargo test --workspace builds it (or cargo build -p booster-operator)",
        booster.display()
    );
    Ok(booster)
}

struct Operator {
    child: Child,
    port: u16,
    pod_name: String,
    log: PathBuf,
}

impl Operator {
    /// `booster` with the chart Deployment's arguments and environment, except the bind address (a free loopback
    /// port) and the Downward API values (set by hand), under the ServiceAccount's kubeconfig.
    fn start(booster: &Path, identity: &Identity, ns: &str) -> Result<Self> {
        let container = &identity.deployment["spec"]["template"]["spec"]["containers"][0];
        let port = free_port()?;
        let mut args: Vec<String> = container["args"]
            .as_array()
            .context("the Deployment's container has no args")?
            .iter()
            .filter_map(Value::as_str)
            .filter(|a| !a.starts_with("--http-bind-address"))
            .map(str::to_string)
            .collect();
        args.push(format!("--http-bind-address=127.0.0.1:{port}"));
        args.push(format!("--leader-election-namespace={ns}"));
        if !args.iter().any(|a| a.starts_with("--watch-namespace")) {
            args.push(format!("--watch-namespace={ns}"));
        }
        let rust_log = container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == "RUST_LOG")
            .and_then(|e| e["value"].as_str())
            .unwrap_or("info");
        let pod_name = format!("{ns}-operator");
        let log = identity.dir.path().join("operator.log");
        let log_file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        println!("running {} {}", booster.display(), args.join(" "));
        let child = Command::new(booster)
            .args(&args)
            .env_clear()
            .env("KUBECONFIG", &identity.kubeconfig)
            .env("POD_NAME", &pod_name)
            .env("POD_NAMESPACE", ns)
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", booster.display()))?;
        Ok(Self { child, port, pod_name, log })
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails (with the log) when the process has exited or the API server refused it a request.
    fn check_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the operator exited with {status}; its log:\n{}", self.log_text());
        }
        let log = self.log_text();
        let forbidden = forbidden_lines(&log);
        ensure!(forbidden.is_empty(), "the operator was refused requests:\n{}", forbidden.join("\n"));
        Ok(())
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let port = self.port;
        self.wait_for("/readyz", move || async move { Ok(self_ready(port)) }).await
    }

    /// Polls `probe` until it returns `Some`, failing when the operator exits or after [`TIMEOUT`].
    async fn wait_for<T, F, Fut>(&mut self, what: &str, mut probe: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let started = Instant::now();
        loop {
            self.check_running()?;
            if let Some(value) = probe().await? {
                println!("{what}: after {:.1?}", started.elapsed());
                return Ok(value);
            }
            if started.elapsed() > TIMEOUT {
                bail!("waited {TIMEOUT:?} for {what}; the operator's log:\n{}", self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn http_get(&self, path: &str) -> Result<(u16, String)> {
        http_get(self.port, path)
    }

    /// SIGTERM, then waits for exit status 0; returns the log.
    async fn stop(mut self) -> Result<String> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().context("running kill -TERM")?;
        ensure!(status.success(), "kill -TERM {pid} failed");
        let started = Instant::now();
        let exit = loop {
            if let Some(exit) = self.child.try_wait()? {
                break exit;
            }
            ensure!(
                started.elapsed() < SHUTDOWN_TIMEOUT,
                "the operator did not exit {SHUTDOWN_TIMEOUT:?} after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let log = self.log_text();
        println!("operator exited with {exit} after {:.1?}; its log:\n{log}", started.elapsed());
        ensure!(exit.success(), "the operator exited with {exit} after SIGTERM");
        Ok(log)
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Log lines that report an HTTP 403 answer (the message of a Forbidden `Status` always says "forbidden").
fn forbidden_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.to_ascii_lowercase().contains("forbidden")).collect()
}

fn self_ready(port: u16) -> Option<()> {
    matches!(http_get(port, "/readyz"), Ok((200, _))).then_some(())
}

/// A free loopback port (bound and released; the operator binds it right after).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A minimal HTTP/1.0 GET on 127.0.0.1: status code and body.
fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    let timeout = Duration::from_secs(2);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).context("no HTTP status line")?;
    Ok((code, body.to_string()))
}

/// A scratch directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("model-booster-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
