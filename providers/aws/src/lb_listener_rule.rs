//! `aws_lb_listener_rule`: a routing rule on a listener, matching host headers and/or path
//! patterns, with a forward or redirect action:
//!
//! ```toml
//! conditions = { host_header = ["api.mita.finance"], path_pattern = ["/v1/*"] }
//! action     = { type = "forward", target_group_arn = "${aws_lb_target_group.app.arn}" }
//! ```

use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{
    HostHeaderConditionConfig, PathPatternConditionConfig, Rule, RuleCondition, RulePriorityPair,
};
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_string};
use crate::clients::Clients;
use crate::errors::{absent_on, map_sdk};
use crate::lb_common::{
    action_type, action_value, desired_action, read_by_arn, read_many_by_arn, ReadByArn,
};

const NOT_FOUND: [&str; 2] = ["RuleNotFound", "ListenerNotFound"];

/// The schema of `aws_lb_listener_rule`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_lb_listener_rule")
        .describe("A listener rule.")
        .attribute(A::required("listener_arn", T::String).force_new())
        .attribute(A::required("priority", T::Int))
        .attribute(A::required(
            "conditions",
            T::Object(vec![
                A::optional("host_header", T::string_list()),
                A::optional("path_pattern", T::string_list()),
            ]),
        ))
        .attribute(A::required("action", action_type()))
        .attribute(A::computed("arn", T::String))
}

/// The `aws_lb_listener_rule` implementation.
pub struct ListenerRule {
    clients: Arc<Clients>,
    schema: Schema,
}

impl ListenerRule {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        ListenerRule {
            clients,
            schema: schema(),
        }
    }
}

fn conditions_to_aws(desired: &Object) -> Vec<RuleCondition> {
    let table = attrs::table(desired, "conditions")
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    if let Some(hosts) = attrs::strings(&table, "host_header") {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(hosts))
                        .build(),
                )
                .build(),
        );
    }
    if let Some(paths) = attrs::strings(&table, "path_pattern") {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(paths))
                        .build(),
                )
                .build(),
        );
    }
    out
}

/// The live rule as attributes (the listener ARN is not in the API's answer: kept from prior).
pub fn to_object(rule: &Rule, prior: &Object) -> Object {
    let mut conditions = Object::new();
    for c in rule.conditions() {
        let (key, values) = match c.field() {
            Some("host-header") => (
                "host_header",
                c.host_header_config()
                    .map(|h| h.values().to_vec())
                    .unwrap_or_else(|| c.values().to_vec()),
            ),
            Some("path-pattern") => (
                "path_pattern",
                c.path_pattern_config()
                    .map(|p| p.values().to_vec())
                    .unwrap_or_else(|| c.values().to_vec()),
            ),
            _ => continue,
        };
        conditions.insert(key.into(), attrs::string_list(values, false));
    }
    let mut o = Object::new();
    let listener =
        attrs::string(prior, "listener_arn").or_else(|| rule.rule_arn().and_then(listener_of_rule));
    o.insert(
        "listener_arn".into(),
        listener.map(Value::String).unwrap_or(Value::Null),
    );
    o.insert(
        "priority".into(),
        rule.priority()
            .and_then(|p| p.parse().ok())
            .map(Value::Int)
            .unwrap_or(Value::Null),
    );
    o.insert("conditions".into(), Value::Map(conditions));
    o.insert(
        "action".into(),
        action_value(rule.actions(), prior, "action"),
    );
    o.insert("arn".into(), opt_string(rule.rule_arn()));
    o
}

/// The listener ARN inside a rule ARN:
/// `…:listener-rule/app/NAME/LB/LISTENER/RULE` → `…:listener/app/NAME/LB/LISTENER`.
fn listener_of_rule(rule_arn: &str) -> Option<String> {
    let (prefix, _rule) = rule_arn.rsplit_once('/')?;
    prefix
        .contains(":listener-rule/")
        .then(|| prefix.replacen(":listener-rule/", ":listener/", 1))
}

#[async_trait]
impl ReadByArn for ListenerRule {
    type Live = Rule;

    async fn describe(&self, arns: &[String]) -> Result<Option<Vec<Rule>>, ProviderError> {
        let result = self
            .clients
            .elbv2
            .describe_rules()
            .set_rule_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| map_sdk("DescribeRules", e));
        Ok(absent_on(result, &NOT_FOUND)?.map(|o| o.rules().to_vec()))
    }

    fn arn(live: &Rule) -> Option<&str> {
        live.rule_arn()
    }

    fn to_object(live: &Rule, prior: &Object) -> Object {
        to_object(live, prior)
    }
}

#[async_trait]
impl Resource for ListenerRule {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let d = desired;
        let out = self
            .clients
            .elbv2
            .create_rule()
            .listener_arn(attrs::required(d, "listener_arn")?)
            .set_priority(attrs::int32(d, "priority"))
            .set_conditions(Some(conditions_to_aws(d)))
            .actions(desired_action(d, "action")?)
            .send()
            .await
            .map_err(|e| map_sdk("CreateRule", e))?;
        let rule = out
            .rules()
            .first()
            .cloned()
            .ok_or_else(|| ProviderError::not_found("no rule returned"))?;
        Ok(Created {
            id: rule.rule_arn().unwrap_or_default().to_string(),
            attributes: to_object(&rule, d),
        })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        read_by_arn(self, id, prior).await
    }

    fn batches_reads(&self) -> bool {
        true
    }

    async fn read_many(
        &self,
        _ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        read_many_by_arn(self, items).await
    }

    async fn update(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError> {
        let elbv2 = &self.clients.elbv2;
        if changed.iter().any(|c| c == "priority") {
            let pair = RulePriorityPair::builder()
                .rule_arn(id)
                .set_priority(attrs::int32(desired, "priority"))
                .build();
            elbv2
                .set_rule_priorities()
                .rule_priorities(pair)
                .send()
                .await
                .map_err(|e| map_sdk("SetRulePriorities", e))?;
        }
        if changed.iter().any(|c| c == "conditions" || c == "action") {
            elbv2
                .modify_rule()
                .rule_arn(id)
                .set_conditions(Some(conditions_to_aws(desired)))
                .actions(desired_action(desired, "action")?)
                .send()
                .await
                .map_err(|e| map_sdk("ModifyRule", e))?;
        }
        self.read(ctx, id, desired)
            .await?
            .ok_or_else(|| ProviderError::not_found(format!("rule `{id}` is gone")))
    }

    async fn delete(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        let result = self
            .clients
            .elbv2
            .delete_rule()
            .rule_arn(id)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteRule", e));
        absent_on(result, &NOT_FOUND).map(|_| ())
    }

    async fn recover(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let listener = attrs::required(desired, "listener_arn")?;
        let priority = attrs::int(desired, "priority").map(|p| p.to_string());
        let result = self
            .clients
            .elbv2
            .describe_rules()
            .listener_arn(listener)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeRules", e));
        let Some(found) = absent_on(result, &NOT_FOUND)? else {
            return Ok(None);
        };
        Ok(found
            .rules()
            .iter()
            .find(|r| r.priority().map(str::to_string) == priority)
            .map(|r| Created {
                id: r.rule_arn().unwrap_or_default().to_string(),
                attributes: to_object(r, desired),
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_rules_know_their_listener() {
        let rule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
        assert_eq!(
            listener_of_rule(rule).as_deref(),
            Some("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2")
        );
        assert_eq!(listener_of_rule("arn:aws:other"), None);
    }
}
