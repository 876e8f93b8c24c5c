//! CEL texts that Kubernetes' cost estimator only accepts in a spelled-out form.
//!
//! The API server estimates a `messageExpression` as if every string whose size it cannot bound were ~3 MiB, and it
//! cannot bound the result of `join()`, of `string(int)` or of an element taken from a `filter()` result: such
//! messages exceed the cost budget more than 100 times and the CRD is refused. Indexing the list itself keeps the
//! bounds of its items, so these builders unroll the message over the list's `maxItems`.

use kube::core::Message;

/// `maxItems` of `spec.backends` (V-36; also the ModelRoute's `targetModels` limit).
pub const MAX_BACKENDS: usize = 16;
/// `maxItems` of `metrics` in an autoscaling policy.
pub const MAX_METRICS: usize = 16;

/// `'<message> (backends: a b)'`, naming every backend for which `violates` holds; `violates` refers to the
/// backend as `{b}`. (Space-separated: a bounded message cannot place commas between a variable number of names.)
pub(crate) fn offending_backends(message: &str, violates: &str) -> Message {
    let names: Vec<String> = (0..MAX_BACKENDS)
        .map(|i| {
            let backend = format!("self.backends[{i}]");
            format!("(size(self.backends) > {i} && {} ? ' ' + {backend}.name : '')", violates.replace("{b}", &backend))
        })
        .collect();
    Message::Expression(format!("'{message} (backends:' + {} + ')'", names.join(" + ")))
}

/// `'duplicate metric name <name> is not allowed'` with the first metric whose name occurs twice.
pub(crate) fn duplicate_metric() -> Message {
    let first: String = (0..MAX_METRICS)
        .map(|i| {
            format!(
                "size(self) > {i} && self.filter(n, n.metricName == self[{i}].metricName).size() > 1 ? self[{i}].metricName : "
            )
        })
        .collect();
    Message::Expression(format!("'duplicate metric name ' + ({first}'') + ' is not allowed'"))
}

/// `'sum of maxReplicas across all backends (<sum>) cannot exceed 1000000'`, the sum written digit by digit (it
/// has 7 or 8 digits whenever the rule fails: at most 16 backends of at most 1000000 each).
pub(crate) fn max_replicas_sum() -> Message {
    let sum = "self.backends.map(b, b.maxReplicas).sum()";
    let digit = |place: u32| format!("'0123456789'.substring({sum} / {place} % 10, {sum} / {place} % 10 + 1)");
    let digits: Vec<String> = (0..7).rev().map(|k| digit(10u32.pow(k))).collect();
    Message::Expression(format!(
        "'sum of maxReplicas across all backends (' + ({sum} >= 10000000 ? {} : '') + {} + ') cannot exceed 1000000'",
        digit(10_000_000),
        digits.join(" + ")
    ))
}
