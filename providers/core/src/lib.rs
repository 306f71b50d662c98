//! # plinth-provider: the provider contract
//!
//! Everything a Plinth provider implements, and nothing that does I/O:
//!
//! - [`Value`] / [`Object`]: attribute values with known, unknown ("known after apply") and
//!   sensitive leaves; sensitive leaves persist only as salted digests.
//! - [`Schema`] / [`Attribute`]: required / optional / computed attributes, `force_new`,
//!   `sensitive`, and whether a type holds data or serves traffic (for risk tags).
//! - [`ProviderFactory`] (schemas + lazy configuration) → [`Provider`] → one [`Resource`] per
//!   resource type with create / read / batched read / update / delete / import / recover.
//!
//! Providers never touch state and never decide actions: the engine diffs, chooses
//! create / update / replace / delete, and calls the resource.
//!
//! ```
//! use plinth_provider::{Attribute, Schema, ValueType};
//! let schema = Schema::new("aws_s3_bucket")
//!     .attribute(Attribute::required("bucket", ValueType::String).force_new())
//!     .attribute(Attribute::computed("arn", ValueType::String))
//!     .stateful();
//! assert!(schema.get("bucket").unwrap().force_new);
//! ```

mod error;
mod provider;
mod schema;
mod value;

pub use error::{ErrorKind, ProviderError};
pub use provider::{
    CallContext, Created, DataRequest, DataSource, NoProgress, Progress, Provider, ProviderConfig,
    ProviderFactory, ProviderLimits, ReadItem, Resource, DATA_PREFIX,
};
pub use schema::{Attribute, AttributeMode, Schema, TypeMismatch, ValueType};
pub use value::{object_from_json, object_to_persisted_json, Object, Value, REDACTED_KEY};

/// Re-exported so providers implement the async traits with the same macro.
pub use async_trait::async_trait;
