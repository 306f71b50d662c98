//! Which findings the stack's `[waivers.<name>]` accept (a pure decision, unit-tested).

use crate::config::Waiver;

use super::{Finding, Severity, WaiverUse};

/// True when `waiver` names this finding: the same policy, and the same address or the block
/// of an instance (`aws_rds_instance.replica` waives `aws_rds_instance.replica[1]`).
pub fn covers(waiver: &Waiver, finding: &Finding) -> bool {
    if waiver.policy != finding.policy {
        return false;
    }
    let Some(address) = finding.address.as_deref() else {
        return false;
    };
    address == waiver.address
        || address
            .strip_prefix(waiver.address.as_str())
            .is_some_and(|rest| rest.starts_with('['))
}

/// True when a waiver that holds through `expires` (`YYYY-MM-DD`) has run out on `today`.
/// ISO dates compare as text.
pub fn expired(expires: &str, today: &str) -> bool {
    today > expires
}

/// Attaches each finding's waiver (the first active one that covers it), sorts deny first,
/// then by policy and address, and says which waivers waived nothing: expired ones (the
/// violation counts again) and ones that match no finding (left over after a fix).
pub fn apply(
    mut findings: Vec<Finding>,
    waivers: &[Waiver],
    today: &str,
) -> (Vec<Finding>, Vec<String>) {
    let mut notes = Vec::new();
    let mut used = vec![false; waivers.len()];
    for finding in &mut findings {
        for (i, waiver) in waivers.iter().enumerate() {
            if !covers(waiver, finding) {
                continue;
            }
            used[i] = true;
            if expired(&waiver.expires, today) {
                continue;
            }
            finding.waiver = Some(WaiverUse {
                name: waiver.name.clone(),
                reason: waiver.reason.clone(),
                expires: waiver.expires.clone(),
            });
            break;
        }
    }
    for (waiver, used) in waivers.iter().zip(used) {
        if expired(&waiver.expires, today) {
            notes.push(format!(
                "waiver `{}` ({} on {}) expired on {}: the violation counts again",
                waiver.name, waiver.policy, waiver.address, waiver.expires
            ));
        } else if !used {
            notes.push(format!(
                "waiver `{}` ({} on {}) matches no finding: remove it if the violation was fixed",
                waiver.name, waiver.policy, waiver.address
            ));
        }
    }
    findings.sort_by(|a, b| {
        let rank = |f: &Finding| (f.severity != Severity::Deny, f.waiver.is_some());
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.policy.cmp(&b.policy))
            .then_with(|| a.address.cmp(&b.address))
            .then_with(|| a.message.cmp(&b.message))
    });
    findings.dedup();
    (findings, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(policy: &str, address: Option<&str>, severity: Severity) -> Finding {
        Finding {
            policy: policy.into(),
            rule: "deny".into(),
            severity,
            address: address.map(str::to_string),
            attribute: None,
            message: format!("{policy} failed"),
            waiver: None,
        }
    }

    fn waiver(name: &str, policy: &str, address: &str, expires: &str) -> Waiver {
        Waiver {
            name: name.into(),
            policy: policy.into(),
            address: address.into(),
            reason: "accepted".into(),
            expires: expires.into(),
        }
    }

    #[test]
    fn a_waiver_covers_its_policy_on_its_address_or_block() {
        let w = waiver("w", "p", "aws_rds_instance.replica", "2999-01-01");
        let on = |a: &str| finding("p", Some(a), Severity::Deny);
        assert!(covers(&w, &on("aws_rds_instance.replica")));
        assert!(covers(&w, &on("aws_rds_instance.replica[2]")));
        assert!(!covers(&w, &on("aws_rds_instance.replica_b")));
        assert!(!covers(&w, &on("aws_rds_instance.primary")));
        assert!(!covers(
            &w,
            &finding("q", Some("aws_rds_instance.replica"), Severity::Deny)
        ));
        assert!(!covers(&w, &finding("p", None, Severity::Deny)));
    }

    #[test]
    fn expiry_is_inclusive_of_the_last_day() {
        assert!(!expired("2026-12-02", "2026-12-02"));
        assert!(expired("2026-12-01", "2026-12-02"));
        assert!(!expired("2027-01-01", "2026-12-31"));
    }

    #[test]
    fn active_waivers_waive_expired_ones_do_not_and_unused_ones_are_named() {
        let findings = vec![
            finding("a", Some("x.one"), Severity::Deny),
            finding("b", Some("x.two"), Severity::Deny),
            finding("c", Some("x.three"), Severity::Warn),
        ];
        let waivers = [
            waiver("keep", "a", "x.one", "2026-12-31"),
            waiver("old", "b", "x.two", "2026-11-30"),
            waiver("stale", "z", "x.nine", "2026-12-31"),
        ];
        let (out, notes) = apply(findings, &waivers, "2026-12-02");
        let a = out.iter().find(|f| f.policy == "a").unwrap();
        assert_eq!(a.waiver.as_ref().map(|w| w.name.as_str()), Some("keep"));
        let b = out.iter().find(|f| f.policy == "b").unwrap();
        assert!(b.waiver.is_none(), "an expired waiver waives nothing");
        assert_eq!(out[0].policy, "b", "unwaived denials come first");
        assert_eq!(out[2].policy, "c", "warnings last");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("`old`") && notes[0].contains("expired on 2026-11-30"));
        assert!(notes[1].contains("`stale`") && notes[1].contains("matches no finding"));
    }
}
