//! Upper bounds on what a stack may ask the loader to build, checked before anything is
//! allocated: a typo such as `count = 2147483648` or a mutated file must end in a
//! diagnostic, not in a 34 GB allocation.
//!
//! | limit | default | raise with |
//! |---|---|---|
//! | resource instances in a stack | 100 000 | `--max-resources N`, `PLINTH_MAX_RESOURCES` |
//! | instances of one block (`count`) | 10 000 | `--max-count N`, `PLINTH_MAX_COUNT` |
//! | size of one stack or var file | 64 MiB | `--max-file-size SIZE`, `PLINTH_MAX_FILE_SIZE` |
//! | length of one string after interpolation | 1 MiB | `--max-string-size SIZE`, `PLINTH_MAX_STRING_SIZE` |
//! | nesting of arrays, tables and dotted keys | 64 | `--max-depth N`, `PLINTH_MAX_DEPTH` (at most 256) |
//! | values built by substitution and `count` | 512 MiB | `--max-expansion SIZE`, `PLINTH_MAX_EXPANSION` |
//!
//! The expansion budget is charged for what the plan will hold, not for the text the loader
//! builds: a value made for an instance is held [`HELD_COPIES`] times by the time a plan is
//! shown (its expression, its evaluated inputs, the planned object, the diff a reviewer reads).

use std::cell::Cell;

use plinth_provider::Value;

/// The highest nesting depth that may be configured: deeper trees could overflow the stack of
/// the recursive lowering.
pub const DEPTH_CEILING: usize = 256;

/// The loader's limits. [`Limits::default`] holds the documented defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Resource instances in the whole stack, after `count` expansion.
    pub max_resources: usize,
    /// Instances of one resource block (`count`).
    pub max_count: usize,
    /// Bytes of one stack file or `--var-file`.
    pub max_file_bytes: u64,
    /// Bytes of one string after interpolation.
    pub max_string_bytes: usize,
    /// Nesting depth of arrays, inline tables, `[headers]` and dotted keys.
    pub max_depth: usize,
    /// Estimated bytes of the values built by variable substitution and `count` expansion.
    pub max_expansion_bytes: u64,
}

/// `1 MiB`.
const MIB: u64 = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_resources: 100_000,
            max_count: 10_000,
            max_file_bytes: 64 * MIB,
            max_string_bytes: MIB as usize,
            max_depth: 64,
            max_expansion_bytes: 512 * MIB,
        }
    }
}

/// Which limit a diagnostic is about: its name, the flag and variable that raise it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Limit {
    Resources,
    Count,
    FileSize,
    StringSize,
    Depth,
    Expansion,
}

impl Limit {
    /// The flag and environment variable, for a `help:`.
    pub(crate) fn how_to_raise(self, needed: impl std::fmt::Display) -> String {
        let (flag, var) = match self {
            Limit::Resources => ("--max-resources", "PLINTH_MAX_RESOURCES"),
            Limit::Count => ("--max-count", "PLINTH_MAX_COUNT"),
            Limit::FileSize => ("--max-file-size", "PLINTH_MAX_FILE_SIZE"),
            Limit::StringSize => ("--max-string-size", "PLINTH_MAX_STRING_SIZE"),
            Limit::Depth => ("--max-depth", "PLINTH_MAX_DEPTH"),
            Limit::Expansion => ("--max-expansion", "PLINTH_MAX_EXPANSION"),
        };
        format!("if this is intended, raise the limit with `{flag} {needed}` or `{var}={needed}`")
    }
}

impl Limits {
    /// The defaults overridden by the `PLINTH_MAX_*` environment variables that are set
    /// (a value that does not parse is ignored).
    pub fn from_env() -> Limits {
        Limits::from_lookup(&|name| std::env::var(name).ok())
    }

    /// [`Limits::from_env`] reading variables through `getenv`.
    pub fn from_lookup(getenv: &dyn Fn(&str) -> Option<String>) -> Limits {
        let mut limits = Limits::default();
        let count = |name: &str| getenv(name).and_then(|v| parse_count(&v).ok());
        let size = |name: &str| getenv(name).and_then(|v| parse_size(&v).ok());
        if let Some(n) = count("PLINTH_MAX_RESOURCES") {
            limits.max_resources = n as usize;
        }
        if let Some(n) = count("PLINTH_MAX_COUNT") {
            limits.max_count = n as usize;
        }
        if let Some(n) = size("PLINTH_MAX_FILE_SIZE") {
            limits.max_file_bytes = n;
        }
        if let Some(n) = size("PLINTH_MAX_STRING_SIZE") {
            limits.max_string_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = count("PLINTH_MAX_DEPTH") {
            limits.max_depth = n as usize;
        }
        if let Some(n) = size("PLINTH_MAX_EXPANSION") {
            limits.max_expansion_bytes = n;
        }
        limits.clamped()
    }

    /// The limits with the depth held under [`DEPTH_CEILING`].
    pub fn clamped(mut self) -> Limits {
        self.max_depth = self.max_depth.clamp(1, DEPTH_CEILING);
        self
    }
}

/// Parses a whole number such as `250000` or `250_000`.
pub fn parse_count(text: &str) -> Result<u64, String> {
    text.trim()
        .replace('_', "")
        .parse::<u64>()
        .map_err(|_| format!("`{text}` is not a whole number"))
}

/// Parses a size: bytes (`1048576`) or with a unit (`64KiB`, `64MiB`, `2GiB`, `10MB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim().replace('_', "");
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let bad = || format!("`{text}` is not a size (e.g. `64MiB`, `2GiB`, `1048576`)");
    let number: u64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1000 * 1000,
        "mib" => MIB,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gib" => 1024 * MIB,
        _ => return Err(bad()),
    };
    number.checked_mul(factor).ok_or_else(bad)
}

/// A size for messages: `64 MiB`, `1.5 KiB`, `12 bytes`.
pub(crate) fn show_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", 1024)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let whole = bytes / size;
            let tenth = (bytes % size) * 10 / size;
            return if tenth == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{whole}.{tenth} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// How many times the engine holds a value built while loading, once it is planned: the
/// instance's expression, its evaluated inputs, the planned object and the diff. The project's
/// fuzzer found 5,000 counted copies of a 66 KiB name, 330 MiB of values by length, peaking at
/// 2.2 GB while planning; charged four times, it is refused before anything is built.
pub(crate) const HELD_COPIES: u64 = 4;

/// The running total of values built by substitution and expansion while a stack loads.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: u64,
    used: Cell<u64>,
    exceeded: Cell<bool>,
    /// The load's limits.
    pub limits: Limits,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: Cell::new(0),
            exceeded: Cell::new(false),
            limits: Limits::default(),
        }
    }

    /// The budget of a load with `limits`.
    pub(crate) fn for_limits(limits: &Limits) -> Budget {
        Budget {
            limits: *limits,
            ..Budget::new(limits.max_expansion_bytes)
        }
    }

    /// Takes `bytes` of values, each held [`HELD_COPIES`] times by the plan, from the budget;
    /// false (and nothing taken) when they do not fit.
    pub(crate) fn take(&self, bytes: u64) -> bool {
        let total = self.used.get().saturating_add(Budget::charge(bytes));
        if total > self.limit {
            return false;
        }
        self.used.set(total);
        true
    }

    /// What `bytes` of values cost in the budget.
    pub(crate) fn charge(bytes: u64) -> u64 {
        bytes.saturating_mul(HELD_COPIES)
    }

    /// True the first time it is called: the caller reports the problem once.
    pub(crate) fn first_overrun(&self) -> bool {
        !self.exceeded.replace(true)
    }

    /// The limit, in bytes.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes taken so far.
    pub(crate) fn used(&self) -> u64 {
        self.used.get()
    }
}

/// An estimate of the memory a value takes (strings by length, every node a few words).
pub(crate) fn value_size(value: &Value) -> u64 {
    const NODE: u64 = 32;
    match value {
        Value::String(s) => NODE + s.len() as u64,
        Value::List(items) => NODE + items.iter().map(value_size).sum::<u64>(),
        Value::Map(map) => {
            NODE + map
                .iter()
                .map(|(k, v)| NODE + k.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        _ => NODE,
    }
}

/// The deepest nesting of arrays, inline tables, table headers and dotted keys in a TOML
/// text, found by a scan that skips strings and comments (so a parser that recurses never
/// sees a tree deeper than the limit). Stops counting once `stop` is passed and returns the
/// byte offset where the depth first exceeded `stop`.
pub(crate) fn nesting_over(text: &str, stop: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    // The open brackets (never more than `stop + 1` of them).
    let mut open: Vec<u8> = Vec::new();
    // Dotted-key depth of the key being read (reset where a new key starts).
    let mut dots: usize = 0;
    let mut at_key = true;
    let mut i = 0;
    while i < bytes.len() {
        // Only these bytes change the depth: skip the runs between them (most of a file).
        if !NESTING_BYTES[bytes[i] as usize] {
            i += 1;
            while i < bytes.len() && !NESTING_BYTES[bytes[i] as usize] {
                i += 1;
            }
            continue;
        }
        let b = bytes[i];
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                let triple = bytes.get(i..i + 3) == Some(&[b, b, b]);
                i = skip_string(bytes, i, b, triple);
                continue;
            }
            b'[' => open.push(b),
            b'{' => {
                open.push(b);
                at_key = true;
                dots = 0;
            }
            b']' | b'}' => {
                open.pop();
            }
            b'.' if at_key => dots += 1,
            b'=' => at_key = false,
            b'\n' if open.is_empty() => {
                at_key = true;
                dots = 0;
            }
            b',' if open.last() == Some(&b'{') => {
                at_key = true;
                dots = 0;
            }
            _ => {}
        }
        if open.len() + dots > stop {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The bytes [`nesting_over`] looks at.
const NESTING_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let special = b"#\"'[]{}.=\n,";
    let mut i = 0;
    while i < special.len() {
        table[special[i] as usize] = true;
        i += 1;
    }
    table
};

/// The offset after the string starting at `start`.
fn skip_string(bytes: &[u8], start: usize, quote: u8, triple: bool) -> usize {
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        // Jump to the next byte that can end the string.
        match bytes[i..]
            .iter()
            .position(|&b| b == quote || b == b'\\' || b == b'\n')
        {
            Some(offset) => i += offset,
            None => return bytes.len(),
        }
        let b = bytes[i];
        if b == b'\\' && quote == b'"' {
            i += 2;
            continue;
        }
        if b == quote {
            if !triple {
                return i + 1;
            }
            if bytes.get(i..i + 3) == Some(&[quote, quote, quote]) {
                // A closing `"""` may be followed by up to two more quotes of content.
                let mut end = i + 3;
                while end < bytes.len() && bytes[end] == quote && end < i + 5 {
                    end += 1;
                }
                return end;
            }
        }
        if b == b'\n' && !triple {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("1048576"), Ok(MIB));
        assert_eq!(parse_size("64MiB"), Ok(64 * MIB));
        assert_eq!(parse_size("2 GiB"), Ok(2048 * MIB));
        assert_eq!(parse_size("10kb"), Ok(10_000));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
        assert_eq!(parse_count("250_000"), Ok(250_000));
        assert_eq!(show_size(64 * MIB), "64 MiB");
        assert_eq!(show_size(1536), "1.5 KiB");
        assert_eq!(show_size(12), "12 bytes");
    }

    #[test]
    fn environment_variables_raise_limits_and_depth_stays_under_the_ceiling() {
        let limits = Limits::from_lookup(&|name| match name {
            "PLINTH_MAX_RESOURCES" => Some("1_000_000".into()),
            "PLINTH_MAX_FILE_SIZE" => Some("1GiB".into()),
            "PLINTH_MAX_DEPTH" => Some("100000".into()),
            "PLINTH_MAX_COUNT" => Some("lots".into()),
            _ => None,
        });
        assert_eq!(limits.max_resources, 1_000_000);
        assert_eq!(limits.max_file_bytes, 1024 * MIB);
        assert_eq!(limits.max_depth, DEPTH_CEILING);
        assert_eq!(limits.max_count, Limits::default().max_count);
    }

    #[test]
    fn nesting_counts_brackets_and_dotted_keys_but_not_strings_or_comments() {
        assert_eq!(nesting_over("a = [[[1]]]\n", 3), None);
        assert_eq!(nesting_over("a = [[[[1]]]]\n", 3), Some(7));
        assert_eq!(nesting_over("a = \"[[[[[[\" # {{{{{{\n", 2), None);
        assert_eq!(nesting_over("a = '''\n[[[[[[\n'''\n", 2), None);
        assert!(nesting_over("a.b.c.d.e = 1\n", 3).is_some());
        assert!(nesting_over("[a.b.c.d.e]\n", 3).is_some());
        assert_eq!(nesting_over("[a.b]\nx = 1.5\n", 3), None);
        assert!(nesting_over("x = { a = { b = { c = 1 } } }\n", 2).is_some());
    }

    #[test]
    fn the_budget_refuses_what_does_not_fit() {
        let budget = Budget::new(100 * HELD_COPIES);
        assert!(budget.take(60));
        assert!(!budget.take(60));
        assert!(budget.take(40));
        assert_eq!(budget.used(), 100 * HELD_COPIES);
        assert!(budget.first_overrun());
        assert!(!budget.first_overrun());
    }
}
