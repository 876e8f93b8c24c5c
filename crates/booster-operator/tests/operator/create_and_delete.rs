//! Tests 1 and 8: a new ModelBooster gets every child with the owner reference and the five labels, and
//! `Initialized=True`; deleting it lets the garbage collector remove every child.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use serde_json::{Value, json};

use crate::support::*;

/// The children of `m` with backends `a` (backend-level autoscaling) and `b` (fixed): all five kinds.
fn two_backends(ns: &str) -> Value {
    let mut a = backend("a", 1, 3);
    a["autoscalingPolicy"] = policy();
    booster("m", ns, json!([a, backend("b", 1, 1)]))
}

const EXPECTED: [&str; 7] = [
    "AutoscalingPolicy/m-a",
    "AutoscalingPolicyBinding/m-a",
    "ModelRoute/m",
    "ModelServer/m-a",
    "ModelServer/m-b",
    "ModelServing/m-a",
    "ModelServing/m-b",
];

#[tokio::test]
async fn create_makes_every_child_with_owner_reference_and_labels() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("create_makes_every_child_with_owner_reference_and_labels");
    let operator = env.operator(&[]).await?;
    let created = Instant::now();
    let m = env.create(&two_backends(env.ns())).await?;
    let uid = m["metadata"]["uid"].as_str().unwrap_or_default().to_owned();

    let m = env.condition("m", "Initialized", "True", Duration::from_secs(30)).await?;
    println!("Initialized=True {:.1?} after create", created.elapsed());
    let children = env.children().await?;
    ensure!(children == EXPECTED, "children: {children:?}");

    for kind in CHILD_KINDS {
        for child in env.list(kind).await? {
            let what = format!("{kind} {}", name(&child));
            let owners = child["metadata"]["ownerReferences"].clone();
            ensure!(
                owners
                    == json!([{
                        "apiVersion": GROUP_VERSION, "kind": "ModelBooster", "name": "m", "uid": uid,
                        "controller": true, "blockOwnerDeletion": true,
                    }]),
                "{what}: ownerReferences {owners}"
            );
            let labels = child["metadata"]["labels"].as_object().cloned().unwrap_or_default();
            let mut keys: Vec<&str> = labels.keys().map(String::as_str).collect();
            keys.sort_unstable();
            let mut five = [BACKEND_NAME, MANAGED_BY, MODEL_NAME, MODEL_UID, REVISION];
            five.sort_unstable();
            ensure!(keys == five, "{what}: label keys {keys:?}");
            ensure!(label(&child, MANAGED_BY) == "workload.serving.volcano.sh", "{what}: managed-by");
            ensure!(label(&child, MODEL_NAME) == "m", "{what}: model-name");
            ensure!(label(&child, MODEL_UID) == uid, "{what}: model-uid");
            ensure!(label(&child, REVISION).len() == 10, "{what}: revision {}", label(&child, REVISION));
            let backend = if kind == "ModelRoute" { "" } else { name(&child).trim_start_matches("m-") };
            ensure!(label(&child, BACKEND_NAME) == backend, "{what}: backend-name {}", label(&child, BACKEND_NAME));
        }
    }
    let initialized = find_condition(&m, "Initialized").cloned().unwrap_or_default();
    ensure!(initialized["reason"] == "ModelCreating", "{initialized}");
    ensure!(initialized["message"] == "ModelBooster initialized", "{initialized}");
    let active = find_condition(&m, "Active").cloned().unwrap_or_default();
    ensure!(active["status"] == "False" && active["reason"] == "ModelProcessing", "{active}");
    ensure!(find_condition(&m, "Failed").is_none(), "Failed set: {}", m["status"]);
    ensure!(m["status"]["observedGeneration"] == m["metadata"]["generation"], "{}", m["status"]);
    let serving = env.must_get("ModelServing", "m-b").await?;
    ensure!(serving["spec"]["replicas"] == 1, "m-b replicas {}", serving["spec"]["replicas"]);

    // Events (spec §5.9): `Applied` per child, reported by the controller `model-booster`.
    let events: kube::Api<k8s_openapi::api::events::v1::Event> = kube::Api::namespaced(env.client(), env.ns());
    let applied = eventually("an Applied event per child", Duration::from_secs(10), || async {
        let list = events.list(&Default::default()).await?;
        let applied: Vec<String> = list
            .items
            .iter()
            .filter(|e| e.reason.as_deref() == Some("Applied"))
            .filter(|e| e.reporting_controller.as_deref() == Some("model-booster"))
            .filter_map(|e| e.note.clone())
            .collect();
        Ok(if applied.len() >= EXPECTED.len() { Ok(applied) } else { Err(format!("{applied:?}")) })
    })
    .await?;
    ensure!(applied.iter().any(|n| n == "applied ModelServing m-a"), "{applied:?}");
    println!(
        "children {children:?}; operator: {} successful passes, {} child writes",
        operator.successes().await?,
        operator.child_writes().await?
    );
    Ok(())
}

/// The garbage collector rediscovers new resources every 30 s: allow for it.
const GC_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn deleting_the_booster_garbage_collects_every_child() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("deleting_the_booster_garbage_collects_every_child");
    let operator = env.operator(&["--resync-interval", "2s"]).await?;
    env.create(&two_backends(env.ns())).await?;
    env.condition("m", "Initialized", "True", Duration::from_secs(30)).await?;
    ensure!(env.children().await? == EXPECTED, "children: {:?}", env.children().await?);

    let deleted = Instant::now();
    env.delete("ModelBooster", "m").await?;
    eventually("every child to be garbage-collected", GC_TIMEOUT, || async {
        let left = env.children().await?;
        Ok(if left.is_empty() { Ok(()) } else { Err(format!("{left:?}")) })
    })
    .await?;
    println!("all {} children collected {:.1?} after the delete", EXPECTED.len(), deleted.elapsed());
    // The operator does not recreate them for a ModelBooster that is gone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let left = env.children().await?;
    ensure!(left.is_empty(), "recreated after the delete: {left:?}");
    ensure!(operator.metric("model_booster_reconcile_total{result=\"error\"}").await? == 0.0, "errors counted");
    Ok(())
}
