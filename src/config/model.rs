//! The validated, typed stack: what the loader produces from the TOML files and what the
//! rest of the engine consumes. Nothing downstream of `config` sees raw TOML.
//!
//! Variables, `${env}` and `${count.index}` are resolved at load time. References to other
//! resources and to secrets stay symbolic ([`Expr::Ref`], [`Part::Secret`]) because their
//! values are known only during plan or apply.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use plinth_provider::Value;

pub use super::address::{selects, Address, InstanceKey, ModulePath, ModuleStep};

/// A loaded stack for one environment.
#[derive(Clone, Debug)]
pub struct Stack {
    /// `[stack] name`.
    pub name: String,
    /// The stack directory.
    pub dir: PathBuf,
    /// `[stack] environments`.
    pub environments: Vec<String>,
    /// The environment selected for this run.
    pub environment: String,
    /// `[backend]` (defaults to `kind = "local"`).
    pub backend: BackendConfig,
    /// `[providers.<name>]` tables, resolved.
    pub providers: BTreeMap<String, ProviderBlock>,
    /// Variables with their values for this environment.
    pub variables: BTreeMap<String, Value>,
    /// `[secrets]` declarations.
    pub secrets: BTreeMap<String, SecretDecl>,
    /// Resources after `count` expansion, in file order.
    pub resources: Vec<ResourceConfig>,
    /// `[data.TYPE.NAME]` lookups (addresses `data.TYPE.NAME`), read during plan.
    pub data: Vec<ResourceConfig>,
    /// `[outputs]`.
    pub outputs: BTreeMap<String, OutputConfig>,
    /// `[requirements]`-style checks a provider runs at plan time, keyed by provider name.
    pub preconditions: BTreeMap<String, BTreeMap<String, Value>>,
    /// `[waivers.<name>]`: accepted policy violations, for this environment.
    pub waivers: Vec<Waiver>,
    /// `[[moved]]` blocks.
    pub moved: Vec<Moved>,
    /// `[[removed]]` blocks.
    pub removed: Vec<Removed>,
    /// Source text of every file, for diagnostics.
    pub sources: Arc<SourceMap>,
    /// A hash of every file's bytes (binds saved plans to the config).
    pub config_hash: String,
}

/// `[backend]`.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendConfig {
    /// `local`, `s3` or `postgres`.
    pub kind: String,
    /// The other keys, resolved (`${env}` and environment variables expanded).
    pub settings: BTreeMap<String, Value>,
    /// Where it was written, when it was.
    pub origin: Option<Origin>,
}

/// `[providers.<name>]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderBlock {
    /// Resolved settings.
    pub settings: BTreeMap<String, Value>,
    /// Where it was written.
    pub origin: Option<Origin>,
}

/// One `[secrets]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretDecl {
    /// Secret name.
    pub name: String,
    /// Where the value comes from.
    pub source: SecretSource,
    /// Where it was declared.
    pub origin: Origin,
}

/// Where a secret's value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum SecretSource {
    /// `from = "env:NAME"`.
    Env(String),
    /// `from = "file:PATH"` (relative to the stack directory).
    File(PathBuf),
    /// `generate = { length = N, special = bool }`: created once, kept in state.
    Generate {
        /// Length in characters.
        length: usize,
        /// Include punctuation.
        special: bool,
    },
}

/// One resource instance (after `count` expansion).
#[derive(Clone, Debug)]
pub struct ResourceConfig {
    /// Its address.
    pub address: Address,
    /// Input attributes (meta-arguments removed), as expressions.
    pub attributes: BTreeMap<String, Expr>,
    /// Explicit `depends_on` entries: block addresses (`type.name`, all instances) or instances.
    pub depends_on: Vec<(Address, Origin)>,
    /// `lifecycle = { ... }`.
    pub lifecycle: Lifecycle,
    /// `timeouts = { create = "40m", update = "80m", delete = "40m" }` in seconds.
    pub timeouts: Timeouts,
    /// The `[type.name]` header.
    pub origin: Origin,
}

/// `lifecycle = { prevent_destroy, create_before_destroy, ignore_changes }`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lifecycle {
    /// Refuse any plan that deletes or replaces this resource.
    pub prevent_destroy: bool,
    /// Replace by creating the new resource first.
    pub create_before_destroy: bool,
    /// Attributes whose differences are ignored after creation.
    pub ignore_changes: Vec<String>,
}

/// Operation timeouts in seconds (None: the provider's default).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timeouts {
    /// Create.
    pub create: Option<u64>,
    /// Update.
    pub update: Option<u64>,
    /// Delete.
    pub delete: Option<u64>,
}

/// `[waivers.<name>]`: one accepted violation of a policy (`policies/*.rego`), with a reason
/// and an expiry date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    /// The waiver's name (the table key).
    pub name: String,
    /// The policy: a Rego package under `policies/` without `data.` (`mita.encryption`).
    pub policy: String,
    /// The resource (`aws_rds_instance.replica[0]`), or a block for all its instances.
    pub address: String,
    /// Why the violation is accepted (shown in every plan).
    pub reason: String,
    /// The last day (UTC, `YYYY-MM-DD`) the waiver holds.
    pub expires: String,
}

/// `[[moved]] from = "TYPE.NAME" to = "TYPE.OTHER"`: what the state records at `from` is
/// now `to` (a rename, not a destroy and a create). A block address moves every instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// The old address (`aws_s3_bucket.logs`, `sim_resource.a[1]`).
    pub from: String,
    /// The new one, declared in the stack.
    pub to: String,
    /// The `[[moved]]` table.
    pub origin: Origin,
}

/// `[[removed]] from = "TYPE.NAME"` (`destroy = false`): the object leaves the stack and the
/// state but stays in the cloud (Terraform's `removed` with `lifecycle { destroy = false }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    /// The address forgotten (a block address: every instance).
    pub from: String,
    /// The `[[removed]]` table.
    pub origin: Origin,
}

/// `[outputs] name = "${...}"` or `name = { value = "...", sensitive = true }`.
#[derive(Clone, Debug)]
pub struct OutputConfig {
    /// The value.
    pub value: Expr,
    /// Mask it in output.
    pub sensitive: bool,
    /// Where it was declared.
    pub origin: Origin,
}

/// An attribute value that may still refer to resources or secrets.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Fully known at load time.
    Literal(Value),
    /// A string made of text and interpolations, e.g. `"rediss://${aws_x.y.endpoint}:6379"`.
    Template(Vec<Part>),
    /// A string that is exactly one reference, `"${aws_x.y.port}"`: keeps the referenced type.
    Ref(Reference),
    /// A string that is exactly one secret, `"${secret.db_password}"`.
    Secret(SecretRef),
    /// A list of expressions.
    List(Vec<Expr>),
    /// A table of expressions.
    Map(BTreeMap<String, Expr>),
}

impl Expr {
    /// Every resource reference inside.
    pub fn references(&self) -> Vec<&Reference> {
        let mut out = Vec::new();
        self.collect_references(&mut out);
        out
    }

    fn collect_references<'a>(&'a self, out: &mut Vec<&'a Reference>) {
        match self {
            Expr::Ref(r) => out.push(r),
            Expr::Template(parts) => {
                for part in parts {
                    if let Part::Ref(r) = part {
                        out.push(r);
                    }
                }
            }
            Expr::List(items) => items.iter().for_each(|e| e.collect_references(out)),
            Expr::Map(map) => map.values().for_each(|e| e.collect_references(out)),
            Expr::Literal(_) | Expr::Secret(_) => {}
        }
    }

    /// Every secret used inside.
    pub fn secrets(&self) -> Vec<&SecretRef> {
        let mut out = Vec::new();
        self.collect_secrets(&mut out);
        out
    }

    fn collect_secrets<'a>(&'a self, out: &mut Vec<&'a SecretRef>) {
        match self {
            Expr::Secret(s) => out.push(s),
            Expr::Template(parts) => {
                for part in parts {
                    if let Part::Secret(s) = part {
                        out.push(s);
                    }
                }
            }
            Expr::List(items) => items.iter().for_each(|e| e.collect_secrets(out)),
            Expr::Map(map) => map.values().for_each(|e| e.collect_secrets(out)),
            Expr::Literal(_) | Expr::Ref(_) => {}
        }
    }
}

/// A piece of a [`Expr::Template`].
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// `${type.name.attr}`.
    Ref(Reference),
    /// `${secret.name}`.
    Secret(SecretRef),
}

/// `${type.name[.i].attr.sub}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// The referenced resource instance. `index: None` on a counted resource is a load error.
    pub target: Address,
    /// The attribute and any nested keys, e.g. `["endpoint"]` or `["tags", "Name"]`.
    pub path: Vec<String>,
    /// Where the reference is written.
    pub origin: Origin,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.target, self.path.join("."))
    }
}

/// `${secret.name}`.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretRef {
    /// Secret name (declared in `[secrets]`).
    pub name: String,
    /// Where it is written.
    pub origin: Origin,
}

/// A place in a stack file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Index into [`SourceMap::files`].
    pub file: usize,
    /// Byte span.
    pub span: SourceSpan,
}

/// The files of a stack, for diagnostics.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    /// `(path shown to the user, contents)`.
    pub files: Vec<(String, Arc<String>)>,
}

impl SourceMap {
    /// A miette source for a file.
    pub fn named_source(&self, file: usize) -> NamedSource<Arc<String>> {
        let (name, text) = &self.files[file];
        NamedSource::new(name.clone(), Arc::clone(text))
    }

    /// `path:line:column` of an origin.
    pub fn locate(&self, origin: Origin) -> String {
        let (name, text) = &self.files[origin.file];
        let offset = origin.span.offset().min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = offset - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        format!("{name}:{line}:{column}")
    }
}

/// Options that shape loading.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--env` (or `PLINTH_ENV`); may be None when the stack has one environment.
    pub environment: Option<String>,
    /// `--var NAME=VALUE`, in command-line order (later wins).
    pub vars: Vec<(String, String)>,
    /// `--var-file FILE` (TOML `name = value`), in order (later wins; `--var` beats them).
    pub var_files: Vec<PathBuf>,
    /// Upper bounds on what the stack may ask for (`--max-resources`, ...).
    pub limits: super::limits::Limits,
    /// Load a module directory on its own (`plinth validate modules/app-tier`): variables
    /// without a value are unknown instead of missing.
    pub as_module: bool,
}
