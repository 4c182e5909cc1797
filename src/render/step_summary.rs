//! The check's outcome as the Markdown a GitHub Actions job summary shows
//! (`GITHUB_STEP_SUMMARY`): the decision and verdict, the reasons, a table of the top findings
//! and the policy that judged. Pure: the command line appends it to the file.

use super::check_outcome::{advisory_link, md, CheckOutcome, Effect};
use crate::judgement::findings::{Finding, FindingsReport};
use std::fmt::Write;

/// How many findings the summary's table lists.
pub const SUMMARY_ROWS: usize = 20;

/// The Markdown summary, ending with a blank line (summaries of several steps follow each other).
pub fn step_summary(o: &CheckOutcome<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### ecr-scan-gate-check: {} {}\n",
        o.label(),
        md(o.image)
    );
    let verdict = o
        .evaluation
        .map(|e| e.verdict.to_string())
        .unwrap_or_else(|| "none (not judged)".to_string());
    let digest = o
        .evaluation
        .and_then(|e| e.digest.as_ref())
        .map(|d| format!("`{d}`"))
        .unwrap_or_else(|| "unknown".to_string());
    let _ = writeln!(s, "| verdict | decision | digest judged |\n|---|---|---|");
    let _ = writeln!(
        s,
        "| **{verdict}** | {} (exit {}) | {digest} |\n",
        o.decision, o.exit_code
    );
    let _ = writeln!(s, "{}\n", md(o.message));
    for w in o.warnings {
        let _ = writeln!(s, "> warning: {}\n", md(w));
    }
    if let Some(ev) = o.evaluation {
        if !ev.reasons.is_empty() {
            let _ = writeln!(s, "**Reasons**\n");
            for r in &ev.reasons {
                let _ = writeln!(s, "- {}", md(r));
            }
            s.push('\n');
        }
        let _ = write!(s, "**Findings that count:** {}", md(&ev.counts.summary()));
        if let Some(r) = &ev.findings {
            let _ = write!(s, " ({} read", r.read);
            for (n, what) in left_out(r) {
                let _ = write!(s, "; {n} {what}");
            }
            s.push(')');
        }
        s.push_str("\n\n");
        table(&mut s, o);
    }
    match o.policy {
        Some((source, hash)) => {
            let _ = writeln!(s, "Policy: {} (hash `{}`)\n", md(source), md(hash));
        }
        None => s.push_str("Policy: not loaded\n\n"),
    }
    s
}

/// The findings the policy left out, those there are: allowlisted, excused by VEX, without a
/// fix under `ignore_unfixed`, suppressed or closed in Inspector.
fn left_out(r: &FindingsReport) -> Vec<(u64, &'static str)> {
    // Read by name from the report as `--output json` has it, so that a count the tally adds
    // (`vex_excused`) shows without this file knowing its type.
    let tally = serde_json::to_value(r).unwrap_or_default();
    [
        ("allowlisted", "allowlisted"),
        ("vex_excused", "excused by VEX"),
        ("unfixed_ignored", "without a fix, ignored"),
        ("inactive", "suppressed or closed in Inspector"),
    ]
    .into_iter()
    .filter_map(|(key, what)| {
        let n = tally.get(key).and_then(serde_json::Value::as_u64)?;
        (n > 0).then_some((n, what))
    })
    .collect()
}

fn table(s: &mut String, o: &CheckOutcome<'_>) {
    let findings = o.findings();
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "| effect | id | severity | package | version | fix |\n|---|---|---|---|---|---|"
    );
    for f in findings.iter().take(SUMMARY_ROWS) {
        let effect = match o.effect(f) {
            Effect::Fails(_) => "fails",
            Effect::Warns(_) => "warns",
            Effect::Counts => "counts",
        };
        let _ = writeln!(
            s,
            "| {effect} | {} | {} | {} | {} | {} |",
            id_cell(f),
            f.severity,
            cell(f.package.as_deref()),
            cell(f.installed_version.as_deref()),
            fix_cell(f)
        );
    }
    let counting = o.counting_listed();
    let shown = findings.len().min(SUMMARY_ROWS) as u64;
    if shown < counting {
        let _ = writeln!(
            s,
            "\nThe {shown} most important of {counting} findings that count (`--output json` \
             or the SARIF log lists more)."
        );
    }
    s.push('\n');
}

fn id_cell(f: &Finding) -> String {
    match advisory_link(f) {
        Some(link) => format!("[{}]({link})", md(&f.id)),
        None => md(&f.id),
    }
}

fn cell(v: Option<&str>) -> String {
    v.map(md).unwrap_or_else(|| "?".to_string())
}

fn fix_cell(f: &Finding) -> String {
    md(&f.fix_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::severity::Severity;
    use crate::policy::document::Policy;
    use crate::render::check_outcome::CheckOutcome;
    use crate::render::sarif::tests::{evaluation, finding, outcome};

    #[test]
    fn a_blocked_image_shows_verdict_reasons_findings_and_policy() {
        let p = Policy::default();
        let mut crit = finding("CVE-2024-0001", Severity::Critical, "openssl");
        crit.fixed_version = Some("3.0.7".into());
        crit.link = Some("https://nvd.nist.gov/vuln/detail/CVE-2024-0001".into());
        let ev = evaluation(
            &p,
            vec![crit, finding("CVE-2024-0002", Severity::Low, "zl|ib")],
        );
        let o = outcome(&ev, &p, "blocked");
        let md = step_summary(&o);
        assert!(
            md.starts_with("### ecr-scan-gate-check: BLOCKED demo-api:v1\n"),
            "{md}"
        );
        assert!(md.contains("| **FAIL** | blocked (exit 1) |"), "{md}");
        assert!(
            md.contains("- 1 CRITICAL finding (policy: fail at 1 or more)"),
            "{md}"
        );
        assert!(
            md.contains(
                "| fails | [CVE-2024-0001](https://nvd.nist.gov/vuln/detail/CVE-2024-0001) \
                 | CRITICAL | openssl | 1.0 | 3.0.7 |"
            ),
            "{md}"
        );
        assert!(
            md.contains(r"| counts | CVE-2024-0002 | LOW | zl\|ib | 1.0 | fix unknown |"),
            "{md}"
        );
        assert!(
            md.contains("Policy: GATE\\_POLICY (hash `0123456789ab`)"),
            "{md}"
        );
        assert!(md.ends_with("\n\n"));
    }

    #[test]
    fn an_image_not_judged_says_so_without_a_table() {
        let o = CheckOutcome {
            repository: "demo-api",
            image: "demo-api:v1",
            decision: "undecided",
            exit_code: 2,
            archived: false,
            message: "could not decide: AccessDeniedException <b>",
            policy: None,
            warnings: &[],
            evaluation: None,
            thresholds: None,
        };
        let md = step_summary(&o);
        assert!(md.contains("UNDECIDED demo-api:v1\n"), "{md}");
        assert!(md.contains("| **none (not judged)** | undecided (exit 2) | unknown |"));
        assert!(md.contains("AccessDeniedException &lt;b&gt;"), "{md}");
        assert!(!md.contains("| effect |"), "{md}");
    }

    #[test]
    fn the_table_is_bounded_and_says_how_many_more() {
        let p = Policy::default();
        let many: Vec<_> = (0..30)
            .map(|i| finding(&format!("CVE-2024-{i:04}"), Severity::Medium, "pkg"))
            .collect();
        let ev = evaluation(&p, many);
        let md = step_summary(&outcome(&ev, &p, "deployable"));
        assert_eq!(
            md.matches("| counts | CVE-2024-").count(),
            SUMMARY_ROWS,
            "{md}"
        );
        assert!(
            md.contains("The 20 most important of 30 findings that count"),
            "{md}"
        );
    }
}
