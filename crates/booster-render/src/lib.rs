//! Pure function from a ModelBooster (plus operator settings) to its child objects or validation errors.
