//! The operator's Prometheus metrics (spec §5.11).

use std::time::Duration;

use booster_reconcile::{ChildKind, Report};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// How a reconcile pass ended, as counted.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum PassResult {
    success,
    invalid,
    error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: PassResult,
}

/// What was done to a child.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Op {
    apply,
    delete,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    kind: &'static str,
    op: Op,
}

/// The metrics and their registry.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    duration: Histogram,
    child_writes: Family<WriteLabels, Counter>,
    leader: Gauge,
}

impl Metrics {
    /// Registers every metric; every label combination starts at 0 so that it is visible before its first use.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register("model_booster_reconcile", "Reconcile passes by result", reconciles.clone());
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register("model_booster_reconcile_duration_seconds", "Duration of reconcile passes", duration.clone());
        let child_writes = Family::<WriteLabels, Counter>::default();
        registry.register(
            "model_booster_child_writes",
            "Child objects applied (created or changed) and deleted",
            child_writes.clone(),
        );
        let leader = Gauge::default();
        registry.register("model_booster_leader", "1 while this process leads and runs the controller", leader.clone());
        for result in [PassResult::success, PassResult::invalid, PassResult::error] {
            drop(reconciles.get_or_create(&ResultLabels { result }));
        }
        for kind in ChildKind::ALL {
            for op in [Op::apply, Op::delete] {
                drop(child_writes.get_or_create(&WriteLabels { kind: kind.kind(), op }));
            }
        }
        Self { registry, reconciles, duration, child_writes, leader }
    }

    /// Counts one pass.
    pub fn pass(&self, result: PassResult, elapsed: Duration) {
        self.reconciles.get_or_create(&ResultLabels { result }).inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// Counts what a pass wrote.
    pub fn writes(&self, report: &Report) {
        for (kind, _) in &report.applied {
            self.child_writes.get_or_create(&WriteLabels { kind: kind.kind(), op: Op::apply }).inc();
        }
        for (kind, _) in &report.pruned {
            self.child_writes.get_or_create(&WriteLabels { kind: kind.kind(), op: Op::delete }).inc();
        }
    }

    /// Sets the leader gauge.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The metrics in the OpenMetrics text format (which Prometheus reads).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_the_four_metrics() -> Result<(), std::fmt::Error> {
        let metrics = Metrics::new();
        metrics.pass(PassResult::success, Duration::from_millis(20));
        metrics.writes(&Report {
            applied: vec![(ChildKind::ModelServing, "m-b".into())],
            pruned: vec![(ChildKind::AutoscalingPolicy, "m".into())],
            status_written: true,
        });
        metrics.set_leader(true);
        let text = metrics.encode()?;
        for line in [
            "model_booster_reconcile_total{result=\"success\"} 1",
            "model_booster_reconcile_total{result=\"invalid\"} 0",
            "model_booster_reconcile_total{result=\"error\"} 0",
            "model_booster_reconcile_duration_seconds_count 1",
            "model_booster_child_writes_total{kind=\"ModelServing\",op=\"apply\"} 1",
            "model_booster_child_writes_total{kind=\"AutoscalingPolicy\",op=\"delete\"} 1",
            "model_booster_child_writes_total{kind=\"ModelRoute\",op=\"apply\"} 0",
            "model_booster_leader 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        Ok(())
    }
}
