//! A JSON Schema of the stack language, generated from the provider schemas (`plinth
//! schema`), so editors with a TOML language server (taplo / Even Better TOML) complete and
//! check stack files: every resource type with its settable attributes (type, default,
//! description, whether a change forces a replacement, whether it is secret), the meta-arguments
//! and the stack's own sections. A stack file is one part of a stack, so nothing is required at
//! the top level; unknown keys are errors, as the loader makes them.
//!
//! Any value may also be an interpolation (`"${var.size}"`), so every typed leaf also accepts a
//! string holding `${`.

use serde_json::{json, Map, Value as Json};

use plinth_provider::{Attribute, AttributeMode, Schema, ValueType};

use crate::config::VAR_FILE_SUFFIX;

/// The draft taplo and most editors implement.
const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// A string that interpolates something (`"${var.x}"`), accepted wherever a value of another
/// type is expected.
fn interpolation() -> Json {
    json!({ "type": "string", "pattern": "\\$\\{" })
}

/// The schema of a value of `ty`.
fn value_schema(ty: &ValueType) -> Json {
    let typed = match ty {
        ValueType::String => return json!({ "type": "string" }),
        ValueType::Any => return json!({}),
        ValueType::Int => json!({ "type": "integer" }),
        ValueType::Float => json!({ "type": "number" }),
        ValueType::Bool => json!({ "type": "boolean" }),
        ValueType::List(inner) => json!({ "type": "array", "items": value_schema(inner) }),
        ValueType::Map(inner) => {
            json!({ "type": "object", "additionalProperties": value_schema(inner) })
        }
        ValueType::Object(fields) => object_schema(fields, Map::new()),
    };
    json!({ "anyOf": [typed, interpolation()] })
}

/// What an editor shows for an attribute: its description, then what the engine knows.
fn describe(attribute: &Attribute) -> String {
    let mut notes = vec![attribute.value_type.describe()];
    match attribute.mode {
        AttributeMode::Required => notes.push("required".into()),
        AttributeMode::OptionalComputed => {
            notes.push("optional; the cloud chooses otherwise".into())
        }
        _ => notes.push("optional".into()),
    }
    if attribute.force_new {
        notes.push("changing it replaces the resource".into());
    } else if !attribute.force_new_keys.is_empty() {
        notes.push(format!(
            "changing {} replaces the resource",
            attribute.force_new_keys.join(", ")
        ));
    }
    if attribute.sensitive {
        notes.push("secret: masked in plans and state".into());
    }
    if let Some(default) = &attribute.default {
        notes.push(format!("default {}", default.to_plain_json()));
    }
    let head = attribute.description.trim();
    if head.is_empty() {
        format!("({})", notes.join("; "))
    } else {
        format!("{head} ({})", notes.join("; "))
    }
}

/// An object with these fields (settable ones only), plus `extra` properties.
fn object_schema(fields: &[Attribute], extra: Map<String, Json>) -> Json {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields.iter().filter(|f| f.mode != AttributeMode::Computed) {
        let mut schema = value_schema(&field.value_type);
        if let Json::Object(map) = &mut schema {
            map.insert("description".into(), Json::String(describe(field)));
            if let Some(default) = &field.default {
                map.insert("default".into(), default.to_plain_json());
            }
        }
        properties.insert(field.name.clone(), schema);
        if field.mode == AttributeMode::Required {
            required.push(Json::String(field.name.clone()));
        }
    }
    properties.extend(extra);
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        schema["required"] = Json::Array(required);
    }
    schema
}

/// `count`, `depends_on`, `lifecycle` and `timeouts`, shared by every resource block.
fn meta_arguments() -> Map<String, Json> {
    let duration = json!({
        "type": "string",
        "description": "a duration: `90s`, `15m`, `1h 30m`, `250ms`",
    });
    let flag = json!({ "anyOf": [{ "type": "boolean" }, interpolation()] });
    let mut meta = Map::new();
    meta.insert(
        "count".into(),
        json!({
            "description": "How many instances (addresses `type.name[0]`, ...); may come from a variable.",
            "anyOf": [{ "type": "integer", "minimum": 0 }, interpolation()],
        }),
    );
    meta.insert(
        "for_each".into(),
        json!({
            "description": "One instance per key (addresses `type.name[\"key\"]`): a table (`each.value` is its value) or a list of strings; may come from a variable.",
            "anyOf": [{ "type": "object" }, { "type": "array", "items": { "type": "string" } }, interpolation()],
        }),
    );
    meta.insert(
        "depends_on".into(),
        json!({
            "description": "Addresses this resource waits for beyond its references.",
            "type": "array",
            "items": { "type": "string" },
        }),
    );
    meta.insert(
        "lifecycle".into(),
        json!({
            "type": "object",
            "description": "prevent_destroy, create_before_destroy, ignore_changes",
            "properties": {
                "prevent_destroy": flag,
                "create_before_destroy": flag,
                "ignore_changes": { "type": "array", "items": { "type": "string" } },
            },
            "additionalProperties": false,
        }),
    );
    meta.insert(
        "timeouts".into(),
        json!({
            "type": "object",
            "description": "How long create, update and delete may take.",
            "properties": { "create": duration, "update": duration, "delete": duration },
            "additionalProperties": false,
        }),
    );
    meta
}

/// The schema of one resource type's table: `[type.name]` blocks.
fn resource_type_schema(schema: &Schema) -> Json {
    let mut block = object_schema(&schema.attributes, meta_arguments());
    let mut notes = Vec::new();
    if schema.stateful {
        notes.push("holds data: replacing or destroying it loses data");
    }
    if schema.serves_traffic {
        notes.push("serves traffic");
    }
    let description = match notes.is_empty() {
        true => schema.description.clone(),
        false => format!("{} ({})", schema.description, notes.join("; ")),
    };
    block["description"] = Json::String(description.clone());
    json!({
        "type": "object",
        "description": description,
        "additionalProperties": block,
    })
}

/// The stack's own sections.
fn sections() -> Map<String, Json> {
    let mut out = Map::new();
    out.insert(
        "stack".into(),
        json!({
            "type": "object",
            "description": "The stack's name and environments.",
            "properties": {
                "name": { "type": "string", "minLength": 1 },
                "environments": { "type": "array", "items": { "type": "string" }, "minItems": 1 },
                "description": { "type": "string" },
            },
            "additionalProperties": false,
        }),
    );
    out.insert(
        "backend".into(),
        json!({
            "type": "object",
            "description": "Where state lives: `kind` and the backend's settings.",
            "properties": { "kind": { "enum": crate::config::BACKEND_KINDS } },
        }),
    );
    out.insert(
        "providers".into(),
        json!({
            "type": "object",
            "description": "Provider settings: `[providers.aws] region = ...`.",
            "additionalProperties": { "type": "object" },
        }),
    );
    out.insert(
        "variables".into(),
        json!({
            "type": "object",
            "description": "Inputs: `name = { default = ..., description = \"...\", <environment> = ... }` or a plain value.",
            "additionalProperties": {
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {
                            "default": {},
                            "description": { "type": "string" },
                            "type": { "enum": crate::config::VARIABLE_TYPES },
                        },
                    },
                    { "not": { "type": "object" } },
                ],
            },
        }),
    );
    out.insert(
        "secrets".into(),
        json!({
            "type": "object",
            "description": "Secret values: `{ from = \"env:NAME\" }`, `{ from = \"file:PATH\" }` or `{ generate = { length = 32 } }`.",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "from": { "type": "string", "pattern": "^(env|file):" },
                    "generate": {
                        "type": "object",
                        "properties": {
                            "length": { "type": "integer", "minimum": 1 },
                            "special": { "type": "boolean" },
                        },
                        "additionalProperties": false,
                    },
                },
                "additionalProperties": false,
                "minProperties": 1,
                "maxProperties": 1,
            },
        }),
    );
    out.insert(
        "outputs".into(),
        json!({
            "type": "object",
            "description": "Values printed after apply: `name = \"${...}\"` or `{ value = ..., sensitive = true, description = \"...\" }`.",
        }),
    );
    out.insert(
        "preconditions".into(),
        json!({
            "type": "object",
            "description": "Provider checks run at plan time: `[preconditions.<provider>]`.",
            "additionalProperties": { "type": "object" },
        }),
    );
    out.insert(
        "waivers".into(),
        json!({
            "type": "object",
            "description": "Accepted policy violations: `[waivers.<name>]` names the policy (a Rego package of `policies/`), the resource address, a reason and the last day it holds; shown in every plan.",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "policy": { "type": "string", "description": "The Rego package, without `data.` (e.g. `mita.encryption_at_rest`)." },
                    "address": { "type": "string", "description": "The resource (`aws_rds_instance.replica[0]`), or a block for all its instances." },
                    "reason": { "type": "string", "minLength": 1 },
                    "expires": { "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "The last day (UTC) the waiver holds; a TOML date or a string." },
                    "environments": { "type": "array", "items": { "type": "string" }, "description": "Only in these environments (default: all)." },
                },
                "required": ["policy", "address", "reason", "expires"],
                "additionalProperties": false,
            },
        }),
    );
    let key = "(\\[([0-9]+|\"([^\"\\\\]|\\\\.)*\")\\])?";
    let address = json!({
        "type": "string",
        "pattern": format!("^(module\\.[A-Za-z0-9_-]+{key}\\.)*([A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+|module\\.[A-Za-z0-9_-]+){key}$"),
    });
    out.insert(
        "module".into(),
        json!({
            "type": "object",
            "description": "`[module.NAME]`: a directory of stack files used as a block; its other keys are the module's variables. Outputs are `${module.NAME.OUTPUT}`.",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "source": { "type": "string", "description": "The module's directory, relative to this stack's (`../modules/NAME`)." },
                    "count": { "anyOf": [{ "type": "integer", "minimum": 0 }, interpolation()] },
                    "for_each": { "anyOf": [{ "type": "object" }, { "type": "array", "items": { "type": "string" } }, interpolation()] },
                    "depends_on": { "type": "array", "items": { "type": "string" } },
                },
                "required": ["source"],
            },
        }),
    );
    out.insert(
        "moved".into(),
        json!({
            "type": "array",
            "description": "`[[moved]]`: a recorded address renamed, with no destroy (a block moves every instance).",
            "items": {
                "type": "object",
                "properties": { "from": address, "to": address },
                "required": ["from", "to"],
                "additionalProperties": false,
            },
        }),
    );
    out.insert(
        "removed".into(),
        json!({
            "type": "array",
            "description": "`[[removed]]`: an address the stack no longer declares; `destroy = false` forgets it and leaves the object in the cloud.",
            "items": {
                "type": "object",
                "properties": { "from": address, "destroy": { "type": "boolean" } },
                "required": ["from"],
                "additionalProperties": false,
            },
        }),
    );
    out
}

/// The JSON Schema of a stack file for these resource schemas.
pub fn stack_schema<'a>(schemas: impl IntoIterator<Item = &'a Schema>) -> Json {
    let mut properties = sections();
    let mut data = serde_json::Map::new();
    for schema in schemas {
        match schema.type_name.strip_prefix(plinth_provider::DATA_PREFIX) {
            Some(source) => {
                data.insert(source.to_string(), resource_type_schema(schema));
            }
            None => {
                properties.insert(schema.type_name.clone(), resource_type_schema(schema));
            }
        }
    }
    if !data.is_empty() {
        properties.insert(
            "data".into(),
            json!({
                "description": "`[data.TYPE.NAME]`: lookups of what the stack does not own, read on every plan; refer to them as `${data.TYPE.NAME.ATTRIBUTE}`.",
                "type": "object",
                "properties": data,
                "additionalProperties": false,
            }),
        );
    }
    json!({
        "$schema": DRAFT,
        "$id": "https://plinth.dev/schemas/stack.json",
        "title": "Plinth stack file",
        "description": format!(
            "One `*.toml` file of a Plinth stack (not `*{VAR_FILE_SUFFIX}` variable files). Generated by `plinth schema`."
        ),
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_carry_type_default_force_new_and_secrecy() {
        let mut schema = Schema::new("sim_thing");
        schema.description = "A thing.".into();
        schema.stateful = true;
        let mut name = Attribute::required("name", ValueType::String);
        name.force_new = true;
        name.description = "Its name.".into();
        let mut size = Attribute::optional("size", ValueType::Int);
        size.default = Some(plinth_provider::Value::Int(2));
        let mut password = Attribute::optional("password", ValueType::String);
        password.sensitive = true;
        let arn = Attribute::computed("arn", ValueType::String);
        schema.attributes = vec![name, size, password, arn];
        let json = stack_schema([&schema]);
        let block = &json["properties"]["sim_thing"]["additionalProperties"];
        assert_eq!(block["required"], json!(["name"]));
        assert_eq!(block["additionalProperties"], json!(false));
        let name = block["properties"]["name"]["description"].as_str().unwrap();
        assert!(
            name.starts_with("Its name. (string; required; changing it replaces"),
            "{name}"
        );
        assert_eq!(block["properties"]["size"]["default"], json!(2));
        assert_eq!(
            block["properties"]["size"]["anyOf"][1]["pattern"],
            json!("\\$\\{"),
            "an interpolation is accepted for an integer"
        );
        let password = block["properties"]["password"]["description"]
            .as_str()
            .unwrap();
        assert!(password.contains("secret"), "{password}");
        assert!(
            block["properties"].get("arn").is_none(),
            "computed attributes are not settable"
        );
        assert!(block["properties"].get("count").is_some());
        let description = json["properties"]["sim_thing"]["description"]
            .as_str()
            .unwrap();
        assert!(description.contains("loses data"), "{description}");
    }
}
