//! The policy gate: Rego policies in a stack's `policies/` directory, evaluated on the plan's
//! Terraform-format JSON (`plinth plan --format terraform-json`, the document `terraform show
//! -json` writes) during `plan` and again before `apply` changes anything.
//!
//! A policy is a Rego package. Its rules named `deny`, `violation` (and `deny_*`,
//! `violation_*`) fail the plan; `warn` (and `warn_*`) are shown. A result is a message
//! string (conftest's convention) or an object `{"msg", "address", "attribute"}` that names
//! the resource and the attribute. `[waivers.<name>]` in the stack accepts one policy's
//! violation on one address until an expiry date, with a reason; every plan shows it.

mod rego;
pub mod waivers;

use foldhash::{HashMap, HashMapExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Stack;
use crate::plan::Plan;

pub use rego::PolicySet;

/// The directory of a stack that holds its policies.
pub const POLICY_DIR: &str = "policies";

/// How a finding counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Fails the plan (unless waived).
    Deny,
    /// Shown, never fails.
    Warn,
}

impl Severity {
    /// The severity of a rule by its name (`deny`, `deny_tls`, `violation`, `warn_size`, ...);
    /// None for any other rule (helpers, constants).
    pub fn of_rule(rule: &str) -> Option<Severity> {
        let head = rule.split('_').next().unwrap_or(rule);
        match head {
            "deny" | "violation" => Some(Severity::Deny),
            "warn" => Some(Severity::Warn),
            _ => None,
        }
    }
}

/// One result of a policy rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The policy (Rego package, without `data.`).
    pub policy: String,
    /// The rule that produced it (`deny`, `warn_tls`, ...).
    pub rule: String,
    /// How it counts.
    pub severity: Severity,
    /// The Plinth address of the resource, when the policy named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The attribute, when the policy named one (in the policy's vocabulary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// The policy's message.
    pub message: String,
    /// The waiver that accepts it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverUse>,
}

/// A waiver, as shown beside the finding it accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverUse {
    /// `[waivers.<name>]`.
    pub name: String,
    /// Why the violation is accepted.
    pub reason: String,
    /// The last day it holds.
    pub expires: String,
}

/// What the policy gate found for one plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReport {
    /// Where the policies were read (as shown to the user).
    pub dir: String,
    /// The policies evaluated (package names), sorted.
    pub policies: Vec<String>,
    /// Every finding, deny first, then by policy and address.
    pub findings: Vec<Finding>,
    /// Waivers that did not waive anything, with why (expired, matches nothing).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl PolicyReport {
    /// The findings that fail the plan: `deny` and not waived.
    pub fn denials(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Deny && f.waiver.is_none())
    }

    /// True when nothing fails the plan.
    pub fn passed(&self) -> bool {
        self.denials().next().is_none()
    }

    /// Counts: (denied, warnings, waived).
    pub fn counts(&self) -> (usize, usize, usize) {
        let denied = self.denials().count();
        let warned = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warn && f.waiver.is_none())
            .count();
        let waived = self.findings.iter().filter(|f| f.waiver.is_some()).count();
        (denied, warned, waived)
    }
}

impl Plan {
    /// True when the policy gate fails this plan.
    pub fn policy_denied(&self) -> bool {
        self.policy.as_ref().is_some_and(|p| !p.passed())
    }
}

/// Runs the stack's policies on `plan` (None when the stack has no `policies/` directory or
/// the plan is refresh-only). A policy that does not parse, or fails while evaluating, is an
/// error with its file and line.
pub fn check(stack: &Stack, plan: &Plan) -> miette::Result<Option<PolicyReport>> {
    if plan.refresh_only {
        return Ok(None);
    }
    let dir = stack.dir.join(POLICY_DIR);
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut set = PolicySet::load(&dir)?;
    let input = crate::render::terraform_json::terraform_plan_json(plan);
    let partial = is_partial(stack, plan);
    let context = Context {
        stack: &stack.name,
        environment: &stack.environment,
        partial,
    };
    let raw = set.evaluate(&input, &context)?;
    let addresses = address_map(plan);
    let findings = raw
        .into_iter()
        .map(|r| r.into_finding(&addresses))
        .collect();
    let today = today_utc();
    let (findings, mut notes) = waivers::apply(findings, &stack.waivers, &today);
    if partial {
        notes.insert(
            0,
            "a targeted plan: the policies saw only the resources it contains (`data.plinth.partial` is true)"
                .to_string(),
        );
    }
    Ok(Some(PolicyReport {
        dir: display_dir(&dir),
        policies: set.policies().to_vec(),
        findings,
        notes,
    }))
}

/// What policies see besides the plan, as `data.plinth`.
pub struct Context<'a> {
    /// The stack's name.
    pub stack: &'a str,
    /// The environment planned.
    pub environment: &'a str,
    /// The plan leaves configured resources out (`--target`): a rule about the whole stack
    /// ("a NetworkPolicy exists") cannot be decided on it.
    pub partial: bool,
}

/// True when a configured resource is not in the plan (a `--target` plan). A destroy plan
/// holds every recorded resource and is not partial.
pub fn is_partial(stack: &Stack, plan: &Plan) -> bool {
    if plan.destroy {
        return false;
    }
    let planned: foldhash::HashSet<&str> =
        plan.changes.iter().map(|c| c.address.as_str()).collect();
    stack
        .resources
        .iter()
        .any(|r| !planned.contains(r.address.to_string().as_str()))
}

/// Terraform-format addresses (`aws_db_instance.primary`) and Plinth's own, to Plinth's.
fn address_map(plan: &Plan) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for change in &plan.changes {
        let tf = crate::render::terraform_json::tf_address(&change.type_name, &change.address);
        map.insert(tf, change.address.clone());
        map.insert(change.address.clone(), change.address.clone());
    }
    map
}

fn display_dir(dir: &Path) -> String {
    dir.display().to_string()
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.chars().take(10).collect()
}

/// A result as the Rego rule gave it, before addresses are mapped and waivers applied.
#[derive(Clone, Debug, PartialEq)]
pub struct RawFinding {
    /// Package without `data.`.
    pub policy: String,
    /// Rule name.
    pub rule: String,
    /// Severity of the rule.
    pub severity: Severity,
    /// The rule's value: a string or an object.
    pub value: serde_json::Value,
}

impl RawFinding {
    /// The finding this result describes: `msg`/`message` (or the string itself), `address`
    /// (or `resource`), `attribute`. A result with no address whose message contains an
    /// address of the plan is attributed to it (conftest policies write
    /// `sprintf("%s: ...", [rc.address])`).
    pub fn into_finding(self, addresses: &HashMap<String, String>) -> Finding {
        let field = |keys: &[&str]| -> Option<String> {
            keys.iter().find_map(|k| match self.value.get(*k) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
        };
        let message = match &self.value {
            serde_json::Value::String(s) => s.clone(),
            _ => field(&["msg", "message"]).unwrap_or_else(|| self.value.to_string()),
        };
        let named = field(&["address", "resource"]);
        let address = match named {
            Some(a) => Some(addresses.get(&a).cloned().unwrap_or(a)),
            None => mentioned_address(&message, addresses),
        };
        Finding {
            attribute: field(&["attribute", "attr"]),
            policy: self.policy,
            rule: self.rule,
            severity: self.severity,
            address,
            message,
            waiver: None,
        }
    }
}

/// The longest address of the plan that the message mentions as a whole word.
fn mentioned_address(message: &str, addresses: &HashMap<String, String>) -> Option<String> {
    addresses
        .iter()
        .filter(|(written, _)| {
            message.match_indices(written.as_str()).any(|(at, _)| {
                let after = message[at + written.len()..].chars().next();
                let before = message[..at].chars().next_back();
                let boundary = |c: Option<char>| {
                    c.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '['))
                };
                boundary(before) && boundary(after)
            })
        })
        .max_by_key(|(written, _)| written.len())
        .map(|(_, plinth)| plinth.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: serde_json::Value) -> RawFinding {
        RawFinding {
            policy: "mita.encryption".into(),
            rule: "deny".into(),
            severity: Severity::Deny,
            value,
        }
    }

    fn addresses() -> HashMap<String, String> {
        [
            (
                "aws_db_instance.primary".to_string(),
                "aws_rds_instance.primary".to_string(),
            ),
            (
                "aws_rds_instance.primary".to_string(),
                "aws_rds_instance.primary".to_string(),
            ),
            (
                "aws_db_instance.primary_replica[0]".to_string(),
                "aws_rds_instance.primary_replica[0]".to_string(),
            ),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn severity_comes_from_the_rule_name() {
        assert_eq!(Severity::of_rule("deny"), Some(Severity::Deny));
        assert_eq!(Severity::of_rule("deny_tls"), Some(Severity::Deny));
        assert_eq!(Severity::of_rule("violation"), Some(Severity::Deny));
        assert_eq!(Severity::of_rule("warn_size"), Some(Severity::Warn));
        assert_eq!(Severity::of_rule("denylist"), None);
        assert_eq!(Severity::of_rule("is_production"), None);
    }

    #[test]
    fn an_object_result_names_address_and_attribute_in_plinth_terms() {
        let f = raw(
            json!({"msg": "not encrypted", "address": "aws_db_instance.primary",
                           "attribute": "storage_encrypted"}),
        )
        .into_finding(&addresses());
        assert_eq!(f.address.as_deref(), Some("aws_rds_instance.primary"));
        assert_eq!(f.attribute.as_deref(), Some("storage_encrypted"));
        assert_eq!(f.message, "not encrypted");
    }

    #[test]
    fn a_string_result_is_attributed_to_the_longest_address_it_mentions() {
        let f = raw(json!(
            "aws_db_instance.primary_replica[0]: storage not encrypted"
        ))
        .into_finding(&addresses());
        assert_eq!(
            f.address.as_deref(),
            Some("aws_rds_instance.primary_replica[0]")
        );
        let f = raw(json!("aws_db_instance.primary is public")).into_finding(&addresses());
        assert_eq!(f.address.as_deref(), Some("aws_rds_instance.primary"));
        let f = raw(json!("no resource here")).into_finding(&addresses());
        assert_eq!(f.address, None);
        assert_eq!(f.attribute, None);
    }

    #[test]
    fn a_report_fails_only_on_unwaived_denials() {
        let finding = raw(json!("x")).into_finding(&addresses());
        let mut report = PolicyReport {
            findings: vec![finding.clone()],
            ..PolicyReport::default()
        };
        assert!(!report.passed());
        report.findings[0].waiver = Some(WaiverUse {
            name: "w".into(),
            reason: "r".into(),
            expires: "2999-01-01".into(),
        });
        assert!(report.passed());
        assert_eq!(report.counts(), (0, 0, 1));
        let mut warn = finding;
        warn.severity = Severity::Warn;
        report.findings.push(warn);
        assert!(report.passed());
        assert_eq!(report.counts(), (0, 1, 1));
    }
}
