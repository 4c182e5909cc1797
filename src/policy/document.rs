//! The gate policy (the policy document of the README): thresholds, allowlist, overrides, and what a failed scan
//! means. Parsed strictly — an unknown key is a typo that would silently weaken the gate — and
//! validated once at start, with an error that names the bad field.

use crate::domain::severity::{Counts, Severity};
use crate::domain::verdict::Verdict;
use crate::policy::conditions::{Condition, ConditionSet};
use crate::policy::enforcement::{Block, BlockDoc, EcsHook, EcsHookDoc};
use crate::policy::exceptions::{AllowlistDoc, Exceptions, VexEntryDoc};
use crate::policy::glob::glob_match;
use crate::policy::glob::validate as validate_glob;
use crate::policy::suggest::{annotate_serde_message, closest};
use crate::policy::vex::VexDocument;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Minimum number of findings of a severity that trips a threshold.
pub type Thresholds = BTreeMap<Severity, u64>;

/// Thresholds and risk conditions in force for one repository, after the overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveThresholds<'a> {
    pub fail: &'a Thresholds,
    pub warn: &'a Thresholds,
    pub fail_if: ConditionSet<'a>,
    pub warn_if: ConditionSet<'a>,
    /// The override pattern that applied, if any.
    pub matched_override: Option<&'a str>,
}

/// An allowlist entry that expires within this many days is announced before it lapses:
/// `policy validate` warns of it, and the registry report lists it.
pub const EXPIRY_NOTICE_DAYS: i64 = 14;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("invalid policy{}: {problem}", source_suffix(.source_name))]
    Invalid {
        source_name: String,
        problem: String,
    },
}

fn source_suffix(source: &str) -> String {
    if source.is_empty() {
        String::new()
    } else {
        format!(" ({source})")
    }
}

impl PolicyError {
    fn at(field: impl std::fmt::Display, problem: impl std::fmt::Display) -> PolicyError {
        PolicyError::Invalid {
            source_name: String::new(),
            problem: format!("`{field}` {problem}"),
        }
    }

    /// A problem of a document read from `source` (a VEX parameter, a team's exceptions).
    pub fn at_source(source: &str, problem: impl std::fmt::Display) -> PolicyError {
        PolicyError::Invalid {
            source_name: source.to_string(),
            problem: problem.to_string(),
        }
    }

    /// Names where the policy came from (`GATE_POLICY`, a file, an SSM parameter).
    pub fn from_source(self, source: &str) -> PolicyError {
        match self {
            PolicyError::Invalid { problem, .. } => PolicyError::Invalid {
                source_name: source.to_string(),
                problem,
            },
        }
    }
}

/// What a scan that could not run means for the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnScanFailure {
    /// Verdict ERROR, alert, leave the image alone.
    #[default]
    Alert,
    /// Verdict ERROR, alert and quarantine (fail closed).
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryOverride {
    pub pattern: String,
    pub fail: Option<Thresholds>,
    pub warn: Option<Thresholds>,
    /// When present, replaces the top-level `fail_if` for matching repositories.
    pub fail_if: Option<Vec<Condition>>,
    pub warn_if: Option<Vec<Condition>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub fail: Thresholds,
    pub warn: Thresholds,
    /// Risk conditions judged per finding: any finding meeting one fails the image.
    pub fail_if: Vec<Condition>,
    /// Likewise for WARN.
    pub warn_if: Vec<Condition>,
    pub allowlist: Vec<crate::policy::exceptions::AllowlistEntry>,
    /// OpenVEX documents: the policy's, those of its `{"parameter"}` entries once read, and
    /// those of the teams' exceptions documents.
    pub vex: Vec<VexDocument>,
    /// `vex` entries that name an SSM parameter, read at start (`entry::config::load_policy`).
    pub vex_parameters: Vec<String>,
    pub ignore_unfixed: bool,
    pub on_scan_failure: OnScanFailure,
    pub notify: Vec<Verdict>,
    pub strip_tags: Vec<String>,
    pub repositories: Vec<RepositoryOverride>,
    /// The hard block: archive failing images (`block`).
    pub block: Block,
    /// The ECS deployment lifecycle hook's answers (`ecs_hook`).
    pub ecs_hook: EcsHook,
}

impl Default for Policy {
    /// The design's rule: one CRITICAL fails, one HIGH warns.
    fn default() -> Self {
        Policy {
            fail: BTreeMap::from([(Severity::Critical, 1)]),
            warn: BTreeMap::from([(Severity::High, 1)]),
            fail_if: Vec::new(),
            warn_if: Vec::new(),
            allowlist: Vec::new(),
            vex: Vec::new(),
            vex_parameters: Vec::new(),
            ignore_unfixed: false,
            on_scan_failure: OnScanFailure::Alert,
            notify: vec![Verdict::Fail, Verdict::Error],
            strip_tags: Vec::new(),
            repositories: Vec::new(),
            block: Block::default(),
            ecs_hook: EcsHook::default(),
        }
    }
}

impl Policy {
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        if let Some(problem) = crate::policy::suggest::json_object_problem(text) {
            return Err(PolicyError::Invalid {
                source_name: String::new(),
                problem,
            });
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        let doc: PolicyDoc = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = annotate_serde_message(&e.into_inner().to_string());
            if path.is_empty() || path == "." {
                PolicyError::Invalid {
                    source_name: String::new(),
                    problem: inner,
                }
            } else {
                PolicyError::at(path, inner)
            }
        })?;
        doc.validate()
    }

    /// The first override whose pattern matches the repository replaces `fail` / `warn` /
    /// `fail_if` / `warn_if`, each only where it sets it.
    pub fn thresholds_for(&self, repository: &str) -> EffectiveThresholds<'_> {
        let found = self
            .repositories
            .iter()
            .enumerate()
            .find(|(_, o)| glob_match(&o.pattern, repository));
        let o = found.map(|(_, o)| o);
        EffectiveThresholds {
            fail: o.and_then(|o| o.fail.as_ref()).unwrap_or(&self.fail),
            warn: o.and_then(|o| o.warn.as_ref()).unwrap_or(&self.warn),
            fail_if: condition_set(found, |o| o.fail_if.as_ref(), &self.fail_if, "fail_if"),
            warn_if: condition_set(found, |o| o.warn_if.as_ref(), &self.warn_if, "warn_if"),
            matched_override: o.map(|o| o.pattern.as_str()),
        }
    }

    /// Whether a finding counted in `counts` could meet a `fail_if` or `warn_if` condition in
    /// force for the repository. `false` is a proof (the counts hold no finding severe enough
    /// for any condition), so a PASS on the counts alone stays a PASS; `true` means the
    /// findings must be read. The answer is only as complete as `counts`.
    pub fn counts_can_meet_conditions(&self, repository: &str, counts: &Counts) -> bool {
        let t = self.thresholds_for(repository);
        t.fail_if.may_hold_given(counts) || t.warn_if.may_hold_given(counts)
    }

    pub fn notifies(&self, verdict: Verdict) -> bool {
        self.notify.contains(&verdict)
    }

    /// Merges a team's exceptions: its entries and documents keep the scope of its
    /// repositories.
    pub fn add_exceptions(&mut self, exceptions: Exceptions) {
        self.allowlist.extend(exceptions.allowlist);
        self.vex.extend(exceptions.vex);
    }
}

/// The policy document of ecr-scan-gate (GATE_POLICY, GATE_POLICY_FILE, GATE_POLICY_PARAMETER).
/// Every key is optional; an unknown key is an error.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ecr-scan-gate policy")]
struct PolicyDoc {
    /// Severity -> number of findings that fails the image (default {"CRITICAL": 1}). Setting
    /// it replaces the default entirely.
    #[schemars(schema_with = "thresholds_schema")]
    fail: Option<BTreeMap<String, i64>>,
    /// Severity -> number of findings that makes the verdict WARN (default {"HIGH": 1}).
    #[schemars(schema_with = "thresholds_schema")]
    warn: Option<BTreeMap<String, i64>>,
    /// Risk conditions: the image fails when any finding meets any of them.
    #[serde(default)]
    fail_if: Vec<Condition>,
    /// Risk conditions: the verdict is WARN when any finding meets any of them.
    #[serde(default)]
    warn_if: Vec<Condition>,
    /// Accepted vulnerabilities: findings with these ids (or in these packages) do not count.
    #[serde(default)]
    allowlist: Vec<AllowlistDoc>,
    /// OpenVEX documents (inline, or {"parameter": "/name"}): a not_affected or fixed statement
    /// about the image removes the finding.
    #[serde(default)]
    #[schemars(with = "Vec<VexEntryDoc>")]
    vex: Vec<serde_json::Value>,
    /// Findings that enhanced scanning says have no fix (fixAvailable NO) do not count.
    #[serde(default)]
    ignore_unfixed: bool,
    /// What a scan that could not run means: alert (verdict ERROR) or block (ERROR and quarantine).
    #[serde(default)]
    on_scan_failure: OnScanFailure,
    /// Verdicts that send an alert (default ["FAIL", "ERROR"]).
    notify: Option<Vec<Verdict>>,
    /// Globs of tags to remove from a failing image once its quarantine tag is in place.
    #[serde(default)]
    strip_tags: Vec<GlobDoc>,
    /// Per-repository overrides; the first whose `match` matches the repository applies.
    #[serde(default)]
    repositories: Vec<OverrideDoc>,
    /// The hard block: also archive failing images, so that no client can pull them.
    block: Option<BlockDoc>,
    /// The ECS deployment lifecycle hook: how long it waits for a scan, and images outside ECR.
    ecs_hook: Option<EcsHookDoc>,
}

/// A glob: `*` any run of characters (including `/`), `?` one character.
#[derive(Deserialize, JsonSchema)]
#[serde(transparent)]
struct GlobDoc(#[schemars(length(min = 1, max = 256))] String);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OverrideDoc {
    /// Glob on the repository name.
    #[serde(rename = "match")]
    #[schemars(length(min = 1, max = 256))]
    pattern: String,
    /// Replaces the top-level `fail` for matching repositories.
    #[schemars(schema_with = "thresholds_schema")]
    fail: Option<BTreeMap<String, i64>>,
    /// Replaces the top-level `warn` for matching repositories.
    #[schemars(schema_with = "thresholds_schema")]
    warn: Option<BTreeMap<String, i64>>,
    /// Replaces the top-level `fail_if` for matching repositories.
    fail_if: Option<Vec<Condition>>,
    /// Replaces the top-level `warn_if` for matching repositories.
    warn_if: Option<Vec<Condition>>,
}

/// A thresholds object: severity names as keys, counts of at least 1 as values.
fn thresholds_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    schemars::json_schema!({
        "type": "object",
        "propertyNames": {"enum": names},
        "additionalProperties": {"type": "integer", "minimum": 1}
    })
}

/// The JSON Schema of the policy document, generated from the types the function parses with.
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(PolicyDoc).to_value()
}

/// An override's own conditions where it sets them, else the top-level ones.
fn condition_set<'a>(
    found: Option<(usize, &'a RepositoryOverride)>,
    own: impl Fn(&'a RepositoryOverride) -> Option<&'a Vec<Condition>>,
    top: &'a [Condition],
    key: &str,
) -> ConditionSet<'a> {
    match found.and_then(|(i, o)| own(o).map(|c| (i, c))) {
        Some((i, c)) => ConditionSet {
            conditions: c,
            field: format!("repositories[{i}].{key}"),
        },
        None => ConditionSet {
            conditions: top,
            field: key.to_string(),
        },
    }
}

fn conditions(list: Vec<Condition>, field: &str) -> Result<Vec<Condition>, PolicyError> {
    for (i, c) in list.iter().enumerate() {
        c.validate().map_err(|(key, problem)| {
            let at = if key.is_empty() {
                format!("{field}[{i}]")
            } else {
                format!("{field}[{i}].{key}")
            };
            PolicyError::at(at, problem)
        })?;
    }
    Ok(list)
}

impl PolicyDoc {
    fn validate(self) -> Result<Policy, PolicyError> {
        let defaults = Policy::default();
        let fail = match self.fail {
            Some(t) => thresholds(t, "fail")?,
            None => defaults.fail,
        };
        let warn = match self.warn {
            Some(t) => thresholds(t, "warn")?,
            None => defaults.warn,
        };
        let allowlist = crate::policy::exceptions::allowlist(self.allowlist, "allowlist")
            .map_err(|(field, problem)| PolicyError::at(field, problem))?;
        let (vex, vex_parameters) = crate::policy::exceptions::vex_entries(self.vex, "vex")
            .map_err(|(field, problem)| PolicyError::at(field, problem))?;
        for (i, g) in self.strip_tags.iter().enumerate() {
            validate_glob(&g.0).map_err(|p| PolicyError::at(format!("strip_tags[{i}]"), p))?;
        }
        let mut repositories = Vec::with_capacity(self.repositories.len());
        for (i, o) in self.repositories.into_iter().enumerate() {
            validate_glob(&o.pattern)
                .map_err(|p| PolicyError::at(format!("repositories[{i}].match"), p))?;
            repositories.push(RepositoryOverride {
                pattern: o.pattern,
                fail: o
                    .fail
                    .map(|t| thresholds(t, &format!("repositories[{i}].fail")))
                    .transpose()?,
                warn: o
                    .warn
                    .map(|t| thresholds(t, &format!("repositories[{i}].warn")))
                    .transpose()?,
                fail_if: o
                    .fail_if
                    .map(|c| conditions(c, &format!("repositories[{i}].fail_if")))
                    .transpose()?,
                warn_if: o
                    .warn_if
                    .map(|c| conditions(c, &format!("repositories[{i}].warn_if")))
                    .transpose()?,
            });
        }
        Ok(Policy {
            fail,
            warn,
            fail_if: conditions(self.fail_if, "fail_if")?,
            warn_if: conditions(self.warn_if, "warn_if")?,
            allowlist,
            vex,
            vex_parameters,
            ignore_unfixed: self.ignore_unfixed,
            on_scan_failure: self.on_scan_failure,
            notify: self.notify.unwrap_or(defaults.notify),
            strip_tags: self.strip_tags.into_iter().map(|g| g.0).collect(),
            repositories,
            block: self
                .block
                .map(BlockDoc::validate)
                .transpose()
                .map_err(|(field, problem)| PolicyError::at(field, problem))?
                .unwrap_or_default(),
            ecs_hook: self
                .ecs_hook
                .map(EcsHookDoc::validate)
                .transpose()
                .map_err(|(field, problem)| PolicyError::at(field, problem))?
                .unwrap_or_default(),
        })
    }
}

fn thresholds(raw: BTreeMap<String, i64>, field: &str) -> Result<Thresholds, PolicyError> {
    let mut out = Thresholds::new();
    for (name, n) in raw {
        let sev = Severity::parse(&name).ok_or_else(|| {
            let hint = closest(&name, Severity::ALL.iter().map(|s| s.as_str()))
                .map(|s| format!(" — did you mean `{s}`?"))
                .unwrap_or_default();
            PolicyError::at(
                format!("{field}.{name}"),
                format!("is not a severity (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, UNTRIAGED){hint}"),
            )
        })?;
        if n < 1 {
            return Err(PolicyError::at(
                format!("{field}.{name}"),
                format!("must be at least 1 (it is the number of findings that trips the threshold), got {n}"),
            ));
        }
        out.insert(sev, n as u64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
