//! The reconcile pass against the in-memory cluster (spec §5.3–§5.9).

use booster_api::ModelBooster;
use booster_reconcile::memory::{InMemoryCluster, Operation, Request};
use booster_reconcile::{ChildKind, ClusterError, Outcome, ReconcileError, reconcile};
use booster_render::Settings;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

const NS: &str = "team";

fn booster(spec: &str) -> ModelBooster {
    let text = format!(
        "apiVersion: workload.serving.volcano.sh/v1alpha1\nkind: ModelBooster\nmetadata:\n  name: llm\n  namespace: {NS}\n  uid: u-1\n  generation: 1\nspec:\n{spec}"
    );
    booster_api::strict::decode_all::<ModelBooster>(&text).expect("test booster").remove(0)
}

fn backend(name: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    type: vLLM\n    modelURI: hf://org/model\n    minReplicas: 2\n    maxReplicas: 2\n    workers:\n    - image: vllm/vllm-openai:v0.10.0\n{extra}"
    )
}

fn two_backends() -> ModelBooster {
    booster(&format!("  backends:\n{}{}", backend("a", ""), backend("b", "")))
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid time")
}

/// One pass, then the patched status is fed back into the booster, as the watch would.
async fn pass(cluster: &InMemoryCluster, booster: &mut ModelBooster, second: i64) -> Result<Outcome, ReconcileError> {
    let outcome = reconcile(cluster, booster, &Settings::default(), at(second)).await;
    booster.status = cluster.booster_status(NS, "llm");
    outcome
}

fn applies(cluster: &InMemoryCluster) -> Vec<(ChildKind, String)> {
    cluster
        .writes()
        .into_iter()
        .filter_map(|r| match r {
            Request::Apply { kind, name, .. } => Some((kind, name)),
            _ => None,
        })
        .collect()
}

fn condition(booster: &ModelBooster, type_: &str) -> Option<(String, String, String)> {
    booster
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.last_transition_time.0.to_string()))
}

fn mark_available(cluster: &InMemoryCluster, name: &str, available: bool, replicas: i64) {
    let status = if available { "True" } else { "False" };
    cluster.set_object_status(
        ChildKind::ModelServing,
        NS,
        name,
        json!({"replicas": replicas, "conditions": [{"type": "Available", "status": status, "reason": "x", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}),
    );
}

#[tokio::test]
async fn first_pass_creates_every_child_and_a_second_pass_writes_nothing() {
    let cluster = InMemoryCluster::new();
    let mut m = two_backends();
    let Ok(Outcome::Reconciled(report)) = pass(&cluster, &mut m, 0).await else { panic!("reconciled") };
    assert_eq!(
        report.applied,
        [
            (ChildKind::ModelServing, "llm-a".into()),
            (ChildKind::ModelServing, "llm-b".into()),
            (ChildKind::ModelServer, "llm-a".into()),
            (ChildKind::ModelServer, "llm-b".into()),
            (ChildKind::ModelRoute, "llm".into()),
        ]
    );
    assert!(report.status_written);
    assert_eq!(condition(&m, "Initialized").map(|c| c.1), Some("ModelCreating".into()));
    assert_eq!(condition(&m, "Active").map(|c| c.0), Some("False".into()));
    assert_eq!(condition(&m, "Failed"), None);
    let status = m.status.clone().expect("status");
    assert_eq!(status.observed_generation, Some(1));
    let statuses: Vec<(String, i32)> =
        status.backend_statuses.expect("backend statuses").into_iter().map(|s| (s.name, s.replicas)).collect();
    assert_eq!(statuses, [("llm-a".into(), 0), ("llm-b".into(), 0)]);

    cluster.clear_requests();
    for second in 1..=20 {
        assert!(matches!(pass(&cluster, &mut m, second).await, Ok(Outcome::Reconciled(_))));
    }
    assert_eq!(cluster.writes(), [], "an unchanged booster costs no write");
}

#[tokio::test]
async fn active_follows_availability_without_flapping() {
    let cluster = InMemoryCluster::new();
    let mut m = two_backends();
    pass(&cluster, &mut m, 0).await.expect("first pass");
    let initialized = condition(&m, "Initialized");
    mark_available(&cluster, "llm-a", true, 2);
    pass(&cluster, &mut m, 10).await.expect("pass");
    assert_eq!(condition(&m, "Active").map(|c| c.0), Some("False".into()), "one backend is not available");
    mark_available(&cluster, "llm-b", true, 2);
    cluster.clear_requests();
    pass(&cluster, &mut m, 20).await.expect("pass");
    let active = condition(&m, "Active").expect("Active");
    assert_eq!((active.0.as_str(), active.1.as_str()), ("True", "ModelAvailable"));
    assert_eq!(active.2, at(20).to_string());
    assert!(cluster.requests().contains(&Request::Publish { reason: "Active", note: "ModelBooster is ready".into() }));
    let statuses: Vec<i32> =
        m.status.as_ref().unwrap().backend_statuses.clone().unwrap().iter().map(|s| s.replicas).collect();
    assert_eq!(statuses, [2, 2]);

    cluster.clear_requests();
    for second in 30..40 {
        pass(&cluster, &mut m, second).await.expect("pass");
    }
    assert_eq!(cluster.writes(), []);
    assert_eq!(condition(&m, "Active").expect("Active").2, at(20).to_string(), "no flapping");
    assert_eq!(condition(&m, "Initialized"), initialized, "Initialized never changes");

    mark_available(&cluster, "llm-b", false, 2);
    pass(&cluster, &mut m, 50).await.expect("pass");
    assert_eq!(condition(&m, "Active").map(|c| (c.0, c.2)), Some(("False".into(), at(50).to_string())));
    assert!(
        cluster
            .requests()
            .contains(&Request::Publish { reason: "Inactive", note: "ModelBooster not ready yet".into() })
    );
}

#[tokio::test]
async fn an_invalid_spec_sets_failed_writes_no_child_and_recovers() {
    let cluster = InMemoryCluster::new();
    let mut m = booster(&format!("  backends:\n{}", backend("a", "")).replace("maxReplicas: 2", "maxReplicas: 3"));
    let outcome = pass(&cluster, &mut m, 0).await.expect("no error");
    assert!(matches!(outcome, Outcome::Invalid(_)));
    assert_eq!(applies(&cluster), []);
    let failed = m.status.as_ref().unwrap().conditions.iter().find(|c| c.type_ == "Failed").cloned().expect("Failed");
    assert_eq!(failed.reason, "ModelAbnormal");
    assert_eq!(
        failed.message,
        "validation failed:\n  - spec.backends[0]: minReplicas and maxReplicas must be equal and > 0 when no autoscaling is set"
    );
    assert_eq!(condition(&m, "Initialized"), None);
    assert!(cluster.writes().iter().any(|r| matches!(r, Request::Publish { reason: "Failed", .. })));

    cluster.clear_requests();
    assert!(matches!(pass(&cluster, &mut m, 1).await, Ok(Outcome::Invalid(_))));
    assert_eq!(cluster.writes(), [], "an unchanged invalid spec writes nothing again");

    m = booster(&format!("  backends:\n{}", backend("a", "")));
    m.metadata.generation = Some(2);
    m.status = cluster.booster_status(NS, "llm");
    assert!(matches!(pass(&cluster, &mut m, 2).await, Ok(Outcome::Reconciled(_))));
    assert_eq!(condition(&m, "Failed"), None, "Failed is cleared once the cause is gone");
    assert_eq!(condition(&m, "Initialized").map(|c| c.0), Some("True".into()));
    assert_eq!(m.status.as_ref().unwrap().observed_generation, Some(2));
    assert_eq!(cluster.names(ChildKind::ModelServing, NS), ["llm-a"]);
}

#[tokio::test]
async fn a_name_collision_with_a_foreign_object_writes_nothing() {
    let cluster = InMemoryCluster::new();
    cluster.insert(
        ChildKind::ModelServer,
        json!({"metadata": {"name": "llm-b", "namespace": NS, "ownerReferences": [{"uid": "someone-else", "name": "llm-b", "kind": "ModelBooster", "apiVersion": "workload.serving.volcano.sh/v1alpha1"}]}}),
    );
    let mut m = two_backends();
    let Err(ReconcileError::Failed { message, .. }) = pass(&cluster, &mut m, 0).await else { panic!("a conflict") };
    assert_eq!(message, "ModelServer team/llm-b already exists and is not owned by ModelBooster llm");
    assert_eq!(applies(&cluster), []);
    assert_eq!(condition(&m, "Failed").map(|c| c.0), Some("True".into()));
}

#[tokio::test]
async fn removed_backends_and_switched_autoscaling_are_pruned() {
    let cluster = InMemoryCluster::new();
    let policy = "    autoscalingPolicy:\n      metrics:\n      - metricName: kthena:num_requests_waiting\n        targetValue: 10\n";
    let mut m = booster(&format!(
        "  backends:\n{}{}",
        backend("a", "").replace("minReplicas: 2\n    maxReplicas: 2", "minReplicas: 1\n    maxReplicas: 3") + policy,
        backend("b", "")
    ));
    pass(&cluster, &mut m, 0).await.expect("first pass");
    assert_eq!(cluster.names(ChildKind::AutoscalingPolicy, NS), ["llm-a"]);
    assert_eq!(cluster.names(ChildKind::AutoscalingPolicyBinding, NS), ["llm-a"]);

    // Switch to model-level autoscaling and drop backend b.
    let mut model_level = booster(&format!(
        "  autoscalingPolicy:\n    metrics:\n    - metricName: kthena:num_requests_waiting\n      targetValue: 10\n  backends:\n{}",
        backend("a", "    scalingCost: 1\n")
            .replace("minReplicas: 2\n    maxReplicas: 2", "minReplicas: 1\n    maxReplicas: 3")
    ));
    model_level.status = m.status.clone();
    cluster.clear_requests();
    let Ok(Outcome::Reconciled(report)) = pass(&cluster, &mut model_level, 1).await else { panic!("reconciled") };
    assert_eq!(
        report.pruned,
        [
            (ChildKind::AutoscalingPolicyBinding, "llm-a".into()),
            (ChildKind::AutoscalingPolicy, "llm-a".into()),
            (ChildKind::ModelServer, "llm-b".into()),
            (ChildKind::ModelServing, "llm-b".into()),
        ]
    );
    assert_eq!(cluster.names(ChildKind::AutoscalingPolicy, NS), ["llm"]);
    assert_eq!(cluster.names(ChildKind::ModelServing, NS), ["llm-a"]);
    assert!(
        cluster.requests().contains(&Request::Publish { reason: "Pruned", note: "deleted ModelServing llm-b".into() })
    );
}

#[tokio::test]
async fn objects_without_our_labels_or_owner_reference_are_never_pruned() {
    let cluster = InMemoryCluster::new();
    let owner = json!([{"uid": "u-1", "name": "llm", "kind": "ModelBooster", "apiVersion": "workload.serving.volcano.sh/v1alpha1"}]);
    let labels = json!({"workload.serving.volcano.sh/managed-by": "workload.serving.volcano.sh", "workload.serving.volcano.sh/model-uid": "u-1"});
    cluster.insert(
        ChildKind::ModelServer,
        json!({"metadata": {"name": "labels-only", "namespace": NS, "labels": labels}}),
    );
    cluster.insert(
        ChildKind::ModelServer,
        json!({"metadata": {"name": "owner-only", "namespace": NS, "ownerReferences": owner}}),
    );
    cluster.insert(
        ChildKind::ModelServer,
        json!({"metadata": {"name": "ours-stale", "namespace": NS, "labels": labels, "ownerReferences": owner}}),
    );
    let mut m = two_backends();
    let Ok(Outcome::Reconciled(report)) = pass(&cluster, &mut m, 0).await else { panic!("reconciled") };
    assert_eq!(report.pruned, [(ChildKind::ModelServer, "ours-stale".into())]);
    assert_eq!(cluster.names(ChildKind::ModelServer, NS), ["labels-only", "llm-a", "llm-b", "owner-only"]);
}

#[tokio::test]
async fn drift_is_restored_and_a_deleted_child_is_recreated() {
    let cluster = InMemoryCluster::new();
    let mut m = two_backends();
    pass(&cluster, &mut m, 0).await.expect("first pass");
    cluster.merge_spec_as(ChildKind::ModelServer, NS, "llm-a", "kubectl", json!({"workloadPort": {"port": 9999}}));
    cluster.merge_spec_as(ChildKind::ModelServer, NS, "llm-b", "kubectl", json!({"trafficPolicy": {"timeout": "5s"}}));
    cluster.clear_requests();
    pass(&cluster, &mut m, 1).await.expect("pass");
    assert_eq!(applies(&cluster), [(ChildKind::ModelServer, "llm-a".into())], "an addition by others is left alone");
    assert_eq!(cluster.object(ChildKind::ModelServer, NS, "llm-a").unwrap()["spec"]["workloadPort"]["port"], 8000);
    assert_eq!(cluster.object(ChildKind::ModelServer, NS, "llm-b").unwrap()["spec"]["trafficPolicy"]["timeout"], "5s");

    let route = cluster.object(ChildKind::ModelRoute, NS, "llm").unwrap();
    let uid = route["metadata"]["uid"].as_str().unwrap().to_owned();
    use booster_reconcile::Cluster;
    cluster.delete(ChildKind::ModelRoute, NS, "llm", &uid).await.expect("deleted");
    cluster.clear_requests();
    pass(&cluster, &mut m, 2).await.expect("pass");
    assert_eq!(applies(&cluster), [(ChildKind::ModelRoute, "llm".into())]);
}

#[tokio::test]
async fn a_config_change_rolls_only_its_backend() {
    let cluster = InMemoryCluster::new();
    let mut m = two_backends();
    pass(&cluster, &mut m, 0).await.expect("first pass");
    let revision = |name: &str| {
        cluster.object(ChildKind::ModelServing, NS, name).unwrap()["metadata"]["labels"]["workload.serving.volcano.sh/revision"].clone()
    };
    let (a, b) = (revision("llm-a"), revision("llm-b"));
    let mut changed = booster(&format!(
        "  backends:\n{}{}",
        backend("a", "      config:\n        max-model-len: 4096\n"),
        backend("b", "")
    ));
    changed.status = m.status.clone();
    cluster.clear_requests();
    pass(&cluster, &mut changed, 1).await.expect("pass");
    assert_eq!(applies(&cluster), [(ChildKind::ModelServing, "llm-a".into())]);
    assert_ne!(revision("llm-a"), a);
    assert_eq!(revision("llm-b"), b);
}

#[tokio::test]
async fn autoscaled_replicas_belong_to_the_autoscaler() {
    let cluster = InMemoryCluster::new();
    let policy = "    autoscalingPolicy:\n      metrics:\n      - metricName: kthena:num_requests_waiting\n        targetValue: 10\n";
    let with_policy = |env: &str| {
        booster(&format!("  backends:\n{}{policy}{env}", backend("a", "").replace("maxReplicas: 2", "maxReplicas: 4")))
    };
    let replicas = || cluster.object(ChildKind::ModelServing, NS, "llm-a").unwrap()["spec"]["replicas"].clone();

    // Not autoscaled (min = max = 2), then gaining a backend-level policy (min 2, max 4): stays 2.
    let mut m = booster(&format!("  backends:\n{}", backend("a", "")));
    pass(&cluster, &mut m, 0).await.expect("first pass");
    assert_eq!(replicas(), 2);
    let mut autoscaled = with_policy("");
    autoscaled.status = m.status.clone();
    cluster.clear_requests();
    pass(&cluster, &mut autoscaled, 1).await.expect("pass");
    assert_eq!(replicas(), 2, "handed over, never reset to the CRD default");
    assert!(cluster.writes().contains(&Request::Apply {
        kind: ChildKind::ModelServing,
        name: "llm-a".into(),
        field_manager: "model-booster-replicas".into()
    }));

    // The autoscaler scales to 3, then an env change: still 3.
    cluster.merge_spec_as(ChildKind::ModelServing, NS, "llm-a", "autoscaler", json!({"replicas": 3}));
    let mut env_changed = with_policy("    env:\n    - name: LOG_LEVEL\n      value: debug\n");
    env_changed.status = autoscaled.status.clone();
    cluster.clear_requests();
    pass(&cluster, &mut env_changed, 2).await.expect("pass");
    assert_eq!(
        applies(&cluster),
        [(ChildKind::ModelServing, "llm-a".into()), (ChildKind::AutoscalingPolicyBinding, "llm-a".into())]
            .into_iter()
            .filter(|(k, _)| *k == ChildKind::ModelServing)
            .collect::<Vec<_>>()
    );
    assert_eq!(replicas(), 3);
    cluster.clear_requests();
    pass(&cluster, &mut env_changed, 3).await.expect("pass");
    assert_eq!(cluster.writes(), []);

    // Autoscaling removed again (min = max = 2): reset to 2.
    let mut fixed = booster(&format!("  backends:\n{}", backend("a", "")));
    fixed.status = env_changed.status.clone();
    pass(&cluster, &mut fixed, 4).await.expect("pass");
    assert_eq!(replicas(), 2);
}

#[tokio::test]
async fn a_transient_error_stops_the_pass_and_changes_no_status() {
    let cluster = InMemoryCluster::new();
    let mut m = two_backends();
    cluster.fail_next(
        Operation::Apply,
        Some(ChildKind::ModelServer),
        ClusterError::Transient("503: unavailable".into()),
    );
    let result = pass(&cluster, &mut m, 0).await;
    assert!(matches!(result, Err(ReconcileError::Transient(_))), "{result:?}");
    let attempted = [
        (ChildKind::ModelServing, "llm-a".into()),
        (ChildKind::ModelServing, "llm-b".into()),
        (ChildKind::ModelServer, "llm-a".into()),
    ];
    assert_eq!(applies(&cluster), attempted, "nothing after the failing write");
    assert!(!cluster.writes().iter().any(|r| matches!(r, Request::PatchStatus(_))));
    assert_eq!(m.status, None);
}

#[tokio::test]
async fn a_rejected_apply_sets_failed_with_the_api_message() {
    let cluster = InMemoryCluster::new();
    let mut m = two_backends();
    cluster.fail_next(
        Operation::Apply,
        Some(ChildKind::ModelRoute),
        ClusterError::Rejected {
            code: 422,
            message: "ModelRoute.networking.serving.volcano.sh \"llm\" is invalid".into(),
        },
    );
    let Err(ReconcileError::Failed { message, report }) = pass(&cluster, &mut m, 0).await else { panic!("failed") };
    assert_eq!(message, "apply ModelRoute team/llm: ModelRoute.networking.serving.volcano.sh \"llm\" is invalid");
    assert_eq!(report.pruned, []);
    assert_eq!(condition(&m, "Failed").map(|c| c.1), Some("ModelAbnormal".into()));
    assert_eq!(condition(&m, "Initialized"), None, "not every child was applied");
    pass(&cluster, &mut m, 1).await.expect("the next pass succeeds");
    assert_eq!(condition(&m, "Failed"), None);
}

#[tokio::test]
async fn a_booster_being_deleted_is_left_alone() {
    let cluster = InMemoryCluster::new();
    let mut m = two_backends();
    m.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(0)));
    assert_eq!(pass(&cluster, &mut m, 0).await.expect("no error"), Outcome::Skipped);
    assert_eq!(cluster.requests(), []);
}
