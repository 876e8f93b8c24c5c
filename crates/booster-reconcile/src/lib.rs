//! One reconcile pass of a ModelBooster: apply, prune and status over a small cluster client trait.
