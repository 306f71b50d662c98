//! `k8s_secret`: a Secret whose `data` is sensitive: never printed, planned by digest,
//! base64-encoded on the way to the API and decoded on the way back.
//!
//! ```toml
//! [k8s_secret.app]
//! name = "mita-production-secrets"
//! namespace = "${k8s_namespace.mita.name}"
//! data = { jwt-secret = "${secret.jwt_secret}", secret-key = "${secret.secret_key}" }
//! ```

use k8s_openapi::ByteString;
use plinth_provider::{Attribute, Schema, ValueType};
use serde_json::Value as Json;

use crate::error::KubeError;
use crate::typed::{Codec, Field, TypedKind};

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
        attribute: "type",
        pointer: "/type",
    },
    Field {
        attribute: "data",
        pointer: "/data",
    },
];

/// Base64 for the `data` map.
pub struct SecretData;

impl Codec for SecretData {
    fn encode(&self, attribute: &str, value: Json) -> Result<Json, KubeError> {
        if attribute != "data" {
            return Ok(value);
        }
        let Json::Object(map) = value else {
            return Err(KubeError::Invalid(
                "`data` of a k8s_secret must be a table of strings".into(),
            ));
        };
        map.into_iter()
            .map(|(key, value)| {
                let text = match value {
                    Json::String(s) => s,
                    other => other.to_string(),
                };
                let encoded = serde_json::to_value(ByteString(text.into_bytes()))
                    .map_err(|e| KubeError::Invalid(e.to_string()))?;
                Ok((key, encoded))
            })
            .collect::<Result<serde_json::Map<_, _>, KubeError>>()
            .map(Json::Object)
    }

    fn decode(&self, attribute: &str, value: &Json) -> Json {
        match (attribute, value) {
            ("data", Json::Object(map)) => Json::Object(
                map.iter()
                    .map(|(key, encoded)| {
                        let decoded = serde_json::from_value::<ByteString>(encoded.clone())
                            .map(|bytes| {
                                Json::String(String::from_utf8_lossy(&bytes.0).into_owned())
                            })
                            .unwrap_or_else(|_| encoded.clone());
                        (key.clone(), decoded)
                    })
                    .collect(),
            ),
            _ => value.clone(),
        }
    }
}

/// The `k8s_secret` kind.
pub fn kind() -> TypedKind<SecretData> {
    TypedKind {
        api_version: "v1",
        kind: "Secret",
        schema: Schema::new("k8s_secret")
            .describe(
                "A Kubernetes Secret; `data` is sensitive (shown and stored only as a digest).",
            )
            .attribute(Attribute::required("name", ValueType::String).force_new())
            .attribute(Attribute::required("namespace", ValueType::String).force_new())
            .attribute(Attribute::optional("labels", ValueType::string_map()))
            .attribute(Attribute::optional("type", ValueType::String).default("Opaque"))
            .attribute(Attribute::required("data", ValueType::string_map()).sensitive())
            .attribute(Attribute::computed("uid", ValueType::String))
            .attribute(Attribute::computed("resource_version", ValueType::String)),
        fields: FIELDS,
        codec: SecretData,
    }
}
