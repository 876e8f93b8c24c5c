//! Render and validate of each reference conversion input (`../shared/reference/kthena-v0.1.0/convert/input/`).
//!
//! A benchmark, not a timed test: it measures and reports, it asserts nothing about time. Decoding happens once,
//! outside the timed loops. Run with `cargo bench -p booster-render`.

use std::hint::black_box;
use std::path::PathBuf;

use booster_api::ModelBooster;
use booster_render::{Settings, render, validate};
use criterion::{Criterion, criterion_group, criterion_main};

const INPUTS: [&str; 4] = ["model", "multi-backends-model", "multi-lora-model", "pd-disaggregated-model"];

fn input(name: &str) -> ModelBooster {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/kthena-v0.1.0/convert/input")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut boosters =
        booster_api::strict::decode_all::<ModelBooster>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(boosters.len(), 1, "{}: one document", path.display());
    boosters.remove(0)
}

fn benches(c: &mut Criterion) {
    let settings = Settings::default();
    let inputs: Vec<(&str, ModelBooster)> = INPUTS.iter().map(|&name| (name, input(name))).collect();

    let mut group = c.benchmark_group("render");
    for (name, m) in &inputs {
        // The conformance inputs fail validation on purpose (spec §6.4); render must not need it (§4.1).
        render(m, &settings).unwrap_or_else(|e| panic!("{name}: render failed: {e}"));
        group.bench_function(*name, |b| b.iter(|| render(black_box(m), black_box(&settings))));
    }
    group.finish();

    let mut group = c.benchmark_group("validate");
    for (name, m) in &inputs {
        group.bench_function(*name, |b| b.iter(|| validate(black_box(m))));
    }
    group.finish();
}

criterion_group!(render_benches, benches);
criterion_main!(render_benches);
