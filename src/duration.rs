//! The one duration grammar of Plinth, on the command line (`--lock-timeout 1d`) and in stack
//! files (`timeouts = { create = "250ms" }`): [`humantime`]'s (`250ms`, `90s`, `5m`,
//! `1h30m`, `1d`, `2h 15m`), or a bare number of seconds.

use std::time::Duration;

/// Parses a duration: `250ms`, `90s`, `5m`, `1h30m`, `1d`, or whole seconds (`12`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|e| {
        format!(
            "`{text}` is not a duration ({e}): write e.g. `250ms`, `90s`, `5m`, `1h30m` or `1d`"
        )
    })
}

/// Whole seconds, rounded up (`250ms` is 1 s): for settings kept in seconds.
pub fn whole_seconds_up(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_grammar_for_every_duration() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("40m"), Ok(Duration::from_secs(2400)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("2h 15m"), Ok(Duration::from_secs(8100)));
        assert_eq!(parse("12"), Ok(Duration::from_secs(12)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert!(parse("5x").unwrap_err().contains("`5x` is not a duration"));
        assert!(parse("m").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(whole_seconds_up(Duration::from_millis(250)), 1);
        assert_eq!(whole_seconds_up(Duration::from_secs(90)), 90);
        assert_eq!(whole_seconds_up(Duration::from_millis(1001)), 2);
    }
}
