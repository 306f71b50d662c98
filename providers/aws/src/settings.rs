//! The `[providers.aws]` settings, read once by [`crate::AwsFactory`]'s `configure`.

use std::time::Duration;

use plinth_provider::{Object, ProviderConfig, ProviderError, Value};

/// Default sustained requests per second per service (AWS's documented control-plane rates
/// are around 12/s for RDS; the others are more generous).
const DEFAULT_RPS: [(&str, f64); 4] = [
    ("rds", 12.0),
    ("elasticache", 12.0),
    ("s3", 50.0),
    ("elbv2", 20.0),
];

/// Typed provider settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AwsSettings {
    /// `region`; `None`: the SDK's chain (`AWS_REGION`, profile).
    pub region: Option<String>,
    /// `endpoint_url`; `None`: the SDK honours `AWS_ENDPOINT_URL` itself.
    pub endpoint_url: Option<String>,
    /// `profile`: a named profile of the shared config files.
    pub profile: Option<String>,
    /// `access_key_id` + `secret_access_key`: static credentials instead of the chain.
    pub static_credentials: Option<(String, String)>,
    /// `poll_interval_ms`: first interval of the wait polling (default 5 s).
    pub poll_interval: Duration,
    /// `retry_initial_backoff_ms`: the SDK retry's initial backoff (default 1 s).
    pub retry_initial_backoff: Duration,
    /// `max_attempts`: SDK attempts per call including the first (default 8).
    pub max_attempts: u32,
    /// `retry_mode`: `standard` (default) or `adaptive`.
    pub adaptive_retry: bool,
    /// `requests_per_second` per service (`rds`, `elasticache`, `s3`, `elbv2`).
    pub requests_per_second: Vec<(String, f64)>,
}

impl AwsSettings {
    /// Reads the settings, rejecting unknown keys and wrong types.
    pub fn from_config(config: &ProviderConfig) -> Result<AwsSettings, ProviderError> {
        let s = &config.settings;
        const KNOWN: [&str; 10] = [
            "region",
            "endpoint_url",
            "profile",
            "access_key_id",
            "secret_access_key",
            "poll_interval_ms",
            "retry_initial_backoff_ms",
            "max_attempts",
            "retry_mode",
            "requests_per_second",
        ];
        if let Some(unknown) = s.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(ProviderError::config(format!(
                "unknown setting `{unknown}` in `[providers.aws]`; expected one of: {}",
                KNOWN.join(", ")
            )));
        }
        let access = string(s, "access_key_id")?;
        let secret = string(s, "secret_access_key")?;
        let static_credentials = match (access, secret) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            _ => return Err(ProviderError::config(
                "`access_key_id` and `secret_access_key` must be set together in `[providers.aws]`",
            )),
        };
        let mut requests_per_second: Vec<(String, f64)> = DEFAULT_RPS
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        if let Some(value) = s.get("requests_per_second") {
            let map = value.as_map().ok_or_else(|| {
                ProviderError::config("`requests_per_second` must be a table like `{ rds = 12 }`")
            })?;
            for (service, rate) in map {
                let rate = match rate {
                    Value::Int(i) => *i as f64,
                    Value::Float(f) => *f,
                    _ => {
                        return Err(ProviderError::config(format!(
                            "`requests_per_second.{service}` must be a number"
                        )))
                    }
                };
                let slot = requests_per_second.iter_mut().find(|(k, _)| k == service).ok_or_else(|| {
                    ProviderError::config(format!(
                        "`requests_per_second.{service}`: unknown service; expected rds, elasticache, s3 or elbv2"
                    ))
                })?;
                if rate <= 0.0 {
                    return Err(ProviderError::config(format!(
                        "`requests_per_second.{service}` must be positive"
                    )));
                }
                slot.1 = rate;
            }
        }
        let retry_mode = string(s, "retry_mode")?;
        let adaptive_retry = match retry_mode.as_deref() {
            None | Some("standard") => false,
            Some("adaptive") => true,
            Some(other) => {
                return Err(ProviderError::config(format!(
                    "`retry_mode = \"{other}\"`: expected `standard` or `adaptive`"
                )))
            }
        };
        Ok(AwsSettings {
            region: string(s, "region")?,
            endpoint_url: string(s, "endpoint_url")?,
            profile: string(s, "profile")?,
            static_credentials,
            poll_interval: Duration::from_millis(int(s, "poll_interval_ms")?.unwrap_or(5_000)),
            retry_initial_backoff: Duration::from_millis(
                int(s, "retry_initial_backoff_ms")?.unwrap_or(1_000),
            ),
            max_attempts: int(s, "max_attempts")?.unwrap_or(8).clamp(1, 100) as u32,
            adaptive_retry,
            requests_per_second,
        })
    }

    /// The sustained request rate for a service.
    pub fn rate(&self, service: &str) -> f64 {
        self.requests_per_second
            .iter()
            .find(|(k, _)| k == service)
            .map(|(_, v)| *v)
            .unwrap_or(10.0)
    }
}

fn string(s: &Object, key: &str) -> Result<Option<String>, ProviderError> {
    match s.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_str().map(|x| Some(x.to_string())).ok_or_else(|| {
            ProviderError::config(format!("`[providers.aws] {key}` must be a string"))
        }),
    }
}

fn int(s: &Object, key: &str) -> Result<Option<u64>, ProviderError> {
    match s.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|i| *i >= 0)
            .map(|i| Some(i as u64))
            .ok_or_else(|| {
                ProviderError::config(format!(
                    "`[providers.aws] {key}` must be a non-negative integer"
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let mut config = ProviderConfig::default();
        config
            .settings
            .insert("region".into(), Value::string("eu-west-1"));
        let mut rates = Object::new();
        rates.insert("rds".into(), Value::Int(3));
        config
            .settings
            .insert("requests_per_second".into(), Value::Map(rates));
        let s = AwsSettings::from_config(&config).unwrap();
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.rate("rds"), 3.0);
        assert_eq!(s.rate("s3"), 50.0);
        assert_eq!(s.max_attempts, 8);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let mut config = ProviderConfig::default();
        config.settings.insert("regoin".into(), Value::string("x"));
        assert!(AwsSettings::from_config(&config)
            .unwrap_err()
            .message
            .contains("unknown setting `regoin`"));
    }
}
