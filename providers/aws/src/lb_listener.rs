//! `aws_lb_listener`: a port on a load balancer with its default action (forward, redirect
//! or fixed response), certificate and TLS policy.
//!
//! Refresh calls `DescribeListeners` with up to 20 listener ARNs at a time (listeners can only
//! be listed per load balancer or by ARN).

use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{Certificate, Listener as AwsListener, ProtocolEnum};
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, ValueType,
};

use crate::attrs::{self, opt_int, opt_string};
use crate::clients::Clients;
use crate::errors::{absent_on, map_sdk};
use crate::lb_common::{
    action_type, action_value, desired_action, read_by_arn, read_many_by_arn, ReadByArn,
};

const NOT_FOUND: [&str; 2] = ["ListenerNotFound", "LoadBalancerNotFound"];

/// The schema of `aws_lb_listener`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_lb_listener")
        .describe("A load balancer listener.")
        .attribute(A::required("load_balancer_arn", T::String).force_new())
        .attribute(A::required("port", T::Int))
        .attribute(A::optional("protocol", T::String).default("HTTP"))
        .attribute(A::optional("certificate_arn", T::String))
        .attribute(A::optional_computed("ssl_policy", T::String))
        .attribute(A::required("default_action", action_type()))
        .attribute(A::computed("arn", T::String))
        .serves_traffic()
}

/// The `aws_lb_listener` implementation.
pub struct Listener {
    clients: Arc<Clients>,
    schema: Schema,
}

impl Listener {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        Listener {
            clients,
            schema: schema(),
        }
    }

    async fn describe_one(&self, arn: &str) -> Result<Option<AwsListener>, ProviderError> {
        Ok(self
            .describe(&[arn.to_string()])
            .await?
            .and_then(|l| l.into_iter().next()))
    }
}

/// The live listener as attributes.
pub fn to_object(l: &AwsListener, prior: &Object) -> Object {
    let mut o = Object::new();
    o.insert(
        "load_balancer_arn".into(),
        opt_string(l.load_balancer_arn()),
    );
    o.insert("port".into(), opt_int(l.port()));
    o.insert(
        "protocol".into(),
        opt_string(l.protocol().map(|p| p.as_str())),
    );
    o.insert(
        "certificate_arn".into(),
        opt_string(l.certificates().first().and_then(|c| c.certificate_arn())),
    );
    o.insert("ssl_policy".into(), opt_string(l.ssl_policy()));
    o.insert(
        "default_action".into(),
        action_value(l.default_actions(), prior, "default_action"),
    );
    o.insert("arn".into(), opt_string(l.listener_arn()));
    o
}

#[async_trait]
impl ReadByArn for Listener {
    type Live = AwsListener;

    async fn describe(&self, arns: &[String]) -> Result<Option<Vec<AwsListener>>, ProviderError> {
        let result = self
            .clients
            .elbv2
            .describe_listeners()
            .set_listener_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| map_sdk("DescribeListeners", e));
        Ok(absent_on(result, &NOT_FOUND)?.map(|o| o.listeners().to_vec()))
    }

    fn arn(live: &AwsListener) -> Option<&str> {
        live.listener_arn()
    }

    fn to_object(live: &AwsListener, prior: &Object) -> Object {
        to_object(live, prior)
    }
}

#[async_trait]
impl Resource for Listener {
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
            .create_listener()
            .load_balancer_arn(attrs::required(d, "load_balancer_arn")?)
            .set_port(attrs::int32(d, "port"))
            .protocol(ProtocolEnum::from(
                attrs::string(d, "protocol")
                    .unwrap_or_else(|| "HTTP".into())
                    .as_str(),
            ))
            .set_certificates(
                attrs::string(d, "certificate_arn")
                    .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
            )
            .set_ssl_policy(attrs::string(d, "ssl_policy"))
            .default_actions(desired_action(d, "default_action")?)
            .send()
            .await
            .map_err(|e| map_sdk("CreateListener", e))?;
        let listener = out
            .listeners()
            .first()
            .cloned()
            .ok_or_else(|| ProviderError::not_found("no listener returned"))?;
        Ok(Created {
            id: listener.listener_arn().unwrap_or_default().to_string(),
            attributes: to_object(&listener, d),
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
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        _changed: &[String],
    ) -> Result<Object, ProviderError> {
        let d = desired;
        let out = self
            .clients
            .elbv2
            .modify_listener()
            .listener_arn(id)
            .set_port(attrs::int32(d, "port"))
            .protocol(ProtocolEnum::from(
                attrs::string(d, "protocol")
                    .unwrap_or_else(|| "HTTP".into())
                    .as_str(),
            ))
            .set_certificates(
                attrs::string(d, "certificate_arn")
                    .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
            )
            .set_ssl_policy(attrs::string(d, "ssl_policy"))
            .default_actions(desired_action(d, "default_action")?)
            .send()
            .await
            .map_err(|e| map_sdk("ModifyListener", e))?;
        let listener = match out.listeners().first() {
            Some(l) => l.clone(),
            None => self
                .describe_one(id)
                .await?
                .ok_or_else(|| ProviderError::not_found(format!("listener `{id}` is gone")))?,
        };
        Ok(to_object(&listener, d))
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
            .delete_listener()
            .listener_arn(id)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteListener", e));
        absent_on(result, &NOT_FOUND).map(|_| ())
    }

    async fn recover(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let lb = attrs::required(desired, "load_balancer_arn")?;
        let port = attrs::int32(desired, "port");
        let result = self
            .clients
            .elbv2
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeListeners", e));
        let Some(found) = absent_on(result, &NOT_FOUND)? else {
            return Ok(None);
        };
        Ok(found
            .listeners()
            .iter()
            .find(|l| l.port() == port)
            .map(|l| Created {
                id: l.listener_arn().unwrap_or_default().to_string(),
                attributes: to_object(l, desired),
            }))
    }
}
