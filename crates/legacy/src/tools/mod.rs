//! Tools over the format layer: [`inspect`] (what a migration would read, every error by
//! line) and [`synth`] (a realistic dataset written through the same renderers the store uses).

pub mod inspect;
pub mod synth;
