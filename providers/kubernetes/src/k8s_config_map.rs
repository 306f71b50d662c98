//! `k8s_config_map`: a ConfigMap of plain strings.
//!
//! ```toml
//! [k8s_config_map.settings]
//! name = "mita-settings"
//! namespace = "${k8s_namespace.mita.name}"
//! data = { ENVIRONMENT = "production", LOG_LEVEL = "INFO" }
//! ```

use plinth_provider::{Attribute, Schema, ValueType};

use crate::typed::{Field, Plain, TypedKind};

const FIELDS: &[Field] = &[
    Field {
        attribute: "name",
        pointer: "/metadata/name",
    },
    Field {
        attribute: "namespace",
        pointer: "/metadata/namespace",
    },
    Field {
        attribute: "labels",
        pointer: "/metadata/labels",
    },
    Field {
        attribute: "data",
        pointer: "/data",
    },
];

/// The `k8s_config_map` kind.
pub fn kind() -> TypedKind {
    TypedKind {
        api_version: "v1",
        kind: "ConfigMap",
        schema: Schema::new("k8s_config_map")
            .describe("A Kubernetes ConfigMap.")
            .attribute(Attribute::required("name", ValueType::String).force_new())
            .attribute(Attribute::required("namespace", ValueType::String).force_new())
            .attribute(Attribute::optional("labels", ValueType::string_map()))
            .attribute(Attribute::optional("data", ValueType::string_map()))
            .attribute(Attribute::computed("uid", ValueType::String))
            .attribute(Attribute::computed("resource_version", ValueType::String)),
        fields: FIELDS,
        codec: Plain,
    }
}
