//! Stack configuration: TOML files → validated [`Stack`].

pub mod model;

pub use model::*;
