//! Offline validation of a ModelBooster (spec §3): the OpenAPI constraints of the CRD schema, its CEL rules
//! (V-rules) and the render-time R-rules, with the API server's paths and messages.
//!
//! [`validate`] checks one object, [`validate_update`] the transition rules of an update. Both collect every
//! error; the order is that of spec §3.1: OpenAPI constraint errors in document order, then V-rules by number,
//! then R-rules by number, and within a rule by ascending index. Inputs are decoded objects, so the CRD defaults
//! are applied and enums, types and required fields already hold. Pure: no I/O, never panics.

pub mod duration;
mod error;
mod openapi;
pub(crate) mod patterns;
mod render_rules;
pub(crate) mod rules;
mod update;
mod wording;

use booster_api::ModelBooster;

pub use error::{FieldError, ValidationErrors};

/// Checks `m` against every OpenAPI constraint of spec §2, every V-rule except V-40, and every R-rule.
pub fn validate(m: &ModelBooster) -> Result<(), ValidationErrors> {
    let mut errors = Vec::new();
    openapi::check(m, &mut errors);
    rules::check(m, &mut errors);
    render_rules::check(m, &mut errors);
    result(errors)
}

/// Checks the transition rules (V-40) of the update `old` → `new`; `new` itself is checked by [`validate`].
pub fn validate_update(old: &ModelBooster, new: &ModelBooster) -> Result<(), ValidationErrors> {
    let mut errors = Vec::new();
    update::check(old, new, &mut errors);
    result(errors)
}

fn result(errors: Vec<FieldError>) -> Result<(), ValidationErrors> {
    if errors.is_empty() { Ok(()) } else { Err(ValidationErrors(errors)) }
}
