//! `k8s_network_policy`: a NetworkPolicy.
//!
//! ```toml
//! [k8s_network_policy.default_deny]
//! name = "default-deny-ingress"
//! namespace = "${k8s_namespace.mita.name}"
//! pod_selector = {}
//! policy_types = ["Ingress"]
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
        attribute: "pod_selector",
        pointer: "/spec/podSelector/matchLabels",
    },
    Field {
        attribute: "policy_types",
        pointer: "/spec/policyTypes",
    },
    Field {
        attribute: "ingress",
        pointer: "/spec/ingress",
    },
    Field {
        attribute: "egress",
        pointer: "/spec/egress",
    },
];

/// The `k8s_network_policy` kind.
pub fn kind() -> TypedKind {
    TypedKind {
        api_version: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        schema: Schema::new("k8s_network_policy")
            .describe("A Kubernetes NetworkPolicy. `ingress`/`egress` take the API's rule tables as written in YAML.")
            .attribute(Attribute::required("name", ValueType::String).force_new())
            .attribute(Attribute::required("namespace", ValueType::String).force_new())
            .attribute(Attribute::optional("labels", ValueType::string_map()))
            .attribute(Attribute::optional("pod_selector", ValueType::string_map()).describe("matchLabels; {} selects every pod"))
            .attribute(Attribute::optional("policy_types", ValueType::string_list()))
            .attribute(Attribute::optional("ingress", ValueType::List(Box::new(ValueType::Any))))
            .attribute(Attribute::optional("egress", ValueType::List(Box::new(ValueType::Any))))
            .attribute(Attribute::computed("uid", ValueType::String))
            .attribute(Attribute::computed("resource_version", ValueType::String)),
        fields: FIELDS,
        codec: Plain,
    }
}
