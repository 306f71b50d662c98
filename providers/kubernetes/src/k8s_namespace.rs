//! `k8s_namespace`: a Namespace.
//!
//! ```toml
//! [k8s_namespace.mita]
//! name = "mita-${env}"
//! labels = { team = "mita" }
//! ```

use plinth_provider::{Attribute, Schema, ValueType};

use crate::typed::{Field, Plain, TypedKind};

const FIELDS: &[Field] = &[
    Field {
        attribute: "name",
        pointer: "/metadata/name",
    },
    Field {
        attribute: "labels",
        pointer: "/metadata/labels",
    },
    Field {
        attribute: "annotations",
        pointer: "/metadata/annotations",
    },
];

/// The `k8s_namespace` kind.
pub fn kind() -> TypedKind {
    TypedKind {
        api_version: "v1",
        kind: "Namespace",
        schema: Schema::new("k8s_namespace")
            .describe("A Kubernetes namespace.")
            .attribute(Attribute::required("name", ValueType::String).force_new())
            .attribute(Attribute::optional("labels", ValueType::string_map()))
            .attribute(Attribute::optional("annotations", ValueType::string_map()))
            .attribute(Attribute::computed("uid", ValueType::String))
            .attribute(Attribute::computed("resource_version", ValueType::String))
            .stateful(),
        fields: FIELDS,
        codec: Plain,
    }
}
