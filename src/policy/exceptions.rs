//! Exceptions as teams write them: allowlist entries by vulnerability id and/or package, OpenVEX
//! documents, and team-owned exception documents (`EXCEPTIONS_PARAMETER_PATH`) that may excuse
//! findings only in the repositories they name.

use crate::domain::date::validate_date;
use crate::policy::glob::{glob_match, validate as validate_glob};
use crate::policy::vex::{VexDoc, VexDocument};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowlistEntry {
    /// The vulnerability id; `None`: every vulnerability of `package`.
    pub id: Option<String>,
    /// A glob on the finding's package name; `None`: any package.
    pub package: Option<String>,
    pub repository: Option<String>,
    /// Last day (UTC, inclusive) the entry applies, `YYYY-MM-DD`.
    pub expires: Option<String>,
    pub reason: String,
    /// The repositories its exceptions document may speak for (globs); empty: any (the policy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// Where it was read, when not in the policy: `exceptions /gate/exceptions/team-a`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl AllowlistEntry {
    pub fn applies_to_repository(&self, repository: &str) -> bool {
        self.repository
            .as_deref()
            .is_none_or(|g| glob_match(g, repository))
            && (self.scope.is_empty() || self.scope.iter().any(|g| glob_match(g, repository)))
    }

    /// Whether it covers a finding with this package (the id is matched by the caller).
    pub fn applies_to_package(&self, package: Option<&str>) -> bool {
        match (&self.package, package) {
            (None, _) => true,
            (Some(g), Some(p)) => glob_match(g, p),
            (Some(_), None) => false,
        }
    }

    pub fn is_expired(&self, today: &str) -> bool {
        self.expires.as_deref().is_some_and(|e| today > e)
    }

    /// `CVE-2024-0001`, `package linux-libc-dev`, `CVE-2024-0001 in package openssl*`, with
    /// `(exceptions /path/team)` when a team's document holds it.
    pub fn label(&self) -> String {
        let what = match (&self.id, &self.package) {
            (Some(id), None) => id.clone(),
            (None, Some(p)) => format!("package {p}"),
            (Some(id), Some(p)) => format!("{id} in package {p}"),
            (None, None) => "?".to_string(),
        };
        match &self.source {
            Some(s) => format!("{what} ({s})"),
            None => what,
        }
    }
}

/// An allowlist entry as written.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllowlistDoc {
    /// The vulnerability id, e.g. CVE-2024-0001. Optional when `package` is set.
    #[schemars(length(min = 1))]
    id: Option<String>,
    /// Glob on the finding's package name (e.g. linux-libc-dev): the entry covers every
    /// vulnerability of the package, or only `id` in it.
    #[schemars(length(min = 1, max = 256))]
    package: Option<String>,
    /// Glob on the repository name; the entry applies to every repository when absent.
    #[schemars(length(min = 1, max = 256))]
    repository: Option<String>,
    /// Last day (UTC, inclusive) the entry applies, YYYY-MM-DD.
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    expires: Option<String>,
    /// Why the finding is accepted.
    #[schemars(length(min = 1))]
    reason: String,
}

/// A bad value: the field it is in, and what is wrong with it.
pub(crate) type FieldError = (String, String);

/// Validates allowlist entries; `field` is where they are (`allowlist`).
pub(crate) fn allowlist(
    docs: Vec<AllowlistDoc>,
    field: &str,
) -> Result<Vec<AllowlistEntry>, FieldError> {
    let mut out = Vec::with_capacity(docs.len());
    for (i, e) in docs.into_iter().enumerate() {
        let at = |k: &str| format!("{field}[{i}].{k}");
        let id = e.id.map(|s| s.trim().to_string());
        if id.as_deref() == Some("") {
            return Err((at("id"), "is empty".to_string()));
        }
        if let Some(p) = &e.package {
            validate_glob(p).map_err(|problem| (at("package"), problem))?;
        }
        if id.is_none() && e.package.is_none() {
            return Err((
                format!("{field}[{i}]"),
                "names neither `id` nor `package`: an entry must say which findings it accepts"
                    .to_string(),
            ));
        }
        if e.reason.trim().is_empty() {
            return Err((
                at("reason"),
                "is empty: say why the finding is accepted, so the entry can be reviewed"
                    .to_string(),
            ));
        }
        if let Some(g) = &e.repository {
            validate_glob(g).map_err(|p| (at("repository"), p))?;
        }
        if let Some(d) = &e.expires {
            validate_date(d).map_err(|p| (at("expires"), p))?;
        }
        out.push(AllowlistEntry {
            id,
            package: e.package,
            repository: e.repository,
            expires: e.expires,
            reason: e.reason,
            scope: Vec::new(),
            source: None,
        });
    }
    Ok(out)
}

/// A `vex` entry of the policy: an OpenVEX document, or the SSM parameter that holds one. For
/// the JSON Schema only: the entries are read by [`vex_entries`], which names the bad one.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub(crate) enum VexEntryDoc {
    /// `{"parameter": "/name"}`: read at start (String or SecureString).
    Parameter {
        #[schemars(length(min = 1, max = 2048))]
        parameter: String,
    },
    /// An OpenVEX document.
    Document(Box<VexDoc>),
}

/// The `vex` of the policy, read: inline documents parsed, parameters named.
pub(crate) fn vex_entries(
    raw: Vec<serde_json::Value>,
    field: &str,
) -> Result<(Vec<VexDocument>, Vec<String>), FieldError> {
    let mut documents = Vec::new();
    let mut parameters = Vec::new();
    for (i, value) in raw.into_iter().enumerate() {
        let at = format!("{field}[{i}]");
        let parameter = value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("parameter"));
        match parameter {
            Some(serde_json::Value::String(name)) if !name.trim().is_empty() => {
                parameters.push(name.clone())
            }
            Some(_) => {
                return Err((
                    format!("{at}.parameter"),
                    "must be the name of an SSM parameter".to_string(),
                ))
            }
            None => {
                let doc =
                    VexDocument::parse(&value, &at).map_err(|problem| (at.clone(), problem))?;
                documents.push(doc);
            }
        }
    }
    Ok((documents, parameters))
}

/// A team's exceptions document (an SSM parameter under `EXCEPTIONS_PARAMETER_PATH`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ecr-scan-gate exceptions document")]
pub(crate) struct ExceptionsDoc {
    /// Globs of the repositories whose findings this document may excuse; at least one.
    repositories: Vec<String>,
    /// Accepted vulnerabilities or packages, as in the policy.
    #[serde(default)]
    allowlist: Vec<AllowlistDoc>,
    /// OpenVEX documents (inline).
    #[serde(default)]
    #[schemars(with = "Vec<VexDoc>")]
    vex: Vec<serde_json::Value>,
}

/// A team's exceptions, read and validated, each entry scoped to the document's repositories.
#[derive(Debug, Clone, PartialEq)]
pub struct Exceptions {
    pub source: String,
    pub repositories: Vec<String>,
    pub allowlist: Vec<AllowlistEntry>,
    pub vex: Vec<VexDocument>,
}

/// Reads one exceptions document; `name` (the parameter, or a file) names it in every error.
pub fn parse_exceptions(text: &str, name: &str) -> Result<Exceptions, String> {
    let source = format!("exceptions {name}");
    if let Some(problem) = crate::policy::suggest::json_object_problem(text) {
        return Err(format!("{source}: {problem}"));
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let doc: ExceptionsDoc = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = crate::policy::suggest::annotate_serde_message(&e.into_inner().to_string());
        if path.is_empty() || path == "." {
            format!("{source}: {inner}")
        } else {
            format!("{source}: `{path}` {inner}")
        }
    })?;
    if doc.repositories.is_empty() {
        return Err(format!(
            "{source}: `repositories` is empty: name the repositories (globs) whose findings this document may excuse"
        ));
    }
    for (i, g) in doc.repositories.iter().enumerate() {
        validate_glob(g).map_err(|p| format!("{source}: `repositories[{i}]` {p}"))?;
    }
    let mut allowlist =
        allowlist(doc.allowlist, "allowlist").map_err(|(f, p)| format!("{source}: `{f}` {p}"))?;
    for e in &mut allowlist {
        e.scope = doc.repositories.clone();
        e.source = Some(source.clone());
    }
    let mut vex = Vec::with_capacity(doc.vex.len());
    for (i, value) in doc.vex.iter().enumerate() {
        let mut d = VexDocument::parse(value, &format!("{source} vex[{i}]"))?;
        d.scope = doc.repositories.clone();
        vex.push(d);
    }
    Ok(Exceptions {
        source,
        repositories: doc.repositories,
        allowlist,
        vex,
    })
}

/// The JSON Schema of a team's exceptions document.
pub fn exceptions_schema() -> serde_json::Value {
    schemars::schema_for!(ExceptionsDoc).to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_document_is_refused_naming_its_parameter_and_field() {
        let e = |text: &str| parse_exceptions(text, "/gate/exceptions/team-a").unwrap_err();
        let cases = [
            (r#"{"allowlist": []}"#, "missing field `repositories`"),
            (r#"{"repositories": []}"#, "`repositories` is empty"),
            (r#"{"repositories": ["a/*"], "alowlist": []}"#, "alowlist"),
            (
                r#"{"repositories": ["a/*"], "allowlist": [{"reason": "r"}]}"#,
                "`allowlist[0]` names neither `id` nor `package`",
            ),
            (
                r#"{"repositories": ["a/*"], "allowlist": [{"id": "CVE-1", "reason": " "}]}"#,
                "`allowlist[0].reason` is empty",
            ),
            (
                r#"{"repositories": ["a/*"], "vex": [{"@id": "x", "statements": [
                    {"vulnerability": "CVE-1", "products": ["pkg:oci/a"], "status": "not_affected"}]}]}"#,
                "vex[0] (x) statements[0]",
            ),
            ("not json", "exceptions /gate/exceptions/team-a"),
        ];
        for (text, says) in cases {
            let msg = e(text);
            assert!(
                msg.starts_with("exceptions /gate/exceptions/team-a"),
                "{msg}"
            );
            assert!(msg.contains(says), "{msg} lacks {says:?}");
        }
    }

    #[test]
    fn a_documents_entries_carry_its_repositories_and_source() {
        let x = parse_exceptions(
            r#"{"repositories": ["team-a/*"], "allowlist": [{"package": "linux-libc-dev", "reason": "r"}],
                "vex": [{"@id": "https://example.com/v", "statements": [
                    {"vulnerability": "CVE-1", "products": ["pkg:oci/api?repository_url=h/team-a/api"], "status": "fixed"}]}]}"#,
            "/gate/exceptions/team-a",
        )
        .unwrap();
        assert_eq!(x.allowlist[0].scope, vec!["team-a/*".to_string()]);
        assert_eq!(
            x.allowlist[0].label(),
            "package linux-libc-dev (exceptions /gate/exceptions/team-a)"
        );
        assert!(x.allowlist[0].applies_to_repository("team-a/api"));
        assert!(!x.allowlist[0].applies_to_repository("team-b/api"));
        assert_eq!(x.vex[0].scope, vec!["team-a/*".to_string()]);
        assert_eq!(x.vex[0].source, "exceptions /gate/exceptions/team-a vex[0]");
    }

    #[test]
    fn the_policys_vex_entries_are_documents_or_parameters() {
        let (docs, params) = vex_entries(
            vec![
                serde_json::json!({"parameter": "/vex/base"}),
                serde_json::json!({"@id": "x", "statements": [
                    {"vulnerability": "CVE-1", "products": ["pkg:oci/a"], "status": "fixed"}]}),
            ],
            "vex",
        )
        .unwrap();
        assert_eq!(params, vec!["/vex/base".to_string()]);
        assert_eq!(docs[0].source, "vex[1]");
        let (field, problem) =
            vex_entries(vec![serde_json::json!({"parameter": 3})], "vex").unwrap_err();
        assert_eq!(field, "vex[0].parameter");
        assert!(problem.contains("SSM parameter"));
    }
}
