//! The shared contract suites: behaviour every implementation of a store role must have,
//! written once against the model's traits.
//!
//! The pattern is object_store's `integration.rs`: each suite is a plain `async fn` taking the
//! store under test, and each backend's own tests call it with a store of its own, connected
//! to a real server in a namespace of the test's own. A suite panics on the first broken
//! promise, naming it. Where a tier legitimately differs (e.g. the legacy flat file deletes
//! closed positions instead of marking them), the backend declares that capability to the
//! suite rather than skipping the check.
//!
//! This crate depends only on the model: it must not know which backends exist.

pub mod health;
