//! Cascading deletion: a ModelServing owned by a ModelBooster disappears after the ModelBooster is deleted (the
//! garbage collector of kube-controller-manager runs).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use booster_testkit::{api_resource, collection_path, shared_dir};
use serde_json::json;

use crate::cluster;
use crate::reference_children::fixed_reference_child;

/// The garbage collector rediscovers resources every 30 s, so a CRD installed after kube-controller-manager
/// started may take that long before its objects are collected.
const GC_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn dependents_of_a_deleted_owner_are_collected() -> Result<()> {
    let cluster = cluster!("garbage_collection::dependents_of_a_deleted_owner_are_collected");
    let namespace = cluster.namespace("garbage-collection").await?;
    let ns = namespace.name();

    let owner = json!({
        "apiVersion": "workload.serving.volcano.sh/v1alpha1",
        "kind": "ModelBooster",
        "metadata": { "name": "gc-owner" },
        "spec": { "backends": [{
            "name": "b1",
            "type": "vLLM",
            "modelURI": "hf://Qwen/Qwen2.5-0.5B-Instruct",
            "minReplicas": 1,
            "maxReplicas": 1,
            "workers": [{ "type": "server", "image": "vllm/vllm-openai:v0.10.1" }],
        }]},
    });
    let reply = cluster.create(ns, &owner, false).await?;
    ensure!(reply.status.is_success(), "creating the owner: HTTP {}: {}", reply.status, reply.message());
    let uid = reply.body.pointer("/metadata/uid").and_then(|v| v.as_str()).context("owner without uid")?.to_string();

    let mut dependent =
        fixed_reference_child(&shared_dir().join("reference/kthena-v0.1.0/convert/expected/model-serving.yaml"), ns)?;
    dependent["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "workload.serving.volcano.sh/v1alpha1",
        "kind": "ModelBooster",
        "name": "gc-owner",
        "uid": uid,
        "controller": true,
        "blockOwnerDeletion": true,
    }]);
    let reply = cluster.create(ns, &dependent, false).await?;
    ensure!(reply.status.is_success(), "creating the dependent: HTTP {}: {}", reply.status, reply.message());
    let dependent_name = dependent["metadata"]["name"].as_str().unwrap_or_default().to_string();

    let servings = collection_path(&api_resource("ModelServing").context("ModelServing resource")?, ns);
    let reply = cluster.send(http::Request::get(format!("{servings}/{dependent_name}")).body(Vec::new())?).await?;
    ensure!(reply.status.is_success(), "the dependent is gone before its owner: HTTP {}", reply.status);

    let boosters = collection_path(&api_resource("ModelBooster").context("ModelBooster resource")?, ns);
    let started = Instant::now();
    let reply = cluster.send(http::Request::delete(format!("{boosters}/gc-owner")).body(Vec::new())?).await?;
    ensure!(reply.status.is_success(), "deleting the owner: HTTP {}: {}", reply.status, reply.message());
    loop {
        let reply = cluster.send(http::Request::get(format!("{servings}/{dependent_name}")).body(Vec::new())?).await?;
        if reply.status == http::StatusCode::NOT_FOUND {
            println!("dependent collected {:.1?} after its owner was deleted", started.elapsed());
            return Ok(());
        }
        ensure!(reply.status.is_success(), "GET dependent: HTTP {}: {}", reply.status, reply.message());
        ensure!(
            started.elapsed() < GC_TIMEOUT,
            "ModelServing {dependent_name} still exists {GC_TIMEOUT:?} after its owner was deleted: \
             is kube-controller-manager's garbage collector running?"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
