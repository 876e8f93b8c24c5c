//! Test 5: a deleted child is recreated and an edited field we render is restored; fields others add stay.

use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::json;

use crate::support::*;

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn deleted_children_are_recreated_and_edits_reverted() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("deleted_children_are_recreated_and_edits_reverted");
    let _operator = env.operator(&[]).await?;
    env.create(&booster("m", env.ns(), json!([backend("a", 1, 1)]))).await?;
    env.condition("m", "Initialized", "True", TIMEOUT).await?;

    // Delete the ModelServer: it comes back with a new uid.
    let server = env.must_get("ModelServer", "m-a").await?;
    env.delete("ModelServer", "m-a").await?;
    let recreated = eventually("ModelServer m-a to be recreated", TIMEOUT, || async {
        Ok(match env.get("ModelServer", "m-a").await? {
            Some(s) if s["metadata"]["uid"] != server["metadata"]["uid"] => Ok(s),
            Some(_) => Err("the old object".into()),
            None => Err("absent".into()),
        })
    })
    .await?;
    ensure!(recreated["spec"] == server["spec"], "recreated with another spec: {}", recreated["spec"]);

    // Delete the ModelRoute too.
    let route = env.must_get("ModelRoute", "m").await?;
    env.delete("ModelRoute", "m").await?;
    eventually("ModelRoute m to be recreated", TIMEOUT, || async {
        Ok(match env.get("ModelRoute", "m").await? {
            Some(r) if r["metadata"]["uid"] != route["metadata"]["uid"] => Ok(()),
            other => Err(format!("{:?}", other.map(|r| r["metadata"]["uid"].clone()))),
        })
    })
    .await?;

    // Edit a field we render (and add one we do not): ours is restored, the addition stays.
    let serving = env.must_get("ModelServing", "m-a").await?;
    ensure!(serving["spec"]["template"]["restartGracePeriodSeconds"] == 60, "{}", serving["spec"]["template"]);
    env.merge(
        "ModelServing",
        "m-a",
        json!({"metadata": {"labels": {"team": "x"}}, "spec": {"template": {"restartGracePeriodSeconds": 5}}}),
        "someone-else",
    )
    .await?;
    let restored = eventually("restartGracePeriodSeconds to be restored", TIMEOUT, || async {
        let now = env.must_get("ModelServing", "m-a").await?;
        let value = &now["spec"]["template"]["restartGracePeriodSeconds"];
        Ok(if *value == 60 { Ok(now) } else { Err(value.to_string()) })
    })
    .await?;
    ensure!(label(&restored, "team") == "x", "a label added by someone else was removed");
    println!("ModelServer and ModelRoute recreated; ModelServing edit reverted, foreign label kept");
    Ok(())
}
