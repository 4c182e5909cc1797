//! The check's outcome as CI shows it (the SARIF log, the job summary): the plain values both
//! are rendered from, and what one finding does to the image under the policy. Pure.

use crate::domain::severity::Counts;
use crate::judgement::evaluation::Evaluation;
use crate::judgement::findings::Finding;
use crate::policy::conditions::{ConditionSet, Facts};
use crate::policy::document::{EffectiveThresholds, Thresholds};

/// What `ecr-scan-gate-check` decided, as plain values (the command line fills it in from its
/// report and the policy it loaded).
#[derive(Debug, Clone)]
pub struct CheckOutcome<'a> {
    /// The repository asked about (empty when the arguments did not parse).
    pub repository: &'a str,
    /// The image as it was asked about: `demo-api:v1` or `demo-api@sha256:…`.
    pub image: &'a str,
    /// `deployable`, `blocked` or `undecided`.
    pub decision: &'a str,
    pub exit_code: i32,
    /// The image is archived (or being restored): ECR refuses every pull of it.
    pub archived: bool,
    /// One sentence a person acts on.
    pub message: &'a str,
    /// Where the policy came from, and its 12-digit hash.
    pub policy: Option<(&'a str, &'a str)>,
    pub warnings: &'a [String],
    /// The judged image's evaluation (for an image index, that of the platform image that
    /// decided); `None` when the check stopped before judging.
    pub evaluation: Option<&'a Evaluation>,
    /// The thresholds and conditions in force for the repository; without them no finding is
    /// said to fail or warn the image.
    pub thresholds: Option<EffectiveThresholds<'a>>,
}

impl CheckOutcome<'_> {
    /// The counting findings the evaluation kept, most important first.
    pub fn findings(&self) -> &[Finding] {
        self.evaluation
            .and_then(|e| e.findings.as_ref())
            .map(|r| r.top.as_slice())
            .unwrap_or(&[])
    }

    /// How many findings count and were listed by the registry (the kept ones may be fewer).
    pub fn counting_listed(&self) -> u64 {
        self.evaluation
            .and_then(|e| e.findings.as_ref())
            .map(|r| r.counts.total().saturating_sub(r.unlisted.total()))
            .unwrap_or(0)
    }

    /// What a finding does to the image: fails it, warns it, or only counts.
    pub fn effect(&self, f: &Finding) -> Effect {
        match (&self.thresholds, self.evaluation) {
            (Some(t), Some(ev)) => effect(t, &ev.counts, f),
            _ => Effect::Counts,
        }
    }

    /// `DEPLOYABLE`, `BLOCKED`, `BLOCKED (archived)` or `UNDECIDED`, as the text output says.
    pub fn label(&self) -> &'static str {
        match self.decision {
            "deployable" => "DEPLOYABLE",
            "blocked" if self.archived => "BLOCKED (archived)",
            "blocked" => "BLOCKED",
            _ => "UNDECIDED",
        }
    }
}

/// What one counting finding does to the image under the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// It makes the image fail; why (a fail threshold its severity reached, or a `fail_if`
    /// condition it meets).
    Fails(String),
    /// It makes the image warn (and fails it by nothing); why.
    Warns(String),
    /// It counts, but reaches no threshold and meets no condition.
    Counts,
}

impl Effect {
    /// The SARIF level: `error`, `warning` or `note`.
    pub fn level(&self) -> &'static str {
        match self {
            Effect::Fails(_) => "error",
            Effect::Warns(_) => "warning",
            Effect::Counts => "note",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Effect::Fails(r) | Effect::Warns(r) => Some(r),
            Effect::Counts => None,
        }
    }
}

/// A finding fails the image when its severity's count reaches a fail threshold or it meets a
/// `fail_if` condition; else it warns when the same holds for `warn` / `warn_if`. `counts` are
/// the evaluation's (the findings that count, after the policy).
pub fn effect(t: &EffectiveThresholds<'_>, counts: &Counts, f: &Finding) -> Effect {
    let facts = f.facts();
    let fails = reached(t.fail, counts, f, "fail").or_else(|| met(&t.fail_if, &facts));
    if let Some(why) = fails {
        return Effect::Fails(why);
    }
    match reached(t.warn, counts, f, "warn").or_else(|| met(&t.warn_if, &facts)) {
        Some(why) => Effect::Warns(why),
        None => Effect::Counts,
    }
}

fn reached(t: &Thresholds, counts: &Counts, f: &Finding, kind: &str) -> Option<String> {
    let min = *t.get(&f.severity)?;
    let n = counts.get(f.severity);
    (n >= min).then(|| {
        format!(
            "{n} {} counted (policy: {kind} at {min} or more)",
            f.severity
        )
    })
}

fn met(set: &ConditionSet<'_>, facts: &Facts<'_>) -> Option<String> {
    let i = set.first_met(facts)?;
    Some(format!(
        "meets {}[{i}] ({})",
        set.field,
        set.conditions[i].describe(facts)
    ))
}

/// The finding's advisory as a link target: an `http(s)` URL without spaces, quotes, angle
/// brackets or parentheses (the scan's text is outside input), at most 2000 characters.
pub fn advisory_link(f: &Finding) -> Option<&str> {
    let link = f.link.as_deref()?.trim();
    let scheme = link.starts_with("https://") || link.starts_with("http://");
    let clean = !link
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>\"'`()[]{}|\\^".contains(c));
    (scheme && clean && link.len() > "https://".len() && link.len() <= 2000).then_some(link)
}

/// Outside text (a package name, a version, an error message) as inert Markdown on one line:
/// no HTML, no link, no emphasis, no table cell break; at most 300 characters.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (n, c) in s.chars().enumerate() {
        if n == 300 {
            out.push('…');
            break;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::severity::Severity;
    use crate::judgement::findings::FixState;
    use crate::policy::document::Policy;

    fn finding(id: &str, sev: Severity, package: &str) -> Finding {
        Finding {
            id: id.into(),
            severity: sev,
            package: Some(package.into()),
            installed_version: Some("1.0".into()),
            fixed_version: None,
            fix_available: FixState::Unknown,
            exploit_available: None,
            score: None,
            link: None,
        }
    }

    fn counts(pairs: &[(Severity, u64)]) -> Counts {
        let mut c = Counts::default();
        pairs.iter().for_each(|(s, n)| c.set(*s, *n));
        c
    }

    #[test]
    fn thresholds_reached_fail_or_warn_the_findings_of_that_severity() {
        let p = Policy::default(); // fail CRITICAL >= 1, warn HIGH >= 1
        let t = p.thresholds_for("demo-api");
        let c = counts(&[
            (Severity::Critical, 1),
            (Severity::High, 2),
            (Severity::Low, 3),
        ]);
        let crit = effect(&t, &c, &finding("CVE-1", Severity::Critical, "openssl"));
        assert_eq!(
            crit,
            Effect::Fails("1 CRITICAL counted (policy: fail at 1 or more)".into())
        );
        assert_eq!(crit.level(), "error");
        let high = effect(&t, &c, &finding("CVE-2", Severity::High, "curl"));
        assert_eq!(high.level(), "warning", "{high:?}");
        let low = effect(&t, &c, &finding("CVE-3", Severity::Low, "zlib"));
        assert_eq!(low, Effect::Counts);
        assert_eq!(low.level(), "note");
    }

    #[test]
    fn a_threshold_not_reached_fails_nothing() {
        let p = Policy::from_json(r#"{"fail": {"HIGH": 3}, "warn": {}}"#).unwrap();
        let t = p.thresholds_for("demo-api");
        let f = finding("CVE-2", Severity::High, "curl");
        assert_eq!(
            effect(&t, &counts(&[(Severity::High, 2)]), &f),
            Effect::Counts
        );
        assert_eq!(
            effect(&t, &counts(&[(Severity::High, 3)]), &f).level(),
            "error"
        );
    }

    #[test]
    fn conditions_fail_or_warn_the_findings_that_meet_them() {
        let p = Policy::from_json(
            r#"{"fail": {}, "warn": {},
                "fail_if": [{"package": "log4j-*"}], "warn_if": [{"severity_at_least": "MEDIUM"}]}"#,
        )
        .unwrap();
        let t = p.thresholds_for("demo-api");
        let c = counts(&[(Severity::Medium, 2)]);
        let log4j = effect(&t, &c, &finding("CVE-9", Severity::Medium, "log4j-core"));
        assert_eq!(
            log4j,
            Effect::Fails("meets fail_if[0] (MEDIUM, package log4j-core)".into())
        );
        let other = effect(&t, &c, &finding("CVE-8", Severity::Medium, "zlib"));
        assert_eq!(other, Effect::Warns("meets warn_if[0] (MEDIUM)".into()));
    }

    #[test]
    fn only_plain_http_links_are_advisories() {
        let mut f = finding("CVE-1", Severity::Low, "zlib");
        for (link, ok) in [
            ("https://nvd.nist.gov/vuln/detail/CVE-1", true),
            ("http://security-tracker.debian.org/tracker/CVE-1", true),
            ("javascript:alert(1)", false),
            ("https://x.test/a b", false),
            ("https://x.test/a)[y](z", false),
            ("https://", false),
        ] {
            f.link = Some(link.into());
            assert_eq!(advisory_link(&f).is_some(), ok, "{link}");
        }
    }

    #[test]
    fn outside_text_is_inert_markdown_on_one_line() {
        assert_eq!(
            md("a|b <img src=x> [x](y) *e*\nnext"),
            r"a\|b &lt;img src=x&gt; \[x\](y) \*e\* next"
        );
        assert_eq!(md(&"x".repeat(400)).chars().count(), 301);
    }
}
