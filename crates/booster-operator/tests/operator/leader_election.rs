//! Test 10 (spec §5.10): two operators campaign for one Lease; only the leader reconciles and writes; after a
//! SIGKILL of the leader the other takes over within the lease duration and reconciles; a SIGTERM releases the
//! Lease and exits 0.

use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use k8s_openapi::api::coordination::v1::Lease;
use serde_json::json;

use crate::support::*;

const TIMEOUT: Duration = Duration::from_secs(30);
const LEASE: &str = "booster-leader-test";
/// Lease duration (15 s) plus the retry jitter of the lease manager and the test's polling.
const TAKEOVER_LIMIT: Duration = Duration::from_secs(20);

fn start(env: &Env, pod: &str) -> Result<Operator> {
    Operator::start(
        env.ns(),
        &["--leader-elect=true", "--leader-election-id", LEASE, "--leader-election-namespace", env.ns()],
        &[("POD_NAME", pod)],
    )
}

async fn holder(env: &Env) -> Result<Option<String>> {
    let leases: kube::Api<Lease> = kube::Api::namespaced(env.client(), env.ns());
    Ok(leases.get_opt(LEASE).await?.and_then(|l| l.spec).and_then(|s| s.holder_identity))
}

async fn total_passes(operator: &Operator) -> Result<f64> {
    let mut sum = 0.0;
    for result in ["success", "invalid", "error"] {
        sum += operator.metric(&format!("model_booster_reconcile_total{{result=\"{result}\"}}")).await?;
    }
    Ok(sum)
}

#[tokio::test]
async fn only_the_leader_writes_and_the_standby_takes_over() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("only_the_leader_writes_and_the_standby_takes_over");
    let a = start(&env, "op-a")?;
    let b = start(&env, "op-b")?;
    a.wait_ready(TIMEOUT).await?;
    b.wait_ready(TIMEOUT).await?;
    let (leader, standby, leader_pod) = eventually("one leader", TIMEOUT, || async {
        let (la, lb) = (a.metric("model_booster_leader").await?, b.metric("model_booster_leader").await?);
        Ok(match (la, lb) {
            (1.0, 0.0) => Ok((&a, &b, "op-a")),
            (0.0, 1.0) => Ok((&b, &a, "op-b")),
            _ => Err(format!("model_booster_leader: a {la}, b {lb}")),
        })
    })
    .await?;
    let held_by = holder(&env).await?.unwrap_or_default();
    ensure!(held_by.starts_with(&format!("{leader_pod}-")), "Lease holder {held_by}, leader {leader_pod}");
    leader.wait_ready(TIMEOUT).await?;

    env.create(&booster("m", env.ns(), json!([backend("a", 1, 1)]))).await?;
    env.condition("m", "Initialized", "True", TIMEOUT).await?;
    let leader_writes = leader.child_writes().await?;
    ensure!(leader_writes == 3.0, "leader child writes {leader_writes}");
    ensure!(standby.metric("model_booster_leader").await? == 0.0, "standby leads too");
    ensure!(total_passes(standby).await? == 0.0, "the standby reconciled");
    ensure!(standby.child_writes().await? == 0.0, "the standby wrote children");
    let (code, _) = standby.http("/readyz").await?;
    ensure!(code == 200, "standby /readyz {code}");
    println!("leader {leader_pod} (Lease holder {held_by}) wrote {leader_writes} children; standby: 0 passes");

    // SIGKILL the leader: no release; the standby takes over once the Lease expires.
    let killed = Instant::now();
    leader.signal("KILL")?;
    ensure!(leader.wait_exit(Duration::from_secs(5)).await?.is_none(), "the leader was not killed by the signal");
    eventually("the standby to lead", TAKEOVER_LIMIT, || async {
        let l = standby.metric("model_booster_leader").await?;
        Ok(if l == 1.0 { Ok(()) } else { Err(format!("model_booster_leader {l}")) })
    })
    .await?;
    let takeover = killed.elapsed();
    ensure!(takeover <= TAKEOVER_LIMIT, "takeover took {takeover:?}");
    println!("takeover {takeover:.1?} after SIGKILL of the leader (lease duration 15 s)");

    // The new leader reconciles a change.
    let revision = label(&env.must_get("ModelServing", "m-a").await?, REVISION).to_owned();
    let mut changed = backend("a", 1, 1);
    changed["workers"][0]["config"]["max-model-len"] = json!(2048);
    env.set_backends("m", json!([changed])).await?;
    eventually("the new leader to roll m-a", TIMEOUT, || async {
        let now = env.must_get("ModelServing", "m-a").await?;
        Ok(if label(&now, REVISION) != revision { Ok(()) } else { Err(revision.clone()) })
    })
    .await?;
    ensure!(standby.child_writes().await? >= 1.0, "the new leader counted no writes");

    // SIGTERM: the Lease is released and the process exits 0.
    let new_holder = holder(&env).await?.unwrap_or_default();
    ensure!(
        new_holder.starts_with(&format!("{}-", if leader_pod == "op-a" { "op-b" } else { "op-a" })),
        "{new_holder}"
    );
    let terminated = Instant::now();
    standby.signal("TERM")?;
    let code = standby.wait_exit(Duration::from_secs(30)).await?;
    let exit = terminated.elapsed();
    ensure!(code == Some(0), "exit status {code:?} after SIGTERM");
    match holder(&env).await? {
        None => {}
        Some(h) if h.is_empty() => {}
        Some(h) => bail!("the Lease is still held by {h} after a graceful exit"),
    }
    println!("SIGTERM: exit 0 after {exit:.1?}, Lease released");
    Ok(())
}

/// D-27: a leader whose Lease is taken over (here: rewritten to another holder) logs the loss and exits with 1.
#[tokio::test]
async fn a_leader_that_loses_its_lease_exits_with_status_1() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("a_leader_that_loses_its_lease_exits_with_status_1");
    let operator = start(&env, "op-lone")?;
    operator.wait_ready(TIMEOUT).await?;
    eventually("leadership", TIMEOUT, || async {
        let l = operator.metric("model_booster_leader").await?;
        Ok(if l == 1.0 { Ok(()) } else { Err(format!("model_booster_leader {l}")) })
    })
    .await?;
    let leases: kube::Api<Lease> = kube::Api::namespaced(env.client(), env.ns());
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(k8s_openapi::jiff::Timestamp::now());
    let patch = json!({"spec": {
        "holderIdentity": "intruder",
        "leaseDurationSeconds": 60,
        "acquireTime": now,
        "renewTime": now,
    }});
    let params = kube::api::PatchParams { field_manager: Some("intruder".into()), ..Default::default() };
    leases.patch(LEASE, &params, &kube::api::Patch::Merge(&patch)).await?;
    let stolen = Instant::now();
    // The holder notices at its next check of the Lease (every 2 s) or renewal (at most 10 s later).
    let code = operator.wait_exit(Duration::from_secs(20)).await?;
    ensure!(code == Some(1), "exit status {code:?} after losing the Lease");
    ensure!(operator.logs().contains("lost the leader-election Lease"), "no log line about the loss");
    println!("lost Lease: exit 1 after {:.1?}", stolen.elapsed());
    Ok(())
}
