//! # Plinth
//!
//! (architecture map: filled in as the engine lands)

pub mod config;
