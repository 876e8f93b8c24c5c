//! Test 6 (spec §5.4, D-22): `spec.replicas` of an autoscaled ModelServing belongs to the autoscaler; a backend
//! that becomes autoscaled hands the field over without a dip to the CRD default 1; without autoscaling the
//! operator resets it to `minReplicas`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, ensure};
use futures::StreamExt;
use kube::api::WatchParams;
use kube::core::WatchEvent;
use serde_json::{Value, json};

use crate::support::*;

const TIMEOUT: Duration = Duration::from_secs(30);
const AUTOSCALER: &str = "test-autoscaler";

fn owns_replicas(object: &Value, manager: &str) -> bool {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|entry| entry["manager"] == manager && entry.pointer("/fieldsV1/f:spec/f:replicas").is_some())
}

fn managers(object: &Value) -> String {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let replicas = if e.pointer("/fieldsV1/f:spec/f:replicas").is_some() { " (replicas)" } else { "" };
            format!("{}/{}{replicas}", e["manager"].as_str().unwrap_or_default(), e["operation"].as_str().unwrap_or(""))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn pass_after(env: &Env, operator: &Operator, poke: &str) -> Result<()> {
    let before = operator.successes().await?;
    env.annotate("m", poke).await?;
    eventually("a pass after the annotation", TIMEOUT, || async {
        let now = operator.successes().await?;
        Ok(if now > before { Ok(()) } else { Err(format!("{now}")) })
    })
    .await
}

fn autoscaled(name: &str, min: i64, max: i64) -> Value {
    let mut b = backend(name, min, max);
    b["autoscalingPolicy"] = policy();
    b
}

#[tokio::test]
async fn replicas_set_by_the_autoscaler_are_left_alone() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("replicas_set_by_the_autoscaler_are_left_alone");
    let operator = env.operator(&[]).await?;
    env.create(&booster("m", env.ns(), json!([autoscaled("a", 1, 4), backend("c", 2, 2)]))).await?;
    env.condition("m", "Initialized", "True", TIMEOUT).await?;
    let a = env.must_get("ModelServing", "m-a").await?;
    ensure!(a["spec"]["replicas"] == 1, "autoscaled create: replicas {}", a["spec"]["replicas"]);
    let c = env.must_get("ModelServing", "m-c").await?;
    ensure!(c["spec"]["replicas"] == 2, "fixed create: replicas {}", c["spec"]["replicas"]);

    // The autoscaler scales a to 3 (merge patch under its own manager): the operator leaves it.
    env.merge("ModelServing", "m-a", json!({"spec": {"replicas": 3}}), AUTOSCALER).await?;
    pass_after(&env, &operator, "1").await?;
    pass_after(&env, &operator, "2").await?;
    let a = env.must_get("ModelServing", "m-a").await?;
    ensure!(a["spec"]["replicas"] == 3, "replicas reset to {}; managers {}", a["spec"]["replicas"], managers(&a));

    // An env change rolls the ModelServing: still 3.
    let mut changed = autoscaled("a", 1, 4);
    changed["env"] = json!([{"name": "FOO", "value": "bar"}]);
    env.set_backends("m", json!([changed.clone(), backend("c", 2, 2)])).await?;
    let a = eventually("m-a to roll", TIMEOUT, || async {
        let now = env.must_get("ModelServing", "m-a").await?;
        Ok(if now["spec"].to_string().contains("\"FOO\"") { Ok(now) } else { Err(label(&now, REVISION).into()) })
    })
    .await?;
    ensure!(a["spec"]["replicas"] == 3, "after the env change: replicas {}", a["spec"]["replicas"]);
    ensure!(!owns_replicas(&a, "model-booster"), "model-booster owns replicas: {}", managers(&a));
    println!("autoscaled m-a: replicas 3 kept across 2 passes and an env change; managers {}", managers(&a));

    // D-22 hand-over: c (min = max = 2) gains a backend-level policy (min 2, max 4): stays 2, never 1.
    let c = env.must_get("ModelServing", "m-c").await?;
    ensure!(owns_replicas(&c, "model-booster"), "model-booster does not own m-c replicas: {}", managers(&c));
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let api = env.api("ModelServing")?;
    let mut stream =
        api.watch(&WatchParams::default().fields("metadata.name=m-c"), &resource_version(&c)).await?.boxed();
    let record = seen.clone();
    let watch = tokio::spawn(async move {
        while let Some(Ok(event)) = stream.next().await {
            if let WatchEvent::Added(o) | WatchEvent::Modified(o) = event {
                let replicas = o.data.pointer("/spec/replicas").cloned().unwrap_or(Value::Null);
                record.lock().unwrap_or_else(|e| e.into_inner()).push(replicas);
            }
        }
    });
    env.set_backends("m", json!([changed.clone(), autoscaled("c", 2, 4)])).await?;
    let c = eventually("m-c replicas handed over", TIMEOUT, || async {
        let now = env.must_get("ModelServing", "m-c").await?;
        let done = !owns_replicas(&now, "model-booster") && owns_replicas(&now, "model-booster-replicas");
        Ok(if done { Ok(now) } else { Err(managers(&now)) })
    })
    .await?;
    env.must_get("AutoscalingPolicy", "m-c").await?;
    pass_after(&env, &operator, "3").await?;
    let c_after = env.must_get("ModelServing", "m-c").await?;
    watch.abort();
    let values = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    ensure!(c_after["spec"]["replicas"] == 2, "after the hand-over: replicas {}", c_after["spec"]["replicas"]);
    ensure!(values.iter().all(|v| *v == 2), "m-c replicas seen during the hand-over: {values:?}");
    ensure!(!values.is_empty(), "the watch saw no change of m-c");
    println!("hand-over: m-c versions seen {values:?}; managers {}", managers(&c));

    // The autoscaler moves c to 3, then the policy is removed (min = max = 2): reset to 2.
    env.merge("ModelServing", "m-c", json!({"spec": {"replicas": 3}}), AUTOSCALER).await?;
    env.set_backends("m", json!([changed, backend("c", 2, 2)])).await?;
    let c = eventually("m-c replicas reset to 2", TIMEOUT, || async {
        let now = env.must_get("ModelServing", "m-c").await?;
        let ok = now["spec"]["replicas"] == 2 && owns_replicas(&now, "model-booster");
        Ok(if ok { Ok(now) } else { Err(format!("replicas {}; {}", now["spec"]["replicas"], managers(&now))) })
    })
    .await?;
    env.gone("AutoscalingPolicy", "m-c", TIMEOUT).await?;
    println!("policy removed: m-c replicas {}; managers {}", c["spec"]["replicas"], managers(&c));
    Ok(())
}
