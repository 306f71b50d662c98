//! The `[providers.sim]` table: where the simulated cloud lives and how it behaves.

use std::path::PathBuf;

use plinth_provider::{ProviderConfig, ProviderError, Value};

/// The keys `[providers.sim]` accepts, for the "unknown key" message.
const KNOWN_KEYS: &[&str] = &[
    "cloud_dir",
    "rate_limit",
    "page_size",
    "max_concurrency",
    "latency_scale",
    "record_calls",
];

/// Parsed `[providers.sim]` settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SimSettings {
    /// Directory of the cloud (`cloud_dir`; default `<work_dir>/sim-cloud`; a relative path is
    /// taken relative to the work directory).
    pub cloud_dir: PathBuf,
    /// Maximum API calls per second (`rate_limit`); 0 means unlimited.
    pub rate_limit: f64,
    /// Resources per batched read call (`page_size`, default 100).
    pub page_size: usize,
    /// Calls in flight the engine may make at once (`max_concurrency`; unset: no limit).
    pub max_concurrency: Option<usize>,
    /// Multiplier on every `*_ms` latency (`latency_scale`, default 1.0).
    pub latency_scale: f64,
    /// Append one line per API call to `calls.log` (`record_calls`, default false).
    pub record_calls: bool,
}

impl SimSettings {
    /// Reads and checks the settings; every problem is reported in one error.
    pub fn from_config(config: &ProviderConfig) -> Result<Self, ProviderError> {
        let mut problems = Vec::new();
        for key in config.settings.keys() {
            if !KNOWN_KEYS.contains(&key.as_str()) {
                problems.push(format!(
                    "unknown setting `{key}`; expected one of: {}",
                    KNOWN_KEYS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let get = |key: &str| config.settings.get(key).filter(|v| !v.is_null());

        let cloud_dir = match get("cloud_dir") {
            None => config.work_dir.join("sim-cloud"),
            Some(value) => match value.as_str() {
                Some(dir) if !dir.is_empty() => config.work_dir.join(dir),
                _ => {
                    problems.push(format!(
                        "`cloud_dir` must be a non-empty path, found {value}"
                    ));
                    PathBuf::new()
                }
            },
        };
        let rate_limit = number(get("rate_limit"), "rate_limit", 0.0, &mut problems);
        let latency_scale = number(get("latency_scale"), "latency_scale", 1.0, &mut problems);
        let page_size = count(get("page_size"), "page_size", &mut problems).unwrap_or(100);
        let max_concurrency = count(get("max_concurrency"), "max_concurrency", &mut problems);
        let record_calls = match get("record_calls") {
            None => false,
            Some(value) => value.as_bool().unwrap_or_else(|| {
                problems.push(format!(
                    "`record_calls` must be true or false, found {value}"
                ));
                false
            }),
        };

        if problems.is_empty() {
            Ok(SimSettings {
                cloud_dir,
                rate_limit,
                page_size,
                max_concurrency,
                latency_scale,
                record_calls,
            })
        } else {
            Err(ProviderError::config(format!(
                "invalid `[providers.sim]`: {}",
                problems.join("; ")
            )))
        }
    }
}

/// A non-negative number setting.
fn number(value: Option<&Value>, key: &str, default: f64, problems: &mut Vec<String>) -> f64 {
    let Some(value) = value else { return default };
    let parsed = match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match parsed {
        Some(n) if n.is_finite() && n >= 0.0 => n,
        _ => {
            problems.push(format!("`{key}` must be a number ≥ 0, found {value}"));
            default
        }
    }
}

/// A positive whole-number setting.
fn count(value: Option<&Value>, key: &str, problems: &mut Vec<String>) -> Option<usize> {
    let value = value?;
    match value.as_i64() {
        Some(n) if n >= 1 => usize::try_from(n).ok(),
        _ => {
            problems.push(format!("`{key}` must be a whole number ≥ 1, found {value}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use plinth_provider::{ErrorKind, Object};

    use super::*;

    fn config(pairs: &[(&str, Value)]) -> ProviderConfig {
        ProviderConfig {
            settings: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Object>(),
            environment: "test".into(),
            work_dir: PathBuf::from("/state"),
        }
    }

    #[test]
    fn defaults_put_the_cloud_next_to_the_state() {
        let settings = SimSettings::from_config(&config(&[])).unwrap();
        assert_eq!(settings.cloud_dir, PathBuf::from("/state/sim-cloud"));
        assert_eq!(settings.page_size, 100);
        assert_eq!(settings.rate_limit, 0.0);
        assert_eq!(settings.latency_scale, 1.0);
        assert_eq!(settings.max_concurrency, None);
        assert!(!settings.record_calls);
    }

    #[test]
    fn values_are_read_and_relative_dirs_resolved() {
        let settings = SimSettings::from_config(&config(&[
            ("cloud_dir", Value::string("cloud")),
            ("rate_limit", Value::Int(10)),
            ("page_size", Value::Int(25)),
            ("max_concurrency", Value::Int(4)),
            ("latency_scale", Value::Float(0.5)),
            ("record_calls", Value::Bool(true)),
        ]))
        .unwrap();
        assert_eq!(settings.cloud_dir, PathBuf::from("/state/cloud"));
        assert_eq!((settings.rate_limit, settings.page_size), (10.0, 25));
        assert_eq!(
            (settings.max_concurrency, settings.latency_scale),
            (Some(4), 0.5)
        );
        assert!(settings.record_calls);
        let absolute =
            SimSettings::from_config(&config(&[("cloud_dir", Value::string("/tmp/c"))])).unwrap();
        assert_eq!(absolute.cloud_dir, PathBuf::from("/tmp/c"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = SimSettings::from_config(&config(&[
            ("page_size", Value::Int(0)),
            ("rate_limit", Value::Int(-1)),
            ("cloud_dri", Value::string("x")),
        ]))
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(
            err.message
                .contains("`page_size` must be a whole number ≥ 1, found 0"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("`rate_limit` must be a number ≥ 0"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("unknown setting `cloud_dri`"),
            "{}",
            err.message
        );
    }
}
