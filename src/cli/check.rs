//! `ecr-scan-gate-check`'s own parts: its text output and its option parsing. The judging
//! is `crate::engine::deploy_check`, which the ECS deployment lifecycle hook asks too.

use crate::engine::deploy_check::{CheckReport, Decision};
use std::time::Duration;

/// A short human summary for a pipeline log.
pub fn render_text(report: &CheckReport) -> String {
    let mut out = String::new();
    let label = match report.decision {
        Decision::Deployable => "DEPLOYABLE",
        Decision::Blocked if report.archived => "BLOCKED (archived)",
        Decision::Blocked => "BLOCKED",
        Decision::Undecided => "UNDECIDED",
    };
    match &report.evaluation {
        Some(ev) => {
            let digest = ev
                .digest
                .as_ref()
                .map(|d| d.short().to_string())
                .unwrap_or_else(|| "digest unknown".into());
            out.push_str(&format!(
                "{label}: {} ({digest}) — verdict {}\n",
                report.image, ev.verdict
            ));
            out.push_str(&format!("  findings: {}\n", ev.counts.summary()));
            for f in ev.findings.iter().flat_map(|r| r.top.iter()).take(5) {
                let fixed = f.fix_text();
                let pkg = f.package.as_deref().unwrap_or("?");
                let installed = f.installed_version.as_deref().unwrap_or("?");
                out.push_str(&format!(
                    "    {} {} {pkg} {installed} -> {fixed}\n",
                    f.severity, f.id
                ));
            }
        }
        None => out.push_str(&format!("{label}: {}\n", report.image)),
    }
    for p in &report.platform_images {
        let label = match p.decision {
            Decision::Deployable => "deployable",
            Decision::Blocked => "BLOCKED",
            Decision::Undecided => "undecided",
        };
        out.push_str(&format!("  platform image {}: {label}\n", p.digest));
    }
    if let Some(p) = &report.policy {
        out.push_str(&format!("  policy: {} (hash {})\n", p.source, p.hash));
    }
    out.push_str(&format!("  {}\n", report.message));
    out
}

/// Parses `90s`, `10m`, `1h`, `1h30m`, `2m30s`, `500ms`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let not_a_duration = || format!("{s:?} is not a duration (e.g. 90s, 10m, 1h30m)");
    if s.is_empty() {
        return Err(not_a_duration());
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let n: f64 = s.parse().map_err(|_| not_a_duration())?;
        return in_range(s, n);
    }
    let mut secs = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(not_a_duration)?;
        let (num, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let n: f64 = num.parse().map_err(|_| not_a_duration())?;
        secs += match unit {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
        };
        rest = next;
    }
    in_range(s, secs)
}

/// The poll interval's floor: the AWS CLI's ECR waiter (`aws ecr wait image-scan-complete`)
/// polls every 5 seconds; polling faster only spends the DescribeImageScanFindings quota.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// `--poll-interval`: a duration of at least [`MIN_POLL_INTERVAL`].
pub fn parse_poll_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < MIN_POLL_INTERVAL {
        return Err(format!(
            "{s:?} is too short: at least 5s (the AWS CLI's ECR waiter polls every 5 s)"
        ));
    }
    Ok(d)
}

fn in_range(s: &str, secs: f64) -> Result<Duration, String> {
    if !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("{s:?} is out of range (0 to 24h)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("2d").is_err());
        assert!(parse_duration("48h").is_err());
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2m30s"), Ok(Duration::from_secs(150)));
        assert!(parse_duration("1h30").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn poll_interval_has_a_floor_of_five_seconds() {
        assert_eq!(parse_poll_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_poll_interval("1m"), Ok(Duration::from_secs(60)));
        let e = parse_poll_interval("200ms").unwrap_err();
        assert!(e.contains("at least 5s"), "{e}");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Decision::Deployable.exit_code(), 0);
        assert_eq!(Decision::Blocked.exit_code(), 1);
        assert_eq!(Decision::Undecided.exit_code(), 2);
    }
}
