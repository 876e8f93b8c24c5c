//! D-11: which accelerator a worker requests, and how many devices (D-3).

use booster_api::ModelWorker;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity;

const ASCEND_PREFIX: &str = "huawei.com/ascend-";
const NVIDIA_GPU: &str = "nvidia.com/gpu";

/// The accelerator kind of a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accelerator {
    /// A `huawei.com/ascend-*` resource is requested or limited.
    Ascend,
    /// `nvidia.com/gpu` is requested or limited (and no Ascend resource).
    Gpu,
    /// Neither.
    None,
}

/// The accelerator kind of `worker`, from the keys of its resource requests and limits.
pub fn of(worker: &ModelWorker) -> Accelerator {
    let names: Vec<&String> = resource_lists(worker).flat_map(|list| list.keys()).collect();
    if names.iter().any(|name| name.starts_with(ASCEND_PREFIX)) {
        Accelerator::Ascend
    } else if names.iter().any(|name| *name == NVIDIA_GPU) {
        Accelerator::Gpu
    } else {
        Accelerator::None
    }
}

/// Devices of a worker: the sum over `nvidia.com/gpu` and every `huawei.com/ascend-*` resource of its request (its
/// limit when there is no request), each rounded up; unparsable quantities count 0.
pub fn devices(worker: &ModelWorker) -> u64 {
    let Some(resources) = &worker.resources else { return 0 };
    let is_device = |name: &str| name == NVIDIA_GPU || name.starts_with(ASCEND_PREFIX);
    let mut names: Vec<&String> =
        resource_lists(worker).flat_map(|list| list.keys()).filter(|n| is_device(n)).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let amount: &Quantity = resources
                .requests
                .as_ref()
                .and_then(|requests| requests.get(name))
                .or_else(|| resources.limits.as_ref().and_then(|limits| limits.get(name)))?;
            quantity::value(&amount.0).filter(|v| v.is_finite() && *v > 0.0).map(|v| v.ceil() as u64)
        })
        .sum()
}

fn resource_lists(worker: &ModelWorker) -> impl Iterator<Item = &std::collections::BTreeMap<String, Quantity>> {
    worker.resources.iter().flat_map(|r| r.requests.iter().chain(r.limits.iter()))
}
