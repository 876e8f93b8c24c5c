//! Tests 3 and 4: a config change rolls only its backend's ModelServing; removing a backend and switching between
//! backend-level and model-level autoscaling prune what is no longer rendered.

use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::json;

use crate::support::*;

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_config_change_rolls_only_its_backend() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("a_config_change_rolls_only_its_backend");
    let operator = env.operator(&[]).await?;
    env.create(&booster("m", env.ns(), json!([backend("a", 1, 1), backend("b", 1, 1)]))).await?;
    env.condition("m", "Initialized", "True", TIMEOUT).await?;
    let a = env.must_get("ModelServing", "m-a").await?;
    let b = env.must_get("ModelServing", "m-b").await?;
    let server_b = env.must_get("ModelServer", "m-b").await?;

    let mut changed = backend("a", 1, 1);
    changed["workers"][0]["config"]["max-model-len"] = json!(8192);
    env.set_backends("m", json!([changed, backend("b", 1, 1)])).await?;
    let new_a = eventually("m-a to get a new revision", TIMEOUT, || async {
        let now = env.must_get("ModelServing", "m-a").await?;
        Ok(if label(&now, REVISION) != label(&a, REVISION) { Ok(now) } else { Err(label(&now, REVISION).into()) })
    })
    .await?;
    let text = new_a["spec"].to_string();
    ensure!(text.contains("\"8192\"") && !text.contains("\"4096\""), "m-a spec lacks the new config: {text}");
    // Wait for the status of the new generation, then check that b was not written.
    eventually("observedGeneration 2", TIMEOUT, || async {
        let m = env.must_get("ModelBooster", "m").await?;
        Ok(if m["status"]["observedGeneration"] == 2 { Ok(()) } else { Err(m["status"].to_string()) })
    })
    .await?;
    let passes = operator.successes().await?;
    env.annotate("m", "after-update").await?;
    eventually("one more pass", TIMEOUT, || async {
        let now = operator.successes().await?;
        Ok(if now > passes { Ok(()) } else { Err(format!("{now}")) })
    })
    .await?;
    let new_b = env.must_get("ModelServing", "m-b").await?;
    ensure!(resource_version(&new_b) == resource_version(&b), "m-b was written: {} -> {}", b, new_b);
    let new_server_b = env.must_get("ModelServer", "m-b").await?;
    ensure!(resource_version(&new_server_b) == resource_version(&server_b), "ModelServer m-b was written");
    println!(
        "m-a revision {} -> {}, m-b resourceVersion {} unchanged",
        label(&a, REVISION),
        label(&new_a, REVISION),
        resource_version(&b)
    );
    Ok(())
}

#[tokio::test]
async fn removed_backends_and_switched_autoscaling_are_pruned() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("removed_backends_and_switched_autoscaling_are_pruned");
    let operator = env.operator(&[]).await?;
    let scaled = |name: &str| {
        let mut b = backend(name, 1, 2);
        b["autoscalingPolicy"] = policy();
        b
    };
    env.create(&booster("m", env.ns(), json!([scaled("a"), scaled("b")]))).await?;
    env.condition("m", "Initialized", "True", TIMEOUT).await?;
    let all = env.children().await?;
    ensure!(all.len() == 9, "children {all:?}");

    // Remove backend b: its ModelServing, ModelServer, policy and binding go.
    env.set_backends("m", json!([scaled("a")])).await?;
    for kind in ["ModelServing", "ModelServer", "AutoscalingPolicy", "AutoscalingPolicyBinding"] {
        env.gone(kind, "m-b", TIMEOUT).await?;
    }
    let left = env.children().await?;
    let expected = [
        "AutoscalingPolicy/m-a",
        "AutoscalingPolicyBinding/m-a",
        "ModelRoute/m",
        "ModelServer/m-a",
        "ModelServing/m-a",
    ];
    ensure!(left == expected, "after removing b: {left:?}");

    // Backend level -> model level: the pair `m-a` is replaced by the pair `m`.
    let mut plain = backend("a", 1, 2);
    plain["scalingCost"] = json!(10);
    env.merge("ModelBooster", "m", json!({"spec": {"autoscalingPolicy": policy(), "backends": [plain]}}), "test-user")
        .await?;
    env.gone("AutoscalingPolicyBinding", "m-a", TIMEOUT).await?;
    env.gone("AutoscalingPolicy", "m-a", TIMEOUT).await?;
    let model_level = env.children().await?;
    ensure!(
        model_level
            == [
                "AutoscalingPolicy/m",
                "AutoscalingPolicyBinding/m",
                "ModelRoute/m",
                "ModelServer/m-a",
                "ModelServing/m-a"
            ],
        "model level: {model_level:?}"
    );

    // And back: the pair `m` goes, `m-a` returns.
    env.merge(
        "ModelBooster",
        "m",
        json!({"spec": {"autoscalingPolicy": null, "backends": [scaled("a")]}}),
        "test-user",
    )
    .await?;
    env.gone("AutoscalingPolicyBinding", "m", TIMEOUT).await?;
    env.gone("AutoscalingPolicy", "m", TIMEOUT).await?;
    let back = env.children().await?;
    ensure!(back == expected, "back to backend level: {back:?}");
    println!(
        "pruned: {} deletes, {} applies counted by the operator",
        operator.metric("model_booster_child_writes_total{kind=\"AutoscalingPolicy\",op=\"delete\"}").await?
            + operator
                .metric("model_booster_child_writes_total{kind=\"AutoscalingPolicyBinding\",op=\"delete\"}")
                .await?
            + operator.metric("model_booster_child_writes_total{kind=\"ModelServing\",op=\"delete\"}").await?
            + operator.metric("model_booster_child_writes_total{kind=\"ModelServer\",op=\"delete\"}").await?,
        operator.child_writes().await?
    );
    Ok(())
}
