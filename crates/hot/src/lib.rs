//! tierstore's hot tier: per-account position state in Redis.
//!
//! This crate owns the Redis connection (auto-reconnecting, with a bounded timeout so an
//! unreachable server is an `Unavailable` error within the timeout, never a hang), the key
//! schema under a configurable namespace, and the server-side scripts that make position
//! updates atomic. It implements the model's store traits for the roles Redis holds; it knows
//! nothing of files, SQL or ClickHouse, and never calls another tier.

pub mod codec;
mod config;
mod conn;
mod error;
pub mod keys;
mod positions;
pub mod scripts;
mod store;

pub use codec::Epoch;
pub use config::HotConfig;
pub use store::{HotStore, NamespaceStatus, Rehydration};
