//! Stack configuration: TOML files → validated [`Stack`].
//!
//! Two stages, as cargo does with `cargo-util-schemas` → `Manifest`:
//!
//! 1. `raw` parses every `*.toml` file of the stack directory with `toml`'s spanned parser into
//!    an owned tree where every key and value knows its file and byte span; `document` sorts
//!    the files' tables into sections and resource blocks, rejecting double definitions.
//! 2. Lowering resolves the environment and variables (`variables`), the sections
//!    (`sections`), `count` and resource attributes against the provider schemas
//!    (`resources`, `meta`), and `${...}` interpolations (`interpolate`, `expr`), producing the
//!    typed [`Stack`] of `model`.
//!
//! Every problem found on the way is collected into [`Diagnostics`] (see `diagnostics`), so a
//! single `plinth validate` reports all of them with file, span, code and hint.

mod address;
mod diagnostics;
mod document;
mod expr;
mod files;
mod functions;
mod instantiate;
mod interpolate;
pub mod limits;
mod load;
mod meta;
pub mod model;
#[cfg(test)]
mod module_tests;
mod modules;
mod moves;
mod raw;
mod references;
mod resources;
mod secrets;
mod sections;
#[cfg(test)]
mod tests;
mod variables;

pub(crate) use diagnostics::listing;
pub use diagnostics::{Diagnostics, Problem};
pub use limits::Limits;
pub use load::{declared_environments, is_module_directory, load, load_with_env, VAR_FILE_SUFFIX};
pub use model::*;
pub(crate) use raw::parse_file;
pub(crate) use sections::BACKEND_KINDS;
pub(crate) use variables::VARIABLE_TYPES;
