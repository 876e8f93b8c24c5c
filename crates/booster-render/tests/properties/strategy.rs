//! Strategies: valid ModelBooster documents (spec §2–§3), and mutations of documents.
//!
//! Documents are built as JSON values, written as YAML text and decoded with `booster_api::strict`, exactly like
//! a user's file (see [`decode`]). Building text rather than Rust values keeps the generated objects what users
//! write (CRD defaults applied by decoding, strict field names checked), and the same documents feed the mutation
//! properties, which need a tree to delete keys from and to retype scalars in.
//!
//! Cross-field constraints (V-39 name lengths, V-35 distinct LoRA names, autoscaling modes, route weights) are
//! met by drawing independent random material first and assembling it deterministically in [`Plan::document`],
//! so shrinking stays effective.

use std::collections::BTreeSet;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const INNER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-";

/// Flag names (`--` + key with `_` as `-`) that no generated random config key may map to: R-2's reserved names
/// of every backend type, and the keys with rules of their own, which are generated deliberately.
const SPECIAL_FLAGS: [&str; 10] = [
    "--model",
    "--port",
    "--kv-events-config",
    "--distributed-executor-backend",
    "--model-path",
    "--host",
    "--served-model-name",
    "--kv-transfer-config",
    "--tensor-parallel-size",
    "--data-parallel-size",
];

/// The flag a config key renders as (spec §3.5).
pub fn flag_name(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

// ---------------------------------------------------------------------------------------------------------------
// DNS-1123 labels of a chosen length

/// Random material of one DNS-1123 label: its characters, and whether it takes the longest allowed length.
#[derive(Clone, Debug)]
pub struct LabelSeed {
    bytes: Vec<u8>,
    at_limit: bool,
    len: u8,
}

fn label_seed() -> impl Strategy<Value = LabelSeed> {
    (vec(any::<u8>(), 64), prop::bool::weighted(0.25), any::<u8>()).prop_map(|(bytes, at_limit, len)| LabelSeed {
        bytes,
        at_limit,
        len,
    })
}

impl LabelSeed {
    /// A label of at most `max` (≤ 64) characters; exactly `max` when the seed is at the limit.
    fn label(&self, max: usize) -> String {
        let len = if self.at_limit { max } else { 1 + usize::from(self.len) % max };
        (0..len)
            .map(|i| {
                let set = if i == 0 || i == len - 1 { ALNUM } else { INNER };
                char::from(set[usize::from(self.bytes[i]) % set.len()])
            })
            .collect()
    }
}

/// `name`, with its last character changed until it is not in `taken` (keeps the length and the syntax).
fn unique(mut name: String, taken: &BTreeSet<String>) -> String {
    let mut step = 0;
    while taken.contains(&name) {
        let last = name.pop().expect("labels are not empty");
        let at = ALNUM.iter().position(|&c| char::from(c) == last).unwrap_or(0);
        name.push(char::from(ALNUM[(at + 1) % ALNUM.len()]));
        step += 1;
        assert!(step <= ALNUM.len(), "fewer names than last characters");
    }
    name
}

// ---------------------------------------------------------------------------------------------------------------
// Leaves

fn source_uri() -> impl Strategy<Value = String> {
    (select(vec!["hf://", "s3://", "pvc://"]), "\\PC{1,40}").prop_map(|(scheme, rest)| format!("{scheme}{rest}"))
}

const SYSTEM_DIRS: [&str; 13] =
    ["bin", "boot", "dev", "etc", "lib", "lib64", "proc", "root", "run", "sbin", "sys", "usr", "var"];

/// `None` (emptyDir), `pvc://<DNS-1123 subdomain>` or `hostpath://<absolute path>`, valid per V-41, V-44, V-45.
fn cache_uri() -> BoxedStrategy<Option<String>> {
    let claim = vec(label_seed(), 1..=3).prop_map(|seeds| seeds.iter().map(|s| s.label(20)).collect::<Vec<_>>());
    let segment = "[a-zA-Z0-9_.~ '-]{1,12}".prop_filter("no dot segments (V-45)", |s| s != "." && s != "..");
    prop_oneof![
        2 => Just(None),
        1 => claim.prop_map(|labels| {
            let mut claim = labels.join(".");
            if SYSTEM_DIRS.contains(&claim.as_str()) {
                claim.push_str("-cache"); // V-44
            }
            Some(format!("pvc://{claim}"))
        }),
        1 => (vec(segment, 1..=4), any::<bool>()).prop_map(|(mut segments, trailing)| {
            if segments.len() == 1 && SYSTEM_DIRS.contains(&segments[0].as_str()) {
                segments[0].push_str("-cache"); // V-44
            }
            Some(format!("hostpath:///{}{}", segments.join("/"), if trailing { "/" } else { "" }))
        }),
    ]
    .boxed()
}

fn image() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,8}(\\.[a-z0-9]{1,6})?(/[a-z0-9_-]{0,11}[a-z0-9]){0,2}(:[a-zA-Z0-9_.-]{0,11}[a-zA-Z0-9])?"
}

/// Any user string, including quotes, `${…}`, shell metacharacters and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "\\PC{0,24}",
        1 => select(vec!["", " ", "${MODEL_NAME}", "$(POD_NAME)", "a'b", "\"q\"", "x && rm -rf /", "ü ✓", "--flag"])
            .prop_map(str::to_owned),
    ]
}

/// A JSON value of a config entry: every JSON type, nested a little.
fn config_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        4 => text().prop_map(Value::from),
        1 => Just(Value::from("")),
        2 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
        2 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        2 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        1 => (0u32..100).prop_map(|n| Value::from(f64::from(n) / 10.0)),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            vec(("[a-z_]{1,6}", inner), 0..3).prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

fn quantity_string(values: Vec<&'static str>) -> impl Strategy<Value = Value> {
    select(values).prop_map(Value::from)
}

/// A Go duration between 0 and 30 minutes.
fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..=1800).prop_map(|s| format!("{s}s")),
        (0u32..=30).prop_map(|m| format!("{m}m")),
        select(vec!["0", "1m30s", "500ms", "0.5m", "15s", "30m"]).prop_map(str::to_owned),
    ]
}

/// A duration accepted for `scaleToZeroGracePeriod` with model-level autoscaling (0..1800s).
fn grace_period() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..=1800).prop_map(|s| format!("{s}s")),
        select(vec!["0", "30m", "1m30s", "250ms", "29m59s"]).prop_map(str::to_owned),
    ]
}

// ---------------------------------------------------------------------------------------------------------------
// Autoscaling policy (spec §2.5, V-43)

fn stable_policy() -> BoxedStrategy<Value> {
    (
        option::of(0i32..=10),
        option::of(0i32..=1000),
        option::of(duration()),
        option::of(select(vec!["Or", "And"])),
        option::of(duration()),
    )
        .prop_map(|(instances, percent, period, select_policy, window)| {
            let mut p = Map::new();
            insert_some(&mut p, "instances", instances);
            insert_some(&mut p, "percent", percent);
            insert_some(&mut p, "period", period);
            insert_some(&mut p, "selectPolicy", select_policy);
            insert_some(&mut p, "stabilizationWindow", window);
            Value::Object(p)
        })
        .boxed()
}

fn panic_policy() -> BoxedStrategy<Value> {
    (option::of(0i32..=1000), duration(), option::of(110i32..=1000), option::of(duration()))
        .prop_map(|(percent, period, threshold, hold)| {
            let mut p = Map::new();
            insert_some(&mut p, "percent", percent);
            p.insert("period".into(), period.into());
            insert_some(&mut p, "panicThresholdPercent", threshold);
            insert_some(&mut p, "panicModeHold", hold);
            Value::Object(p)
        })
        .boxed()
}

fn policy() -> BoxedStrategy<Value> {
    let metric_name = prop_oneof![
        select(vec!["vllm:num_requests_waiting", "kthena:num_requests_waiting", "vllm:iteration_tokens_total"])
            .prop_map(str::to_owned),
        "[a-z_:]{1,30}",
    ];
    let target = prop_oneof![
        (1i64..=100_000).prop_map(Value::from),
        quantity_string(vec!["10", "500m", "1.5", "2k", "1Gi", "0.001", "1e3"]),
        (1u32..1000).prop_map(|n| Value::from(n.to_string())),
    ];
    let behavior = (option::of((option::of(stable_policy()), option::of(panic_policy()))), option::of(stable_policy()))
        .prop_map(|(up, down)| {
            let mut b = Map::new();
            if let Some((stable, panic)) = up {
                let mut u = Map::new();
                insert_some(&mut u, "stablePolicy", stable);
                insert_some(&mut u, "panicPolicy", panic);
                b.insert("scaleUp".into(), Value::Object(u));
            }
            insert_some(&mut b, "scaleDown", down);
            Value::Object(b)
        });
    (option::of(0i32..=100), vec((metric_name, target), 1..=3), option::of(behavior))
        .prop_map(|(tolerance, metrics, behavior)| {
            let mut names = BTreeSet::new();
            let metrics: Vec<Value> = metrics
                .into_iter()
                .filter(|(name, _)| names.insert(name.clone()))
                .map(|(name, target)| json!({"metricName": name, "targetValue": target}))
                .collect();
            let mut p = Map::new();
            insert_some(&mut p, "tolerancePercent", tolerance);
            p.insert("metrics".into(), Value::Array(metrics));
            insert_some(&mut p, "behavior", behavior);
            Value::Object(p)
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------------------------
// Workers

/// What a worker's resources ask for (D-11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Accel {
    None,
    Gpu,
    Ascend,
}

fn any_accel() -> impl Strategy<Value = Accel> {
    select(vec![Accel::None, Accel::Gpu, Accel::Ascend])
}

fn resources(accel: Accel) -> BoxedStrategy<Option<Value>> {
    let count = prop_oneof![(1i64..=8).prop_map(Value::from), (1u32..=8).prop_map(|n| Value::from(n.to_string()))];
    let cpu =
        option::of(prop_oneof![quantity_string(vec!["100m", "16", "0.5", "2500m"]), (1i64..=64).prop_map(Value::from)]);
    let memory = option::of(prop_oneof![
        quantity_string(vec!["1Gi", "512Mi", "64Gi", "1G", "100M"]),
        Just(Value::from(1_073_741_824_i64))
    ]);
    // Where the accelerator is asked for: requests, limits or both (then with equal counts, as Kubernetes wants).
    let placement = select(vec![(true, false), (false, true), (true, true)]);
    (count, cpu, memory, placement, any::<bool>())
        .prop_map(move |(count, cpu, memory, (in_req, in_lim), bare)| {
            let key = match accel {
                Accel::None if bare => return None,
                Accel::None => None,
                Accel::Gpu => Some("nvidia.com/gpu"),
                Accel::Ascend => Some("huawei.com/ascend-1980"),
            };
            let mut requests = Map::new();
            let mut limits = Map::new();
            insert_some(&mut requests, "cpu", cpu.clone());
            insert_some(&mut limits, "cpu", cpu);
            insert_some(&mut requests, "memory", memory);
            if let Some(key) = key {
                if in_req {
                    requests.insert(key.into(), count.clone());
                }
                if in_lim {
                    limits.insert(key.into(), count);
                }
            }
            let mut r = Map::new();
            if !requests.is_empty() {
                r.insert("requests".into(), Value::Object(requests));
            }
            if !limits.is_empty() {
                r.insert("limits".into(), Value::Object(limits));
            }
            Some(Value::Object(r))
        })
        .boxed()
}

fn affinity() -> BoxedStrategy<Option<Value>> {
    let node = "[a-z0-9]{1,10}".prop_map(|v| {
        json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "gpu-type", "operator": "In", "values": [v]}]}
        ]}})
    });
    let anti = (1i32..=100, "[a-z0-9]{1,10}").prop_map(|(weight, app)| {
        json!({"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": weight, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"
        }}]})
    });
    prop_oneof![
        3 => Just(None),
        1 => (option::of(node), option::of(anti)).prop_map(|(node, anti)| {
            let mut a = Map::new();
            insert_some(&mut a, "nodeAffinity", node);
            insert_some(&mut a, "podAntiAffinity", anti);
            Some(Value::Object(a))
        }),
    ]
    .boxed()
}

/// Random config keys whose flags are not reserved nor special; collisions are removed later.
fn config_key() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "block-size",
            "gpu-memory-utilization",
            "max-model-len",
            "trust-remote-code",
            "enforce_eager",
            "quantization",
            "max_num_seqs",
            "enable-prefix-caching",
            "mem-fraction-static",
        ])
        .prop_map(str::to_owned),
        "[a-z][a-z0-9]{0,6}([-_][a-z0-9]{1,6}){0,2}",
    ]
    .prop_filter("not a special flag", |k| !SPECIAL_FLAGS.contains(&flag_name(k).as_str()))
}

fn positive_integer() -> impl Strategy<Value = Value> {
    prop_oneof![(1i64..=16).prop_map(Value::from), (1u32..=16).prop_map(|n| Value::from(n.to_string()))]
}

fn spelling(dashed: &'static str) -> impl Strategy<Value = String> {
    any::<bool>().prop_map(move |snake| if snake { dashed.replace('-', "_") } else { dashed.to_owned() })
}

/// A worker config: random keys, maybe a served model name and parallel sizes, plus `extra` entries.
/// `None` (no `config`) sometimes when there is nothing to say.
fn config(extra: Vec<(String, Value)>) -> BoxedStrategy<Option<Value>> {
    let served = option::of((spelling("served-model-name"), prop_oneof![3 => "\\PC{1,30}", 1 => "[a-z]{256}"]));
    let tp = option::of((spelling("tensor-parallel-size"), positive_integer()));
    let dp = option::of((spelling("data-parallel-size"), positive_integer()));
    (vec((config_key(), config_value()), 0..=4), served, tp, dp, any::<bool>())
        .prop_map(move |(random, served, tp, dp, omit_empty)| {
            let mut entries: Vec<(String, Value)> = extra.clone();
            entries.extend(served.map(|(k, v)| (k, Value::from(v))));
            entries.extend(tp);
            entries.extend(dp);
            entries.extend(random);
            let mut flags = BTreeSet::new();
            let config: Map<String, Value> =
                entries.into_iter().filter(|(key, _)| flags.insert(flag_name(key))).collect();
            if config.is_empty() && omit_empty { None } else { Some(Value::Object(config)) }
        })
        .boxed()
}

/// One worker of `role`; `type_explicit` writes `type: server` instead of relying on the default.
fn worker(
    role: &'static str,
    accel: Accel,
    pods: impl Strategy<Value = Option<i32>> + 'static,
    extra_config: Vec<(String, Value)>,
) -> BoxedStrategy<Value> {
    let replicas = prop_oneof![3 => Just(None), 3 => (0i32..=3).prop_map(Some), 1 => Just(Some(1_000_000))];
    (image(), replicas, pods, resources(accel), affinity(), config(extra_config), any::<bool>())
        .prop_map(move |(image, replicas, pods, resources, affinity, config, type_explicit)| {
            let mut w = Map::new();
            if role != "server" || type_explicit {
                w.insert("type".into(), role.into());
            }
            w.insert("image".into(), image.into());
            insert_some(&mut w, "replicas", replicas);
            insert_some(&mut w, "pods", pods);
            insert_some(&mut w, "resources", resources);
            insert_some(&mut w, "affinity", affinity);
            insert_some(&mut w, "config", config);
            Value::Object(w)
        })
        .boxed()
}

fn single_node_pods() -> impl Strategy<Value = Option<i32>> {
    select(vec![None, Some(0), Some(1)])
}

/// A given `kv-transfer-config` for the prefill and the decode worker: same connector, each as an object
/// or a string holding one, under either spelling.
fn given_kv_configs() -> BoxedStrategy<[(String, Value); 2]> {
    let connector = select(vec![
        "MooncakeConnectorV1",
        "MooncakeConnector",
        "LMCacheConnectorV1",
        "NixlConnector",
        "P2pNcclConnector",
    ]);
    (connector, spelling("kv-transfer-config"), spelling("kv-transfer-config"), any::<bool>(), any::<bool>())
        .prop_map(|(connector, prefill_key, decode_key, prefill_string, decode_string)| {
            let config = |role: &str, as_string: bool| {
                let value = json!({"kv_connector": connector, "kv_role": role, "kv_buffer_device": "cuda"});
                if as_string { Value::from(value.to_string()) } else { value }
            };
            [(prefill_key, config("kv_producer", prefill_string)), (decode_key, config("kv_consumer", decode_string))]
        })
        .boxed()
}

/// The `type` and `workers` of a backend: vLLM (single or multi node), vLLMDisaggregated (generated or given KV
/// transfer config), or SGLang.
fn typed_workers() -> BoxedStrategy<(&'static str, Vec<Value>)> {
    let vllm = any_accel()
        .prop_flat_map(|accel| {
            let pods = prop_oneof![2 => single_node_pods(), 1 => (2i32..=4).prop_map(Some)];
            worker("server", accel, pods, vec![])
        })
        .prop_map(|w| ("vLLM", vec![w]));
    // Generated KV config: both workers on the same accelerator kind.
    let pd_generated = select(vec![Accel::Gpu, Accel::Ascend]).prop_flat_map(|accel| {
        (worker("prefill", accel, single_node_pods(), vec![]), worker("decode", accel, single_node_pods(), vec![]))
    });
    let pd_given = (any_accel(), any_accel(), given_kv_configs()).prop_flat_map(|(pa, da, [p, d])| {
        (worker("prefill", pa, single_node_pods(), vec![p]), worker("decode", da, single_node_pods(), vec![d]))
    });
    let pd = (prop_oneof![pd_generated, pd_given], any::<bool>()).prop_map(|((prefill, decode), decode_first)| {
        ("vLLMDisaggregated", if decode_first { vec![decode, prefill] } else { vec![prefill, decode] })
    });
    let sglang = any_accel()
        .prop_flat_map(|accel| worker("server", accel, single_node_pods(), vec![]))
        .prop_map(|w| ("SGLang", vec![w]));
    prop_oneof![3 => vllm, 2 => pd, 1 => sglang].boxed()
}

// ---------------------------------------------------------------------------------------------------------------
// Env

fn env() -> BoxedStrategy<Option<Value>> {
    let name = prop_oneof![
        select(vec![
            "ENDPOINT",
            "HF_ENDPOINT",
            "RUNTIME_URL",
            "RUNTIME_METRICS_PATH",
            "VLLM_USE_V1",
            "POD_NAME",
            "HF_TOKEN",
            "REDIS_HOST"
        ])
        .prop_map(str::to_owned),
        "[A-Z_][A-Z0-9_]{0,15}",
    ];
    let value = prop_oneof![
        4 => text().prop_map(|v| json!({"value": v})),
        1 => Just(json!({"valueFrom": {"secretKeyRef": {"name": "hf-secret", "key": "token"}}})),
        1 => Just(json!({})),
    ];
    // RUNTIME_PORT: a literal 1..65535, or from a ConfigMap (then the default port is used).
    let port = option::of(prop_oneof![
        4 => (1u16..=65535).prop_map(|p| json!({"value": p.to_string()})),
        1 => Just(json!({"value": "65535"})),
        1 => Just(json!({"valueFrom": {"configMapKeyRef": {"name": "ports", "key": "runtime"}}})),
    ]);
    (vec((name, value), 0..=4), port, any::<usize>(), any::<bool>())
        .prop_map(|(vars, port, at, omit_empty)| {
            let mut names = BTreeSet::from(["RUNTIME_PORT".to_owned()]);
            let mut env: Vec<Value> = vars
                .into_iter()
                .filter(|(name, _)| names.insert(name.clone()))
                .map(|(name, mut value)| {
                    value["name"] = name.into();
                    value
                })
                .collect();
            if let Some(mut port) = port {
                port["name"] = "RUNTIME_PORT".into();
                env.insert(at % (env.len() + 1), port);
            }
            if env.is_empty() && omit_empty { None } else { Some(Value::Array(env)) }
        })
        .boxed()
}

fn env_from() -> BoxedStrategy<Option<Value>> {
    let source = prop_oneof![
        label_seed().prop_map(|s| json!({"secretRef": {"name": s.label(20)}})),
        label_seed().prop_map(|s| json!({"configMapRef": {"name": s.label(20)}})),
    ];
    option::of(vec(source, 1..=2).prop_map(Value::Array)).boxed()
}

fn model_match() -> BoxedStrategy<Option<Value>> {
    let string_match = prop_oneof![
        text().prop_map(|s| json!({"exact": s})),
        text().prop_map(|s| json!({"prefix": s})),
        "[a-z.*+]{0,12}".prop_map(|s| json!({"regex": s})),
        Just(json!({})),
    ];
    let headers = vec(("[a-z][a-z0-9-]{0,10}", string_match.clone()), 0..=3)
        .prop_map(|entries| Value::Object(entries.into_iter().collect()));
    option::of((option::of(headers), option::of(string_match), option::of(text())).prop_map(|(headers, uri, model)| {
        let mut m = Map::new();
        insert_some(&mut m, "headers", headers);
        insert_some(&mut m, "uri", uri);
        insert_some(&mut m, "body", model.map(|model| json!({"model": model})));
        Value::Object(m)
    }))
    .boxed()
}

// ---------------------------------------------------------------------------------------------------------------
// Whole documents

/// Model-level, backend-level or no autoscaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Autoscaling {
    None,
    BackendLevel,
    ModelLevel,
}

/// The random material of one backend; names, LoRA adapters and replica settings are decided in [`Plan`].
#[derive(Clone, Debug)]
struct BackendPlan {
    name: LabelSeed,
    type_: &'static str,
    workers: Vec<Value>,
    model_uri: String,
    cache_uri: Option<String>,
    env: Option<Value>,
    env_from: Option<Value>,
    scheduler_name: Option<&'static str>,
    route_weight: Option<i32>,
    lora_mask: u16,
    empty_lora_list: bool,
    min: i32,
    span: i32,
    big: bool,
    policy: Option<Value>,
    cost: i32,
    grace: Option<String>,
    zero_cost: bool,
}

fn backend_plan() -> BoxedStrategy<BackendPlan> {
    let parts = (
        label_seed(),
        typed_workers(),
        source_uri(),
        cache_uri(),
        env(),
        env_from(),
        option::of(select(vec!["volcano", "default-scheduler", ""])),
        option::of(prop_oneof![Just(0), Just(100), 0i32..=100]),
    );
    let replicas = (
        any::<u16>(),
        any::<bool>(),
        0i32..=3,
        0i32..=5,
        prop::bool::weighted(0.05),
        option::of(policy()),
        prop_oneof![1i32..=100, Just(i32::MAX)],
        option::of(grace_period()),
        any::<bool>(),
    );
    (parts, replicas)
        .prop_map(
            |(
                (name, (type_, workers), model_uri, cache_uri, env, env_from, scheduler_name, route_weight),
                (lora_mask, empty_lora_list, min, span, big, policy, cost, grace, zero_cost),
            )| BackendPlan {
                name,
                type_,
                workers,
                model_uri,
                cache_uri,
                env,
                env_from,
                scheduler_name,
                route_weight,
                lora_mask,
                empty_lora_list,
                min,
                span,
                big,
                policy,
                cost,
                grace,
                zero_cost,
            },
        )
        .boxed()
}

/// The random material of one ModelBooster.
#[derive(Clone, Debug)]
pub struct Plan {
    model: LabelSeed,
    namespace: LabelSeed,
    uid: [u8; 16],
    spec_name: Option<LabelSeed>,
    owner: Option<String>,
    backends: Vec<BackendPlan>,
    pub autoscaling: Autoscaling,
    model_policy: Value,
    cost_expansion: Option<i32>,
    defaults_written: bool,
    lora_pool: Vec<(LabelSeed, String)>,
    model_match: Option<Value>,
}

/// Valid ModelBooster documents (JSON values of what a user writes).
pub fn valid_document() -> BoxedStrategy<Value> {
    plan().prop_map(|plan| plan.document()).boxed()
}

pub fn plan() -> BoxedStrategy<Plan> {
    let lora_pool = prop_oneof![
        3 => Just(0usize),
        3 => 1usize..=3,
        1 => Just(10usize),
    ]
    .prop_flat_map(|n| vec((label_seed(), source_uri()), n));
    (
        (label_seed(), label_seed(), any::<[u8; 16]>(), option::of(label_seed()), option::of(text())),
        vec(backend_plan(), 1..=4),
        select(vec![Autoscaling::None, Autoscaling::BackendLevel, Autoscaling::ModelLevel]),
        (policy(), option::of(0i32..=1000), any::<bool>()),
        lora_pool,
        model_match(),
    )
        .prop_map(
            |(
                (model, namespace, uid, spec_name, owner),
                backends,
                autoscaling,
                (model_policy, cost_expansion, defaults_written),
                lora_pool,
                model_match,
            )| Plan {
                model,
                namespace,
                uid,
                spec_name,
                owner,
                backends,
                autoscaling,
                model_policy,
                cost_expansion,
                defaults_written,
                lora_pool,
                model_match,
            },
        )
        .boxed()
}

impl Plan {
    /// The ModelBooster document of this plan.
    pub fn document(&self) -> Value {
        let model = self.model.label(45); // V-39
        let uid = self.uid;
        let uid = format!(
            "{}-{}-{}-{}-{}",
            hex(&uid[0..4]),
            hex(&uid[4..6]),
            hex(&uid[6..8]),
            hex(&uid[8..10]),
            hex(&uid[10..16])
        );

        // LoRA adapter names: distinct over all backends (≤ 10, V-35), never the model name (V-21).
        let mut taken = BTreeSet::from([model.clone()]);
        let pool: Vec<(String, String)> = self
            .lora_pool
            .iter()
            .map(|(seed, url)| {
                let name = unique(seed.label(63), &taken);
                taken.insert(name.clone());
                (name, url.clone())
            })
            .collect();

        let mut names = BTreeSet::new();
        let mut backends: Vec<Map<String, Value>> = Vec::new();
        for plan in &self.backends {
            let name = unique(plan.name.label(51.min(62 - model.len())), &names); // V-39
            names.insert(name.clone());
            let mut b = Map::new();
            b.insert("name".into(), name.into());
            b.insert("type".into(), plan.type_.into());
            b.insert("modelURI".into(), plan.model_uri.clone().into());
            insert_some(&mut b, "cacheURI", plan.cache_uri.clone());
            insert_some(&mut b, "env", plan.env.clone());
            insert_some(&mut b, "envFrom", plan.env_from.clone());
            insert_some(&mut b, "schedulerName", plan.scheduler_name);
            insert_some(&mut b, "routeWeight", plan.route_weight);
            b.insert("workers".into(), Value::Array(plan.workers.clone()));
            if plan.type_ != "SGLang" {
                // V-34: no LoRA on SGLang; unique within the backend (V-22) as the pool is distinct.
                let adapters: Vec<Value> = pool
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| plan.lora_mask & (1 << i) != 0)
                    .map(|(_, (name, url))| json!({"name": name, "artifactURL": url}))
                    .collect();
                if !adapters.is_empty() || plan.empty_lora_list {
                    b.insert("loraAdapters".into(), Value::Array(adapters));
                }
            }
            let (min, max) = match self.autoscaling {
                // V-10: equal when not autoscaled; V-3: at most 4 × 250000.
                Autoscaling::None => {
                    let v = if plan.big { 250_000 } else { 1 + plan.min };
                    (v, v)
                }
                Autoscaling::BackendLevel => match &plan.policy {
                    Some(policy) => {
                        b.insert("autoscalingPolicy".into(), policy.clone());
                        (1 + plan.min, 1 + plan.min + plan.span) // V-9
                    }
                    None => (1 + plan.min, 1 + plan.min),
                },
                Autoscaling::ModelLevel => {
                    b.insert("scalingCost".into(), plan.cost.into()); // V-12
                    insert_some(&mut b, "scaleToZeroGracePeriod", plan.grace.clone());
                    (plan.min, plan.min.max(1) + plan.span)
                }
            };
            if self.autoscaling != Autoscaling::ModelLevel {
                // V-6, V-7: absent, or the value that equals the default.
                if plan.zero_cost {
                    b.insert("scalingCost".into(), 0.into());
                }
                if self.defaults_written {
                    b.insert("scaleToZeroGracePeriod".into(), "30s".into());
                }
            }
            b.insert("minReplicas".into(), min.into());
            b.insert("maxReplicas".into(), max.into());
            backends.push(b);
        }
        if self.autoscaling == Autoscaling::ModelLevel && backends.iter().all(|b| b["minReplicas"] == 0) {
            backends[0].insert("minReplicas".into(), 1.into()); // V-14; maxReplicas is ≥ 1
        }
        if backends.iter().all(|b| b.get("routeWeight") == Some(&Value::from(0))) {
            backends[0].insert("routeWeight".into(), 1.into()); // V-38
        }

        let mut spec = Map::new();
        insert_some(&mut spec, "name", self.spec_name.as_ref().map(|s| s.label(64)));
        insert_some(&mut spec, "owner", self.owner.clone());
        spec.insert("backends".into(), Value::Array(backends.into_iter().map(Value::Object).collect()));
        if self.autoscaling == Autoscaling::ModelLevel {
            spec.insert("autoscalingPolicy".into(), self.model_policy.clone());
            insert_some(&mut spec, "costExpansionRatePercent", self.cost_expansion);
        } else if self.defaults_written {
            spec.insert("costExpansionRatePercent".into(), 200.into()); // V-8
        }
        insert_some(&mut spec, "modelMatch", self.model_match.clone());

        json!({
            "apiVersion": "workload.serving.volcano.sh/v1alpha1",
            "kind": "ModelBooster",
            "metadata": {"name": model, "namespace": self.namespace.label(63), "uid": uid},
            "spec": spec,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn insert_some(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.into(), value.into());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/// The document as YAML text, as a user would write it.
pub fn yaml(document: &Value) -> String {
    serde_yaml::to_string(document).expect("a JSON value is YAML")
}

/// Decodes `document` through YAML text and `booster_api::strict`, as the CLI does.
pub fn decode(document: &Value) -> Result<booster_api::ModelBooster, String> {
    let text = yaml(document);
    let mut docs = booster_api::strict::documents(&text).map_err(|e| e.to_string())?;
    if docs.len() != 1 {
        return Err(format!("{} documents", docs.len()));
    }
    booster_api::strict::decode(docs.remove(0)).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------------------------
// Changes of one backend (revision properties)

/// A change of backend `backend` that reaches its ModelServing (worker image, env, or config).
#[derive(Clone, Debug)]
pub enum ServingChange {
    Image { worker: usize },
    Env,
    Config { worker: usize },
}

pub fn serving_change() -> impl Strategy<Value = ServingChange> {
    prop_oneof![
        any::<usize>().prop_map(|worker| ServingChange::Image { worker }),
        Just(ServingChange::Env),
        any::<usize>().prop_map(|worker| ServingChange::Config { worker }),
    ]
}

impl ServingChange {
    /// Applies the change to backend `index` of `document`, keeping it valid.
    pub fn apply(&self, document: &mut Value, index: usize) {
        let backend = &mut document["spec"]["backends"][index];
        let workers = backend["workers"].as_array_mut().expect("workers");
        let n = workers.len();
        match self {
            Self::Image { worker } => {
                let image = &mut workers[worker % n]["image"];
                *image = format!("{}0", image.as_str().expect("image")).into();
            }
            Self::Env => {
                let env = backend.as_object_mut().expect("backend").entry("env").or_insert_with(|| json!([]));
                let env = env.as_array_mut().expect("env");
                // Generated names are at most 16 characters.
                env.push(json!({"name": "PROPERTY_TEST_CHANGED_ENV", "value": "1"}));
            }
            Self::Config { worker } => {
                let config =
                    workers[worker % n].as_object_mut().expect("worker").entry("config").or_insert_with(|| json!({}));
                // Generated keys have at most 20 characters.
                config["property-test-changed-flag"] = "on".into();
            }
        }
    }
}

/// A change of backend `index` that must not reach its ModelServing's pod templates: replica bounds, route
/// weight or scaling cost, keeping the document valid.
#[derive(Clone, Debug)]
pub enum ScaleChange {
    Replicas,
    RouteWeight,
    ScalingCost,
}

pub fn scale_change() -> impl Strategy<Value = ScaleChange> {
    select(vec![ScaleChange::Replicas, ScaleChange::RouteWeight, ScaleChange::ScalingCost])
}

impl ScaleChange {
    pub fn apply(&self, document: &mut Value, index: usize) {
        let model_level = document["spec"].get("autoscalingPolicy").is_some();
        let backend = document["spec"]["backends"][index].as_object_mut().expect("backend");
        let int = |v: &Value| v.as_i64().expect("an integer");
        match self {
            Self::Replicas => {
                let (min, max) = (int(&backend["minReplicas"]), int(&backend["maxReplicas"]));
                if model_level || backend.contains_key("autoscalingPolicy") {
                    backend.insert("maxReplicas".into(), (max + 1).into());
                } else {
                    // V-10: keep them equal; ±1 stays within V-3 and ≥ 1.
                    let v = if min > 1 { min - 1 } else { min + 1 };
                    backend.insert("minReplicas".into(), v.into());
                    backend.insert("maxReplicas".into(), v.into());
                }
            }
            Self::RouteWeight => {
                // Always differs from the old weight and stays > 0 (V-38 holds whatever the others are).
                let old = backend.get("routeWeight").map_or(100, int);
                backend.insert("routeWeight".into(), (old % 100 + 1).into());
            }
            Self::ScalingCost => {
                if model_level {
                    let old = int(&backend["scalingCost"]);
                    backend.insert("scalingCost".into(), (if old > 1 { old - 1 } else { old + 1 }).into());
                } else {
                    // V-6: only 0 or absent is allowed; toggle between them.
                    if backend.remove("scalingCost").is_none() {
                        backend.insert("scalingCost".into(), 0.into());
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations (arbitrary-input properties)

/// One mutation of a document; `at` selects a node among all nodes in document order (modulo their count).
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Delete an object key or an array element.
    Delete { at: usize },
    /// Replace a scalar by a value of another JSON type.
    Retype { at: usize },
    /// Replace any node by an arbitrary value.
    Replace { at: usize, value: Value },
    /// Keep the type, change the value: tricky strings, boundary integers, flipped booleans, duplicated or emptied
    /// lists. Mostly keeps the document decodable, so `validate` and `render` see invalid objects.
    Tweak { at: usize, pick: usize },
}

fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        config_value(),
        tricky_string().prop_map(Value::from),
        (0usize..200).prop_map(|depth| (0..depth).fold(json!("x"), |v, _| json!([v]))),
        (0usize..200).prop_map(|depth| (0..depth).fold(json!(1), |v, _| json!({"a": v}))),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        select(TRICKY_STRINGS.to_vec()).prop_map(str::to_owned),
        "\\PC{0,40}",
        any::<String>(),
        (1usize..2000).prop_map(|n| "a".repeat(n)),
    ]
}

const TRICKY_STRINGS: [&str; 22] = [
    "",
    " ",
    "-",
    "A",
    "hostpath:///",
    "hostpath://tmp/x",
    "hostpath:///etc",
    "hostpath:///a/../etc",
    "pvc://a/b",
    "pvc://",
    "hf://",
    "${X}",
    "'",
    "\n",
    "vLLM",
    "SGLang",
    "MindIE",
    "prefill",
    "decode",
    "-1s",
    "99999h",
    "{\"kv_connector\":1}",
];

const TRICKY_INTEGERS: [i64; 10] = [-1, 0, 1, 2, 63, 65536, 1_000_001, i32::MAX as i64, i32::MIN as i64, i64::MAX];

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<usize>().prop_map(|at| Mutation::Delete { at }),
        2 => any::<usize>().prop_map(|at| Mutation::Retype { at }),
        1 => (any::<usize>(), replacement()).prop_map(|(at, value)| Mutation::Replace { at, value }),
        4 => (any::<usize>(), any::<usize>()).prop_map(|(at, pick)| Mutation::Tweak { at, pick }),
    ]
}

/// Only type-preserving mutations: the result usually still decodes.
pub fn tweak() -> impl Strategy<Value = Mutation> {
    (any::<usize>(), any::<usize>()).prop_map(|(at, pick)| Mutation::Tweak { at, pick })
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(Step::Key(key.clone()));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(Step::Index(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

fn node_ref<'a>(value: &'a Value, path: &[Step]) -> &'a Value {
    path.iter().fold(value, |v, step| match step {
        Step::Key(k) => &v[k.as_str()],
        Step::Index(i) => &v[*i],
    })
}

impl Mutation {
    pub fn apply(&self, document: &mut Value) {
        let mut all = Vec::new();
        paths(document, &mut Vec::new(), &mut all);
        // The `at`-th (cyclically) of the nodes that satisfy `keep`.
        let pick = |at: usize, keep: &dyn Fn(&[Step], &Value) -> bool, doc: &Value| -> Option<Vec<Step>> {
            let candidates: Vec<&Vec<Step>> = all.iter().filter(|p| keep(p, node_ref(doc, p))).collect();
            (!candidates.is_empty()).then(|| candidates[at % candidates.len()].clone())
        };
        match self {
            Self::Delete { at } => {
                let Some(path) = pick(*at, &|p, _| !p.is_empty(), document) else { return };
                let (last, parent) = path.split_last().expect("not the root");
                match (node(document, parent), last) {
                    (Value::Object(map), Step::Key(k)) => {
                        map.remove(k);
                    }
                    (Value::Array(items), Step::Index(i)) => {
                        items.remove(*i);
                    }
                    _ => unreachable!("paths follow the document"),
                }
            }
            Self::Retype { at } => {
                let scalar = |_: &[Step], v: &Value| !v.is_object() && !v.is_array();
                let Some(path) = pick(*at, &scalar, document) else { return };
                let v = node(document, &path);
                *v = match v.take() {
                    Value::String(s) => s.parse::<i64>().map_or_else(|_| json!(s.len()), |_| json!(true)),
                    Value::Number(n) => Value::from(n.to_string()),
                    Value::Bool(b) => Value::from(if b { "true" } else { "false" }),
                    Value::Null => json!({}),
                    other => other,
                };
            }
            Self::Replace { at, value } => {
                let Some(path) = pick(*at, &|_, _| true, document) else { return };
                *node(document, &path) = value.clone();
            }
            Self::Tweak { at, pick: which } => {
                let Some(path) = pick(*at, &|p, _| !p.is_empty(), document) else { return };
                let v = node(document, &path);
                match v {
                    Value::String(s) => {
                        *s = match which % 3 {
                            0 => TRICKY_STRINGS[which / 3 % TRICKY_STRINGS.len()].to_owned(),
                            1 => format!("{s}{s}"),
                            _ => s.chars().rev().collect(),
                        }
                    }
                    Value::Number(_) => *v = Value::from(TRICKY_INTEGERS[which % TRICKY_INTEGERS.len()]),
                    Value::Bool(b) => *b = !*b,
                    Value::Array(items) => {
                        if which % 2 == 0 && !items.is_empty() {
                            let first = items[0].clone();
                            items.push(first); // duplicate keys of list-maps, more workers, …
                        } else {
                            items.clear();
                        }
                    }
                    Value::Object(map) => map.clear(),
                    Value::Null => *v = Value::from(""),
                }
            }
        }
    }
}
