//! Spec §5.12: the first SIGTERM or SIGINT shuts down gracefully (exit 0, see also the leader-election test);
//! a second signal exits at once with status 1.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn sigint_shuts_down_gracefully_and_a_second_signal_exits_at_once() -> Result<()> {
    let _lock = shared().await;
    let env = crate::env!("sigint_shuts_down_gracefully_and_a_second_signal_exits_at_once");
    env.create(&booster("m", env.ns(), json!([backend("a", 1, 1)]))).await?;

    // One SIGINT: the running controller stops and the process exits 0.
    let operator = env.operator(&[]).await?;
    env.condition("m", "Initialized", "True", Duration::from_secs(30)).await?;
    let started = Instant::now();
    operator.signal("INT")?;
    let code = operator.wait_exit(Duration::from_secs(30)).await?;
    ensure!(code == Some(0), "exit status {code:?} after one SIGINT");
    ensure!(operator.logs().contains("stopped"), "no final log line");
    println!("SIGINT: exit 0 after {:.1?}", started.elapsed());

    // SIGTERM and SIGINT back to back: the second one exits with 1 at once.
    let operator = env.operator(&[]).await?;
    let both = std::process::Command::new("sh")
        .args(["-c", "kill -TERM \"$0\"; kill -INT \"$0\"", &operator.pid.to_string()])
        .status()?;
    ensure!(both.success(), "sending the signals failed");
    let code = operator.wait_exit(Duration::from_secs(10)).await?;
    ensure!(code == Some(1), "exit status {code:?} after two signals");
    ensure!(operator.logs().contains("second signal"), "no log line about the second signal");
    Ok(())
}
