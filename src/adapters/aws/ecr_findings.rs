//! ECR's findings and counts as the core reads them: basic scanning (`findings`) and enhanced
//! scanning (Inspector's `enhancedFindings`) become one `Finding`; a severity AWS adds later is
//! judged as UNDEFINED rather than dropped.

use crate::domain::severity::{Counts, Severity};
use crate::judgement::findings::{Finding, FixState};
use aws_sdk_ecr::types::{EnhancedImageScanFinding, ImageScanFinding};
use std::collections::HashMap;

pub(super) fn reported_counts(map: &HashMap<aws_sdk_ecr::types::FindingSeverity, i32>) -> Counts {
    let mut counts = Counts::default();
    for (sev, n) in map {
        if let Some(s) = Severity::parse(sev.as_str()) {
            counts.add(s, (*n).max(0) as u64);
        }
    }
    counts
}

fn severity(s: Option<&str>) -> Severity {
    // A severity AWS adds later is judged as UNDEFINED rather than dropped.
    s.and_then(Severity::parse).unwrap_or(Severity::Undefined)
}

/// Basic scanning: package and version are in `attributes`, no fix or exploit information.
pub fn basic_finding(f: &ImageScanFinding) -> Finding {
    let attr = |key: &str| {
        f.attributes()
            .iter()
            .find(|a| a.key() == key)
            .and_then(|a| a.value())
            .map(str::to_string)
    };
    Finding {
        id: f.name().unwrap_or("unnamed finding").to_string(),
        severity: severity(f.severity().map(|s| s.as_str())),
        package: attr("package_name"),
        installed_version: attr("package_version"),
        fixed_version: None,
        fix_available: FixState::Unknown,
        exploit_available: None,
        score: attr("CVSS3_SCORE")
            .or_else(|| attr("CVSS2_SCORE"))
            .and_then(|s| s.parse().ok()),
        link: f.uri().map(str::to_string),
    }
}

/// Enhanced scanning (Inspector): the first vulnerable package stands for the finding.
pub fn enhanced_finding(f: &EnhancedImageScanFinding) -> Finding {
    let details = f.package_vulnerability_details();
    let package = details.and_then(|d| d.vulnerable_packages().first());
    let fixed = package
        .and_then(|p| p.fixed_in_version())
        .filter(|v| !v.is_empty() && *v != "NotAvailable")
        .map(str::to_string);
    let fix_available = match f.fix_available() {
        Some("YES") => FixState::Yes,
        Some("NO") => FixState::No,
        Some("PARTIAL") => FixState::Partial,
        _ if fixed.is_some() => FixState::Yes,
        _ => FixState::Unknown,
    };
    let score = f.score();
    Finding {
        id: details
            .and_then(|d| d.vulnerability_id())
            .or(f.title())
            .unwrap_or("unnamed finding")
            .to_string(),
        severity: severity(f.severity()),
        package: package.and_then(|p| p.name()).map(str::to_string),
        installed_version: package
            .and_then(|p| p.version())
            .map(|v| match p_release(package) {
                Some(r) => format!("{v}-{r}"),
                None => v.to_string(),
            }),
        fixed_version: fixed,
        fix_available,
        exploit_available: match f.exploit_available() {
            Some("YES") => Some(true),
            Some("NO") => Some(false),
            _ => None,
        },
        score: (score > 0.0).then_some(score),
        link: details
            .and_then(|d| d.source_url())
            .or_else(|| details.and_then(|d| d.reference_urls().first().map(String::as_str)))
            .map(str::to_string),
    }
}

fn p_release(p: Option<&aws_sdk_ecr::types::VulnerablePackage>) -> Option<&str> {
    p.and_then(|p| p.release()).filter(|r| !r.is_empty())
}
