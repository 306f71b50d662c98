//! SDK client setup: one shared `SdkConfig` (region, endpoint, profile, credential chain,
//! explicit behaviour version, retry policy), one rustls + aws-lc HTTP stack (the crypto the state backends use too), and a token-bucket
//! rate limit per service underneath each service client.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use plinth_provider::ProviderError;

use crate::rate_limit::{limited, TokenBucket};
use crate::settings::AwsSettings;

/// The behaviour version this provider was written and tested against. Pinned (not
/// `latest`) so an SDK upgrade never silently changes retry or timeout defaults.
pub fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
}

/// The configured service clients shared by every resource type.
#[derive(Clone, Debug)]
pub struct Clients {
    /// RDS.
    pub rds: aws_sdk_rds::Client,
    /// ElastiCache.
    pub elasticache: aws_sdk_elasticache::Client,
    /// S3 (path-style addressing when the endpoint is overridden).
    pub s3: aws_sdk_s3::Client,
    /// Elastic Load Balancing v2.
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// EC2 (security groups, VPC and subnet lookups).
    pub ec2: aws_sdk_ec2::Client,
    /// ACM (certificate lookups).
    pub acm: aws_sdk_acm::Client,
    /// The credential chain (data sources check it before reading, so a plan without an
    /// account can say so instead of failing).
    pub credentials: Option<aws_sdk_ec2::config::SharedCredentialsProvider>,
    /// Whether `credentials` yielded credentials, once asked (asked once per run).
    pub credentials_checked: Arc<tokio::sync::OnceCell<Result<(), ProviderError>>>,
    /// The region in use.
    pub region: String,
    /// First interval of wait polling.
    pub poll_interval: Duration,
}

impl Clients {
    /// Builds the clients. Does no network I/O: credentials are resolved on first use.
    pub async fn build(settings: &AwsSettings) -> Result<Clients, ProviderError> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .build_https();
        let retry = if settings.adaptive_retry {
            RetryConfig::adaptive()
        } else {
            RetryConfig::standard()
        }
        .with_max_attempts(settings.max_attempts)
        .with_initial_backoff(settings.retry_initial_backoff);
        let mut loader = aws_config::defaults(behavior_version())
            .http_client(http.clone())
            .retry_config(retry);
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &settings.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some((access, secret)) = &settings.static_credentials {
            loader = loader.credentials_provider(Credentials::new(
                access,
                secret,
                None,
                None,
                "plinth-settings",
            ));
        }
        let shared = loader.load().await;
        let region = shared.region().map(|r| r.to_string()).ok_or_else(|| {
            ProviderError::config(
                "no AWS region: set `region` in `[providers.aws]`, `AWS_REGION`, or a profile's `region`",
            )
        })?;
        let endpoint_overridden = shared.endpoint_url().is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        let client_for = |service: &str| {
            limited(
                http.clone(),
                Arc::new(TokenBucket::new(settings.rate(service))),
            )
        };
        let rds = aws_sdk_rds::config::Builder::from(&shared)
            .http_client(client_for("rds"))
            .build();
        let elasticache = aws_sdk_elasticache::config::Builder::from(&shared)
            .http_client(client_for("elasticache"))
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(&shared)
            .http_client(client_for("s3"))
            .force_path_style(endpoint_overridden)
            .build();
        let elbv2 = aws_sdk_elasticloadbalancingv2::config::Builder::from(&shared)
            .http_client(client_for("elbv2"))
            .build();
        let ec2 = aws_sdk_ec2::config::Builder::from(&shared)
            .http_client(client_for("ec2"))
            .build();
        let acm = aws_sdk_acm::config::Builder::from(&shared)
            .http_client(client_for("acm"))
            .build();
        Ok(Clients {
            acm: aws_sdk_acm::Client::from_conf(acm),
            credentials: shared.credentials_provider(),
            credentials_checked: Arc::new(tokio::sync::OnceCell::new()),
            rds: aws_sdk_rds::Client::from_conf(rds),
            elasticache: aws_sdk_elasticache::Client::from_conf(elasticache),
            s3: aws_sdk_s3::Client::from_conf(s3),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::from_conf(elbv2),
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            region,
            poll_interval: settings.poll_interval,
        })
    }
}
