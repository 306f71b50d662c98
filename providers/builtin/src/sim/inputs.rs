//! The `sim_resource` schema and its inputs: what a user writes, checked and converted into
//! what the simulated cloud stores, plus the knobs (latency, failure injection) read from it.

use plinth_provider::{Attribute, CallContext, Object, ProviderError, Schema, Value, ValueType};
use serde_json::{Map, Value as Json};

/// The resource type name.
pub const SIM_TYPE: &str = "sim_resource";

/// The schema of `sim_resource`.
pub fn sim_schema() -> Schema {
    let knob = |name: &str, text: &str| {
        Attribute::optional(name, ValueType::Int)
            .default(0)
            .describe(text)
    };
    Schema::new(SIM_TYPE)
        .describe("A simulated cloud resource for tests and benchmarks (see `[providers.sim]`).")
        .attribute(
            Attribute::required("name", ValueType::String)
                .force_new()
                .describe("Unique name in the cloud."),
        )
        .attribute(
            Attribute::optional("size", ValueType::Int).describe("A number, updatable in place."),
        )
        .attribute(
            Attribute::optional("tags", ValueType::string_map())
                .describe("Tags, updatable in place."),
        )
        .attribute(
            Attribute::optional("payload", ValueType::Any)
                .describe("Any value, updatable in place."),
        )
        .attribute(
            Attribute::optional("zone", ValueType::String)
                .force_new()
                .describe("Placement; changing it replaces."),
        )
        .attribute(knob(
            "create_ms",
            "Simulated create latency in milliseconds.",
        ))
        .attribute(knob(
            "update_ms",
            "Simulated update latency in milliseconds.",
        ))
        .attribute(knob(
            "delete_ms",
            "Simulated delete latency in milliseconds.",
        ))
        .attribute(knob(
            "read_ms",
            "Simulated read latency in milliseconds (once per batched page).",
        ))
        .attribute(
            Attribute::optional("fail_create", ValueType::Int)
                .describe("The Nth create call of this resource fails."),
        )
        .attribute(
            Attribute::optional("fail_update", ValueType::Int)
                .describe("The Nth update call of this resource fails."),
        )
        .attribute(
            Attribute::optional("fail_delete", ValueType::Int)
                .describe("The Nth delete call of this resource fails (as recorded in state)."),
        )
        .attribute(
            Attribute::optional("fail_mode", ValueType::String)
                .default("permanent")
                .describe("`permanent` or `retryable` (injected failures the engine may retry)."),
        )
        .attribute(Attribute::computed("id", ValueType::String).describe("Cloud id."))
        .attribute(
            Attribute::computed("arn", ValueType::String)
                .describe("`arn:sim:<zone>:resource/<name>`."),
        )
        .attribute(
            Attribute::computed("created_at", ValueType::Int)
                .describe("The cloud's clock at creation."),
        )
        .attribute(
            Attribute::computed("generation", ValueType::Int)
                .describe("1 at creation, +1 per update."),
        )
}

/// How an injected failure fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// An API error the engine does not retry.
    Permanent,
    /// A transient error: the engine's retry succeeds.
    Retryable,
}

impl FailMode {
    /// `permanent` or `retryable`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "permanent" => Some(FailMode::Permanent),
            "retryable" => Some(FailMode::Retryable),
            _ => None,
        }
    }
}

/// The input attributes of a create or update, checked and converted for the cloud.
#[derive(Debug)]
pub struct Inputs {
    /// Every input attribute that is set, as the cloud stores it.
    pub attributes: Map<String, Json>,
    /// The unique name.
    pub name: String,
    /// `fail_create`, when set to N ≥ 1.
    pub fail_create: Option<u64>,
    /// `fail_update`, when set to N ≥ 1.
    pub fail_update: Option<u64>,
    /// `fail_mode`.
    pub fail_mode: FailMode,
}

impl Inputs {
    /// Checks `desired` and converts it for the cloud.
    pub fn parse(
        schema: &Schema,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Self, ProviderError> {
        let invalid = |message: String| {
            ProviderError::api(
                "InvalidParameterValue",
                format!("{}: {message}", ctx.address),
            )
        };
        let mut attributes = Map::new();
        for attribute in schema.attributes.iter().filter(|a| a.is_input()) {
            let Some(value) = desired.get(&attribute.name).filter(|v| !v.is_null()) else {
                continue;
            };
            let value = value.reveal();
            // The cloud stores numbers as numbers, however they were written.
            let value = match attribute.value_type {
                ValueType::Int => Value::Int(value.as_i64().ok_or_else(|| {
                    invalid(format!(
                        "`{}` must be a whole number, found {value}",
                        attribute.name
                    ))
                })?),
                _ => value,
            };
            attributes.insert(attribute.name.clone(), value.to_plain_json());
        }
        let name = match attributes.get("name").and_then(Json::as_str) {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => {
                return Err(ProviderError::api(
                    "MissingParameter",
                    format!("{}: `name` is required", ctx.address),
                ))
            }
        };
        let fail_mode = match attributes.get("fail_mode").and_then(Json::as_str) {
            None => FailMode::Permanent,
            Some(text) => FailMode::parse(text).ok_or_else(|| {
                invalid(format!(
                    "`fail_mode` must be `permanent` or `retryable`, found `{text}`"
                ))
            })?,
        };
        let nth = |key: &str| {
            attributes
                .get(key)
                .and_then(Json::as_u64)
                .filter(|n| *n > 0)
        };
        Ok(Inputs {
            fail_create: nth("fail_create"),
            fail_update: nth("fail_update"),
            fail_mode,
            name,
            attributes,
        })
    }
}

/// A latency knob from desired or recorded attributes (0 when unset).
pub fn knob(attributes: &Object, name: &str) -> i64 {
    attributes.get(name).and_then(Value::as_i64).unwrap_or(0)
}

/// The error of an injected failure.
pub fn injected(mode: FailMode, call: &str, n: u64, name: &str) -> ProviderError {
    let message = format!("injected failure of {call} call {n} of `{name}` (`fail_{call} = {n}`)");
    match mode {
        FailMode::Permanent => ProviderError::api("InjectedFailure", message),
        FailMode::Retryable => ProviderError::retryable("InjectedFailure", message),
    }
}

#[cfg(test)]
mod tests {
    use plinth_provider::NoProgress;

    use super::*;

    fn parse(pairs: &[(&str, Value)]) -> Result<Inputs, ProviderError> {
        let desired: Object = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let ctx = CallContext {
            address: "sim_resource.x",
            token: "t",
            progress: &NoProgress,
            timeout: None,
        };
        Inputs::parse(&sim_schema(), &ctx, &desired)
    }

    #[test]
    fn inputs_are_normalised_and_computed_ones_dropped() {
        let inputs = parse(&[
            ("name", Value::string("a").sensitive()),
            ("size", Value::string("7")),
            ("payload", Value::Null),
            ("arn", Value::string("forged")),
            ("fail_create", Value::Int(0)),
            ("fail_update", Value::Int(3)),
        ])
        .unwrap();
        assert_eq!(inputs.name, "a");
        assert_eq!(inputs.attributes["size"], Json::from(7));
        assert!(
            !inputs.attributes.contains_key("payload") && !inputs.attributes.contains_key("arn")
        );
        assert_eq!((inputs.fail_create, inputs.fail_update), (None, Some(3)));
        assert_eq!(inputs.fail_mode, FailMode::Permanent);
    }

    #[test]
    fn bad_inputs_are_refused_with_api_codes() {
        let err = parse(&[("size", Value::Int(1))]).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("MissingParameter"));
        let err =
            parse(&[("name", Value::string("a")), ("size", Value::string("big"))]).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("InvalidParameterValue"));
        assert!(
            err.message.contains("`size` must be a whole number"),
            "{}",
            err.message
        );
    }

    #[test]
    fn injected_failures_follow_the_mode() {
        assert!(injected(FailMode::Retryable, "create", 1, "a").is_retryable());
        let err = injected(FailMode::Permanent, "update", 2, "a");
        assert!(!err.is_retryable());
        assert_eq!(
            err.message,
            "injected failure of update call 2 of `a` (`fail_update = 2`)"
        );
    }
}
