//! Configuration from the environment (the function's contract in the README), read once at start. Any problem stops
//! the function with a message that names the variable.

use crate::adapters::slack_webhook::SlackSource;
use crate::domain::quarantine::validate_prefix;
use crate::engine::accounts::MemberConfig;
use crate::engine::ports::{ParameterError, Parameters};
use crate::engine::settings::Settings;
use crate::judgement::notice::Notice;
use crate::policy::document::{Policy, PolicyError};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{first} and {second} are both set: set only one policy source")]
    TwoPolicySources {
        first: &'static str,
        second: &'static str,
    },
    #[error("{variable} {problem}")]
    Invalid {
        variable: &'static str,
        problem: String,
    },
    #[error("cannot read the policy file {path}: {message}")]
    PolicyFile { path: String, message: String },
    #[error("cannot read the policy: {0}")]
    PolicyParameter(#[from] ParameterError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// No source set: the design's default policy.
    Default,
    /// `GATE_POLICY`: the JSON document itself.
    Inline(String),
    /// `GATE_POLICY_FILE`: a path.
    File(PathBuf),
    /// `GATE_POLICY_PARAMETER`: an SSM parameter name.
    Parameter(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub policy_source: PolicySource,
    pub settings: Settings,
    pub sns_topic_arn: Option<String>,
    pub slack: SlackSource,
    /// Hub and member accounts (`MEMBER_ROLE_NAME`, ...); `None`: the function's own account only.
    pub members: Option<MemberConfig>,
    /// `SWEEP_QUEUE_URL`: the sweep enqueues one message per image to look at; unset, it
    /// evaluates them itself within the deadline.
    pub sweep_queue_url: Option<String>,
    /// `EXCEPTIONS_PARAMETER_PATH`: the SSM path under which teams keep their exceptions
    /// documents.
    pub exceptions_path: Option<String>,
    /// `GATE_POLICY_REVISION`: what Terraform stored in the policy parameter (the first 16 hex
    /// digits of its SHA-256), so that a policy rewritten outside Terraform is told.
    pub policy_revision: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let sources = [
            ("GATE_POLICY", get("GATE_POLICY").map(PolicySource::Inline)),
            (
                "GATE_POLICY_FILE",
                get("GATE_POLICY_FILE").map(|p| PolicySource::File(p.into())),
            ),
            (
                "GATE_POLICY_PARAMETER",
                get("GATE_POLICY_PARAMETER").map(PolicySource::Parameter),
            ),
        ];
        let set: Vec<_> = sources
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        let policy_source = match set.as_slice() {
            [] => PolicySource::Default,
            [(_, only)] => only.clone(),
            [(first, _), (second, _), ..] => {
                return Err(ConfigError::TwoPolicySources { first, second })
            }
        };
        let quarantine_prefix =
            get("QUARANTINE_TAG_PREFIX").unwrap_or_else(|| Settings::default().quarantine_prefix);
        validate_prefix(&quarantine_prefix).map_err(|problem| ConfigError::Invalid {
            variable: "QUARANTINE_TAG_PREFIX",
            problem,
        })?;
        let dry_run = match get("DRY_RUN")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("false") | Some("0") | Some("no") => false,
            Some("true") | Some("1") | Some("yes") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "DRY_RUN",
                    problem: format!(
                        "must be true or false, got {:?}",
                        crate::domain::image::truncate(other, 40)
                    ),
                })
            }
        };
        let slack = match (get("SLACK_WEBHOOK_PARAMETER"), get("SLACK_WEBHOOK_URL")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    variable: "SLACK_WEBHOOK_URL",
                    problem: "is set together with SLACK_WEBHOOK_PARAMETER: set only one"
                        .to_string(),
                })
            }
            (Some(p), None) => SlackSource::Parameter(p),
            (None, Some(url)) => SlackSource::Url(url),
            (None, None) => SlackSource::None,
        };
        let members = MemberConfig::from_lookup(&lookup).map_err(|e| ConfigError::Invalid {
            variable: e.variable,
            problem: e.problem,
        })?;
        let repositories = match get("GATE_REPOSITORIES") {
            None => vec!["*".to_string()],
            Some(list) => {
                let globs: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_string)
                    .collect();
                if globs.is_empty() {
                    return Err(ConfigError::Invalid {
                        variable: "GATE_REPOSITORIES",
                        problem: "is set but names no repository glob (comma-separated, e.g. team-a/*,demo-api)".to_string(),
                    });
                }
                for g in &globs {
                    crate::policy::glob::validate(g).map_err(|problem| ConfigError::Invalid {
                        variable: "GATE_REPOSITORIES",
                        problem: format!("{g:?} {problem}"),
                    })?;
                }
                globs
            }
        };
        let exceptions_path = match get("EXCEPTIONS_PARAMETER_PATH") {
            None => None,
            Some(p) if p.starts_with('/') && p.len() <= 1011 && !p.contains("//") => Some(p),
            Some(p) => {
                return Err(ConfigError::Invalid {
                    variable: "EXCEPTIONS_PARAMETER_PATH",
                    problem: format!(
                        "must be an SSM parameter path that starts with `/` (e.g. /ecr-scan-gate/exceptions/), got {:?}",
                        crate::domain::image::truncate(&p, 80)
                    ),
                })
            }
        };
        Ok(Config {
            policy_revision: get("GATE_POLICY_REVISION"),
            exceptions_path,
            members,
            policy_source,
            settings: Settings {
                quarantine_prefix,
                dry_run,
                repositories,
            },
            sns_topic_arn: get("SNS_TOPIC_ARN"),
            slack,
            sweep_queue_url: get("SWEEP_QUEUE_URL"),
        })
    }

    /// Whether the policy needs SSM (so `main` builds the SSM client only then).
    pub fn needs_ssm(&self) -> bool {
        matches!(self.policy_source, PolicySource::Parameter(_))
            || matches!(self.slack, SlackSource::Parameter(_))
            || self.exceptions_path.is_some()
    }
}

/// Where the policy comes from, for logs and the check's report (never the document itself).
pub fn describe_source(source: &PolicySource) -> String {
    match source {
        PolicySource::Default => {
            "built-in default (no GATE_POLICY, GATE_POLICY_FILE or GATE_POLICY_PARAMETER set)"
                .to_string()
        }
        PolicySource::Inline(_) => "GATE_POLICY".to_string(),
        PolicySource::File(path) => format!("file {}", path.display()),
        PolicySource::Parameter(name) => format!("GATE_POLICY_PARAMETER={name}"),
    }
}

/// A short hash of the policy as parsed (not of its text: formatting does not change it), so a
/// pipeline's check and the function's start-up log can be compared. FNV-1a, 12 hex digits: it
/// tells policies apart, it is not a security measure. The same release gives the same hash.
pub fn policy_hash(policy: &Policy) -> String {
    let text = format!("{policy:?}");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")[..12].to_string()
}

/// The warning when the built-in default policy judges: a pipeline and the function must not
/// silently judge by different policies.
pub const DEFAULT_POLICY_WARNING: &str = "no policy is set (GATE_POLICY, GATE_POLICY_FILE, GATE_POLICY_PARAMETER or --policy-file): judging by the built-in default (fail on CRITICAL >= 1, warn on HIGH >= 1); if the function runs with another policy, pass the same one here";

/// The revision of a policy document as stored: the first 16 hex digits of the SHA-256 of its
/// text, as the Terraform computes `GATE_POLICY_REVISION` (`substr(sha256(json), 0, 16)`).
pub fn revision_of(text: &str) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(text.as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The notice to send when the policy parameter holds another document than the one
/// Terraform stored (`GATE_POLICY_REVISION`): someone with `ssm:PutParameter` rewrote what the
/// gate untags across the organisation. The gate keeps judging with the document it read.
pub fn policy_drift(config: &Config, read_revision: Option<&str>) -> Option<Notice> {
    let PolicySource::Parameter(name) = &config.policy_source else {
        return None;
    };
    let (Some(expected), Some(read)) = (config.policy_revision.as_deref(), read_revision) else {
        return None;
    };
    if expected == read {
        return None;
    }
    Some(Notice {
        title: "ecr-scan-gate: the policy was changed outside Terraform".to_string(),
        text: format!(
            "The policy parameter {name} holds revision {read}, but Terraform stored revision {expected} (GATE_POLICY_REVISION). \
             The gate judges with the document it read. If the change was not meant, apply the Terraform again to put the reviewed policy back, \
             and find who wrote the parameter (CloudTrail: ssm:PutParameter on {name}); if it was meant, make it in Terraform."
        ),
    })
}

/// Sends `notice` on every channel, each within `within`; what each channel answered. At start,
/// so it is bounded: a channel that hangs delays the first invocation by `within` at most.
pub async fn announce(
    notifiers: &[std::sync::Arc<dyn crate::engine::ports::Notifier>],
    notice: &Notice,
    within: std::time::Duration,
) -> Vec<(&'static str, Result<(), String>)> {
    futures_util::future::join_all(notifiers.iter().map(|n| async move {
        let sent = match tokio::time::timeout(within, n.notice(notice)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.message),
            Err(_) => Err(format!("not sent within {} s", within.as_secs())),
        };
        (n.channel(), sent)
    }))
    .await
}

/// Reads and validates the policy once, at start.
pub async fn load_policy(
    source: &PolicySource,
    parameters: Option<&impl Parameters>,
) -> Result<Policy, ConfigError> {
    match source {
        PolicySource::Default => Ok(Policy::default()),
        PolicySource::Inline(text) => {
            Ok(Policy::from_json(text).map_err(|e| e.from_source("GATE_POLICY"))?)
        }
        PolicySource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::PolicyFile {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            Ok(Policy::from_json(&text)
                .map_err(|e| e.from_source(&format!("GATE_POLICY_FILE={}", path.display())))?)
        }
        PolicySource::Parameter(_) => Ok(load_policy_revised(source, parameters).await?.0),
    }
}

/// As [`load_policy`], with the revision of the text read from the parameter
/// ([`revision_of`]); `None` for the other sources.
pub async fn load_policy_revised(
    source: &PolicySource,
    parameters: Option<&impl Parameters>,
) -> Result<(Policy, Option<String>), ConfigError> {
    let PolicySource::Parameter(name) = source else {
        return Ok((Box::pin(load_policy(source, parameters)).await?, None));
    };
    let Some(parameters) = parameters else {
        return Err(ConfigError::Invalid {
            variable: "GATE_POLICY_PARAMETER",
            problem: "is set but no parameter store is available".to_string(),
        });
    };
    let text = parameters.get(name).await?;
    let policy = Policy::from_json(&text)
        .map_err(|e| e.from_source(&format!("GATE_POLICY_PARAMETER={name}")))?;
    Ok((policy, Some(revision_of(&text))))
}

/// Reads what the policy names outside itself, once, at start: the OpenVEX documents of its
/// `{"parameter"}` entries, and every team's exceptions document under `exceptions_path`.
///
/// A document that cannot be read or is invalid is refused, and only it: its exceptions do not
/// apply, so the findings it would have excused count (fail closed for that document alone),
/// and the answer names it and why. One team's typo never stops the gate for every team, and
/// never excuses anything.
pub async fn complete_policy(
    policy: &mut Policy,
    exceptions_path: Option<&str>,
    parameters: Option<&impl Parameters>,
) -> Result<Vec<String>, ConfigError> {
    if policy.vex_parameters.is_empty() && exceptions_path.is_none() {
        return Ok(Vec::new());
    }
    let Some(parameters) = parameters else {
        return Err(ConfigError::Invalid {
            variable: "EXCEPTIONS_PARAMETER_PATH",
            problem: "the policy names SSM parameters (vex, or exceptions) but no parameter store is available".to_string(),
        });
    };
    let mut refused = Vec::new();
    for name in std::mem::take(&mut policy.vex_parameters) {
        let source = format!("parameter {name}");
        let read = match parameters.get(&name).await {
            Ok(text) => serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| format!("{source}: is not JSON: {e}"))
                .and_then(|v| crate::policy::vex::VexDocument::parse(&v, &source)),
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(doc) => policy.vex.push(doc),
            Err(problem) => refused.push(format!(
                "VEX document refused, its statements do not apply: {problem}"
            )),
        }
    }
    if let Some(path) = exceptions_path {
        match parameters.get_by_path(path).await {
            Ok(documents) => {
                for (name, text) in documents {
                    match crate::policy::exceptions::parse_exceptions(&text, &name) {
                        Ok(exceptions) => policy.add_exceptions(exceptions),
                        Err(problem) => refused.push(format!(
                            "exceptions document refused, its exceptions do not apply: {problem}"
                        )),
                    }
                }
            }
            Err(e) => refused.push(format!(
                "the teams' exceptions under EXCEPTIONS_PARAMETER_PATH={path} could not be read, none applies: {e}"
            )),
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.policy_source, PolicySource::Default);
        assert_eq!(c.settings, Settings::default());
        assert_eq!(c.sns_topic_arn, None);
        assert_eq!(c.slack, SlackSource::None);
        assert_eq!(c.members, None);
        assert!(!c.needs_ssm());
    }

    #[test]
    fn one_policy_source_only() {
        let e = cfg(&[("GATE_POLICY", "{}"), ("GATE_POLICY_FILE", "/p.json")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "GATE_POLICY and GATE_POLICY_FILE are both set: set only one policy source"
        );
        assert_eq!(
            cfg(&[("GATE_POLICY_PARAMETER", "/gate/policy")])
                .unwrap()
                .policy_source,
            PolicySource::Parameter("/gate/policy".into())
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert!(cfg(&[("DRY_RUN", "maybe")])
            .unwrap_err()
            .to_string()
            .starts_with("DRY_RUN must be true or false"));
        assert!(cfg(&[("QUARANTINE_TAG_PREFIX", "-bad")])
            .unwrap_err()
            .to_string()
            .starts_with("QUARANTINE_TAG_PREFIX"));
        assert!(cfg(&[("QUARANTINE_TAG_PREFIX", &"q".repeat(65))]).is_err());
        assert!(cfg(&[("DRY_RUN", "TRUE")]).unwrap().settings.dry_run);
        assert_eq!(
            cfg(&[("MEMBER_ROLE_NAME", "gate-member")])
                .unwrap_err()
                .to_string(),
            "MEMBER_ACCOUNTS is required with MEMBER_ROLE_NAME: the comma-separated 12-digit \
             account ids the gate may act in, or * for any account whose events reach it"
        );
    }

    #[test]
    fn the_policy_hash_ignores_formatting_and_tells_policies_apart() {
        let a = Policy::from_json(r#"{"fail": {"CRITICAL": 1}}"#).unwrap();
        let b = Policy::from_json("{\n  \"fail\": { \"CRITICAL\": 1 }\n}").unwrap();
        let c = Policy::from_json(r#"{"fail": {"CRITICAL": 2}}"#).unwrap();
        assert_eq!(policy_hash(&a), policy_hash(&b));
        assert_ne!(policy_hash(&a), policy_hash(&c));
        assert_eq!(policy_hash(&a).len(), 12);
    }

    #[test]
    fn webhook_url_is_never_in_debug_output() {
        let c = cfg(&[(
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T0/B0/secret",
        )])
        .unwrap();
        assert!(!format!("{c:?}").contains("secret"));
    }

    struct NoStore;
    impl Parameters for NoStore {
        async fn get(&self, name: &str) -> Result<String, ParameterError> {
            Err(ParameterError {
                name: name.into(),
                message: "parameter not found".into(),
            })
        }
    }

    #[tokio::test]
    async fn policy_errors_name_their_source() {
        let e = load_policy(
            &PolicySource::Inline("{\"fail\": {\"BAD\": 1}}".into()),
            None::<&NoStore>,
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string().contains("GATE_POLICY") && e.to_string().contains("fail.BAD"),
            "{e}"
        );
        let e = load_policy(
            &PolicySource::File("/nonexistent/p.json".into()),
            None::<&NoStore>,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/p.json"), "{e}");
        let e = load_policy(
            &PolicySource::Parameter("/gate/policy".into()),
            Some(&NoStore),
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string().contains("/gate/policy") && e.to_string().contains("not found"),
            "{e}"
        );
    }
}
