//! The `booster` binary: wiring of the operator and the offline commands.

fn main() {}
