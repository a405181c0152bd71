//! The shared contract suites: behaviour every implementation of a store role must have,
//! written once against the model's traits.
//!
//! The pattern is object_store's `integration.rs`: each check is a plain `async fn` taking the
//! store under test, and each backend's own tests call it with a store of its own, connected
//! to a real server in a namespace of the test's own. The `*_contract!` macros turn every
//! check into one `#[tokio::test]` of the calling crate, each with a fresh store from the
//! backend's setup function, so failures are reported check by check. Where a tier
//! legitimately differs (the legacy flat file deletes closed positions instead of marking
//! them), the backend declares that capability and the check asserts the declared behaviour
//! rather than skipping it.
//!
//! This crate depends only on the model: it must not know which backends exist.

/// A module with one `#[tokio::test]` per check of a role's suite; each test builds a fresh
/// store with `$setup` (an async fn returning `(guard, store, env)`) and runs the check.
/// Behind the role macros; not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ($module:ident, $setup:path, $role:ident, [$($check:ident),+ $(,)?]) => {
        mod $module {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let (_guard, store, env) = $setup().await;
                    $crate::$role::$check(&store, &env).await;
                }
            )+
        }
    };
}

pub mod accounts;
pub mod assets;
pub mod health;
pub mod klines;
pub mod migration_state;
pub mod positions;
mod sample;
pub mod strategies;
pub mod trades;
pub mod users;
mod warm_env;

pub use warm_env::{WarmEnv, start as warm_start};
