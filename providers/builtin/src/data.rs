//! `plinth_data`: a value that lives only in state, like Terraform's `terraform_data`.
//!
//! It stores `input` and echoes it as the computed `output` once applied; changing
//! `triggers_replace` replaces it (new `id`). It performs no I/O at all, so a stack of ten
//! thousand of them applies in milliseconds of provider time.

use std::sync::Arc;

use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, Provider, ProviderConfig, ProviderError,
    ProviderFactory, Resource, Schema, Value, ValueType,
};
use rand::Rng;

/// The resource type name.
pub const DATA_TYPE: &str = "plinth_data";

/// The `builtin` provider: offers `plinth_data`. Needs no configuration.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinFactory;

/// The schema of `plinth_data`.
pub fn data_schema() -> Schema {
    Schema::new(DATA_TYPE)
        .describe("A value kept in state; `output` echoes `input` after apply.")
        .attribute(Attribute::optional("input", ValueType::Any).describe("Any value to store."))
        .attribute(
            Attribute::optional("triggers_replace", ValueType::Any)
                .force_new()
                .describe("Any value; when it changes the resource is replaced."),
        )
        .attribute(
            Attribute::computed("output", ValueType::Any).describe("`input` as of the last apply."),
        )
        .attribute(Attribute::computed("id", ValueType::String).describe("A random identifier."))
}

#[async_trait]
impl ProviderFactory for BuiltinFactory {
    fn name(&self) -> &'static str {
        "builtin"
    }

    fn schemas(&self) -> Vec<Schema> {
        vec![data_schema()]
    }

    async fn configure(
        &self,
        _config: &ProviderConfig,
    ) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(BuiltinProvider {
            data: Arc::new(DataResource {
                schema: data_schema(),
            }),
        }))
    }
}

/// The configured `builtin` provider.
struct BuiltinProvider {
    data: Arc<DataResource>,
}

impl Provider for BuiltinProvider {
    fn resource(&self, type_name: &str) -> Option<Arc<dyn Resource>> {
        (type_name == DATA_TYPE).then(|| self.data.clone() as Arc<dyn Resource>)
    }
}

/// The implementation of `plinth_data`.
struct DataResource {
    schema: Schema,
}

/// A random identifier shaped like a version-4 UUID.
fn random_id() -> String {
    let bits: u128 = rand::rng().random();
    // Version 4 (bits 76..80) and variant `10` (bits 62..64), as in RFC 9562.
    let version_mask: u128 = 0xF << 76;
    let variant_mask: u128 = 0x3 << 62;
    let bits = (bits & !version_mask & !variant_mask) | (0x4 << 76) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The attributes after an apply: the inputs as given, `output` = `input`, and `id`.
fn applied(desired: &Object, id: String) -> Object {
    let mut attributes = Object::new();
    for name in ["input", "triggers_replace"] {
        if let Some(value) = desired.get(name) {
            attributes.insert(name.to_string(), value.clone());
        }
    }
    attributes.insert(
        "output".to_string(),
        desired.get("input").cloned().unwrap_or(Value::Null),
    );
    attributes.insert("id".to_string(), Value::String(id));
    attributes
}

#[async_trait]
impl Resource for DataResource {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let id = random_id();
        Ok(Created {
            id: id.clone(),
            attributes: applied(desired, id),
        })
    }

    /// Nothing exists outside state: the recorded attributes are the live ones.
    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        _id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(Some(prior.clone()))
    }

    async fn update(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        _changed: &[String],
    ) -> Result<Object, ProviderError> {
        Ok(applied(desired, id.to_string()))
    }

    async fn delete(
        &self,
        _ctx: &CallContext<'_>,
        _id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    /// A value in state cannot be imported: there is nothing outside state to read.
    async fn import(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        Err(ProviderError::unsupported(format!(
            "`{DATA_TYPE}` lives only in state; `{id}` cannot be imported (declare it in the stack instead)"
        )))
    }

    /// A create makes nothing outside state, so after a crash there is nothing to find.
    async fn recover(
        &self,
        _ctx: &CallContext<'_>,
        _desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        Ok(None)
    }

    /// `output` will equal `input`: show it in the plan when `input` is fully known.
    async fn refine_plan(
        &self,
        _ctx: &CallContext<'_>,
        _prior: Option<&Object>,
        planned: &mut Object,
    ) -> Result<(), ProviderError> {
        let input = planned.get("input").cloned().unwrap_or(Value::Null);
        if !input.has_unknown() {
            planned.insert("output".to_string(), input);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use plinth_provider::{ErrorKind, NoProgress};

    use super::*;

    fn ctx() -> CallContext<'static> {
        CallContext {
            address: "plinth_data.x",
            token: "t-1",
            progress: &NoProgress,
            timeout: None,
        }
    }

    fn object(pairs: &[(&str, Value)]) -> Object {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    async fn resource() -> Arc<dyn Resource> {
        let provider = BuiltinFactory
            .configure(&ProviderConfig::default())
            .await
            .unwrap();
        assert!(provider.resource("sim_resource").is_none());
        provider.resource(DATA_TYPE).unwrap()
    }

    #[test]
    fn ids_look_like_version_4_uuids_and_differ() {
        let (a, b) = (random_id(), random_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_eq!(a.matches('-').count(), 4);
    }

    #[tokio::test]
    async fn create_read_update_delete_round_trip() {
        let data = resource().await;
        let ctx = ctx();
        let desired = object(&[
            ("input", Value::string("v1")),
            ("triggers_replace", Value::Int(1)),
        ]);
        let created = data.create(&ctx, &desired).await.unwrap();
        assert_eq!(created.attributes["output"], Value::string("v1"));
        assert_eq!(created.attributes["triggers_replace"], Value::Int(1));
        assert_eq!(created.attributes["id"], Value::String(created.id.clone()));

        let read = data
            .read(&ctx, &created.id, &created.attributes)
            .await
            .unwrap();
        assert_eq!(read, Some(created.attributes.clone()));

        let desired = object(&[("input", Value::List(vec![Value::Int(1), Value::Bool(true)]))]);
        let updated = data
            .update(
                &ctx,
                &created.id,
                &created.attributes,
                &desired,
                &["input".into()],
            )
            .await
            .unwrap();
        assert_eq!(
            updated["output"],
            Value::List(vec![Value::Int(1), Value::Bool(true)])
        );
        assert_eq!(updated["id"], Value::String(created.id.clone()));
        assert!(!updated.contains_key("triggers_replace"));

        data.delete(&ctx, &created.id, &updated).await.unwrap();
        assert_eq!(data.recover(&ctx, &desired).await.unwrap(), None);
        assert_eq!(
            data.import(&ctx, &created.id).await.unwrap_err().kind,
            ErrorKind::Unsupported
        );
    }

    #[tokio::test]
    async fn create_without_input_outputs_null() {
        let created = resource()
            .await
            .create(&ctx(), &Object::new())
            .await
            .unwrap();
        assert_eq!(created.attributes["output"], Value::Null);
        assert!(!created.attributes.contains_key("input"));
    }

    #[tokio::test]
    async fn plan_shows_output_only_when_input_is_known() {
        let data = resource().await;
        let mut planned = object(&[("input", Value::string("x")), ("output", Value::Unknown)]);
        data.refine_plan(&ctx(), None, &mut planned).await.unwrap();
        assert_eq!(planned["output"], Value::string("x"));

        let mut map = Object::new();
        map.insert("a".into(), Value::Unknown);
        let mut planned = object(&[("input", Value::Map(map)), ("output", Value::Unknown)]);
        let prior = object(&[("output", Value::string("old"))]);
        data.refine_plan(&ctx(), Some(&prior), &mut planned)
            .await
            .unwrap();
        assert_eq!(planned["output"], Value::Unknown);
    }

    #[test]
    fn schema_marks_triggers_as_forcing_replacement() {
        let schema = BuiltinFactory.schemas().remove(0);
        assert!(schema.get("triggers_replace").unwrap().force_new);
        assert!(!schema.get("input").unwrap().force_new);
        assert!(!schema.get("output").unwrap().is_input());
        assert_eq!(BuiltinFactory.name(), "builtin");
    }

    #[tokio::test]
    async fn ten_thousand_creates_take_well_under_a_second() {
        let data = resource().await;
        let ctx = ctx();
        let desired = object(&[("input", Value::string("payload"))]);
        let started = Instant::now();
        for _ in 0..10_000 {
            let created = data.create(&ctx, &desired).await.unwrap();
            assert_eq!(created.id.len(), 36);
        }
        let elapsed = started.elapsed();
        assert!(elapsed.as_millis() < 500, "10,000 creates took {elapsed:?}");
    }
}
