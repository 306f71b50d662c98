//! The thin typed conveniences (`k8s_namespace`, `k8s_secret`, `k8s_config_map`,
//! `k8s_network_policy`): each maps attributes to JSON pointers of one object kind.

use plinth_provider::{Object, Schema, Value};
use serde_json::Value as Json;

use crate::error::KubeError;
use crate::manifest::{project, set_pointer, to_json};
use crate::object_resource::ObjectKind;

/// One attribute stored at a JSON pointer of the object.
pub struct Field {
    /// Attribute name.
    pub attribute: &'static str,
    /// Where it lives, e.g. `/metadata/labels`.
    pub pointer: &'static str,
}

/// Encodes or decodes a field on its way to or from the API (e.g. base64 for Secret data).
pub trait Codec: Send + Sync + 'static {
    /// Attribute value → API JSON.
    fn encode(&self, attribute: &str, value: Json) -> Result<Json, KubeError>;
    /// API JSON → attribute value.
    fn decode(&self, attribute: &str, value: &Json) -> Json;
}

/// Passes values through unchanged.
pub struct Plain;

impl Codec for Plain {
    fn encode(&self, _attribute: &str, value: Json) -> Result<Json, KubeError> {
        Ok(value)
    }
    fn decode(&self, _attribute: &str, value: &Json) -> Json {
        value.clone()
    }
}

/// A typed kind: fixed apiVersion/kind, a schema, and its field table.
pub struct TypedKind<C: Codec = Plain> {
    /// e.g. `v1`.
    pub api_version: &'static str,
    /// e.g. `Namespace`.
    pub kind: &'static str,
    /// The schema.
    pub schema: Schema,
    /// Attribute ↔ pointer table.
    pub fields: &'static [Field],
    /// Value encoding.
    pub codec: C,
}

impl<C: Codec> ObjectKind for TypedKind<C> {
    fn schema(&self) -> Schema {
        self.schema.clone()
    }

    fn manifest(&self, desired: &Object) -> Result<Json, KubeError> {
        let mut manifest = serde_json::json!({"apiVersion": self.api_version, "kind": self.kind});
        for field in self.fields {
            let value = desired
                .get(field.attribute)
                .map(to_json)
                .unwrap_or(Json::Null);
            if !value.is_null() {
                set_pointer(
                    &mut manifest,
                    field.pointer,
                    self.codec.encode(field.attribute, value)?,
                );
            }
        }
        Ok(manifest)
    }

    fn read_back(&self, live: &Json, prior: &Object) -> Object {
        let mut attributes = Object::new();
        for field in self.fields {
            let Some(found) = live.pointer(field.pointer) else {
                continue;
            };
            let decoded = self.codec.decode(field.attribute, found);
            let value = match prior.get(field.attribute) {
                Some(shape) => project(&decoded, shape),
                None => Value::from_json(&decoded),
            };
            let sensitive = self
                .schema
                .get(field.attribute)
                .is_some_and(|a| a.sensitive);
            attributes.insert(
                field.attribute.to_string(),
                if sensitive { value.sensitive() } else { value },
            );
        }
        attributes
    }

    fn force(&self, _desired: &Object) -> bool {
        false
    }
}
