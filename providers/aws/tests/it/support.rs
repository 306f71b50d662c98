//! Shared test support: one launcher-wrapped moto server per test binary, one fresh account
//! per test, providers configured with tiny waits and backoffs, and assertions.

use std::sync::{Arc, Mutex, OnceLock};

use plinth_aws::{AwsProvider, AwsSettings};
use plinth_provider::{
    AttributeMode, CallContext, Object, Progress, ProviderConfig, Resource, Schema, Value,
};
use plinth_testkit::moto::{Account, MotoServer, Network};

pub const REGION: &str = "us-east-1";

/// The moto server shared by the test processes (one per test under cargo-nextest).
pub fn moto() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(MotoServer::shared)
}

/// A test's own account and a provider talking to it.
pub struct Env {
    pub account: Account,
    pub provider: AwsProvider,
}

impl Env {
    /// A fresh account with default test settings.
    pub async fn new() -> Env {
        Env::with(|_| {}).await
    }

    /// A fresh account; `tweak` may change the provider settings.
    pub async fn with(tweak: impl FnOnce(&mut Object)) -> Env {
        let server = moto();
        let account = server.new_account();
        let mut settings = Object::new();
        settings.insert("region".into(), Value::string(REGION));
        settings.insert("endpoint_url".into(), Value::string(server.endpoint()));
        settings.insert(
            "access_key_id".into(),
            Value::string(account.access_key_id()),
        );
        settings.insert(
            "secret_access_key".into(),
            Value::string(account.secret_access_key()),
        );
        settings.insert("poll_interval_ms".into(), Value::Int(20));
        settings.insert("retry_initial_backoff_ms".into(), Value::Int(10));
        settings.insert("max_attempts".into(), Value::Int(4));
        tweak(&mut settings);
        let config = ProviderConfig {
            settings,
            ..ProviderConfig::default()
        };
        let settings = AwsSettings::from_config(&config).expect("settings");
        let provider = AwsProvider::new(&settings).await.expect("provider");
        Env { account, provider }
    }

    pub fn resource(&self, type_name: &str) -> Arc<dyn Resource> {
        use plinth_provider::Provider;
        self.provider
            .resource(type_name)
            .unwrap_or_else(|| panic!("no resource type {type_name}"))
    }

    pub fn network(&self) -> Network {
        moto().seed_network(&self.account, REGION)
    }

    /// Calls per `service:Action` in this account so far.
    pub fn calls(&self, key: &str) -> u64 {
        moto()
            .call_counts(&self.account)
            .get(key)
            .copied()
            .unwrap_or(0)
    }
}

/// Progress lines recorded for assertions.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<String>>);

impl Progress for Recorder {
    fn update(&self, message: &str) {
        self.0.lock().unwrap().push(message.to_string());
    }
}

impl Recorder {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

pub fn ctx<'a>(progress: &'a Recorder) -> CallContext<'a> {
    CallContext {
        address: "test.resource",
        token: "token-1",
        progress,
        timeout: None,
    }
}

/// Builds an object from `(key, value)` pairs.
pub fn obj(pairs: Vec<(&str, Value)>) -> Object {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

pub fn s(text: &str) -> Value {
    Value::string(text)
}

pub fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| Value::string(*i)).collect())
}

pub fn strings(items: &[String]) -> Value {
    Value::List(items.iter().map(|i| Value::string(i.clone())).collect())
}

/// Every attribute of `desired` reads back the same from `actual` (a no-op plan).
#[track_caller]
pub fn assert_inputs(desired: &Object, actual: &Object) {
    for (key, want) in desired {
        let got = actual.get(key).unwrap_or(&Value::Null);
        assert!(
            want.same_as(got, ""),
            "attribute `{key}`: desired {want:?}, read back {got:?}\nall: {actual:#?}"
        );
    }
}

/// What the engine plans as a no-op: every input the user wrote reads back the same, and every
/// optional input the user left out reads back as its default or null (optional_computed ones
/// may hold whatever AWS chose).
#[track_caller]
pub fn assert_no_op(schema: &Schema, desired: &Object, actual: &Object) {
    assert_inputs(desired, actual);
    for attribute in schema.attributes.iter().filter(|a| a.is_input()) {
        if desired.contains_key(&attribute.name)
            || attribute.mode == AttributeMode::OptionalComputed
        {
            continue;
        }
        let want = attribute.default.clone().unwrap_or(Value::Null);
        let got = actual.get(&attribute.name).unwrap_or(&Value::Null);
        assert!(
            want.same_as(got, ""),
            "unset attribute `{}` reads back {got:?}, not {want:?}",
            attribute.name
        );
    }
}

/// `desired` with some attributes replaced.
pub fn with(desired: &Object, changes: Vec<(&str, Value)>) -> (Object, Vec<String>) {
    let mut out = desired.clone();
    let mut changed = Vec::new();
    for (k, v) in changes {
        out.insert(k.to_string(), v);
        changed.push(k.to_string());
    }
    (out, changed)
}

/// Runs the conformance cycle: create → read (no-op) → update in place → read (no-op) →
/// delete → read gone. Returns nothing; panics with the difference on any failure.
pub async fn conformance(env: &Env, type_name: &str, desired: Object, changes: Vec<(&str, Value)>) {
    let resource = env.resource(type_name);
    let rec = Recorder::default();
    let cx = ctx(&rec);
    let created = resource.create(&cx, &desired).await.expect("create");
    assert_inputs(&desired, &created.attributes);
    for attribute in resource
        .schema()
        .attributes
        .iter()
        .filter(|a| !a.is_input())
    {
        assert!(
            created.attributes.contains_key(&attribute.name),
            "computed `{}` missing",
            attribute.name
        );
    }
    let live = resource
        .read(&cx, &created.id, &created.attributes)
        .await
        .expect("read")
        .expect("exists");
    assert_no_op(resource.schema(), &desired, &live);
    let (updated, changed) = with(&desired, changes);
    let after = resource
        .update(&cx, &created.id, &live, &updated, &changed)
        .await
        .expect("update");
    assert_inputs(&updated, &after);
    let live = resource
        .read(&cx, &created.id, &after)
        .await
        .expect("read")
        .expect("exists");
    assert_no_op(resource.schema(), &updated, &live);
    resource
        .delete(&cx, &created.id, &after)
        .await
        .expect("delete");
    assert!(
        resource
            .read(&cx, &created.id, &after)
            .await
            .expect("read after delete")
            .is_none(),
        "still there"
    );
    // Deleting what is gone is fine.
    resource
        .delete(&cx, &created.id, &after)
        .await
        .expect("second delete");
}
