//! OpenVEX documents (policy key `vex`, and the `vex` of team exception documents): a
//! statement `not_affected` or `fixed` about a vulnerability and a product that is the image
//! removes the finding. Parsed leniently as OpenVEX v0.2.0 writes it (and the older string forms
//! of `vulnerability` and `products`), validated strictly where a mistake would excuse a
//! finding silently.
//!
//! Products are package URLs of OCI images: `pkg:oci/NAME@sha256:DIGEST` (one image; `NAME` is
//! the last segment of the repository name) or `pkg:oci/NAME?repository_url=HOST/REPOSITORY`
//! (every image of that repository). `subcomponents` narrow a statement to the finding's
//! package: `pkg:TYPE/[NAMESPACE/]NAME[@VERSION]`.

use crate::policy::glob::glob_match;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The statuses of a statement (OpenVEX "Status Labels").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl VexStatus {
    fn parse(s: &str) -> Option<VexStatus> {
        match s {
            "not_affected" => Some(VexStatus::NotAffected),
            "affected" => Some(VexStatus::Affected),
            "fixed" => Some(VexStatus::Fixed),
            "under_investigation" => Some(VexStatus::UnderInvestigation),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }

    /// Whether the statement removes the finding.
    pub fn excuses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }
}

/// The product a statement is about, as far as an image is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VexProduct {
    /// `pkg:oci/NAME@sha256:…`, with the repository when `repository_url` names it.
    Image {
        name: String,
        digest: String,
        repository: Option<String>,
    },
    /// `pkg:oci/NAME?repository_url=HOST/REPOSITORY`: every image of the repository.
    Repository { name: String, repository: String },
    /// Anything else (another purl type, an OCI purl naming neither a digest nor a
    /// repository): it is no image of this registry, so it matches none.
    Other(String),
}

/// A subcomponent: the package a statement narrows to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexPackage {
    pub name: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VexStatement {
    /// Position in its document, from 0.
    pub index: usize,
    pub vulnerability: String,
    pub aliases: Vec<String>,
    pub products: Vec<(VexProduct, Vec<VexPackage>)>,
    pub status: VexStatus,
    pub justification: Option<String>,
    /// Seconds since the epoch (the statement's, else the document's); the latest statement
    /// about a vulnerability and a product wins.
    pub timestamp: Option<i64>,
}

/// One OpenVEX document, with where it came from and which repositories it may speak for.
#[derive(Debug, Clone, PartialEq)]
pub struct VexDocument {
    /// The document's `@id`.
    pub id: String,
    /// Where it was read: `policy vex[0]`, `parameter /vex/base`, `exceptions /gate/team-a`.
    pub source: String,
    /// Repository globs it may excuse findings in (a team's exceptions document); empty: any.
    pub scope: Vec<String>,
    pub statements: Vec<VexStatement>,
}

/// The image a finding is in.
#[derive(Debug, Clone, Copy)]
pub struct VexImage<'a> {
    pub repository: &'a str,
    /// `sha256:…`; `None` when the request named a tag only.
    pub digest: Option<&'a str>,
}

/// The statement that decides a finding.
#[derive(Debug, Clone, Copy)]
pub struct VexDecision<'a> {
    pub document: &'a VexDocument,
    pub statement: &'a VexStatement,
}

impl VexDocument {
    /// Parses and validates one document; `source` names it in errors.
    pub fn parse(value: &serde_json::Value, source: &str) -> Result<VexDocument, String> {
        let doc: VexDoc = serde_json::from_value(value.clone())
            .map_err(|e| format!("{source}: not an OpenVEX document: {e}"))?;
        let id = doc.id.trim().to_string();
        if id.is_empty() {
            return Err(format!("{source}: `@id` is empty"));
        }
        if doc.statements.is_empty() {
            return Err(format!("{source} ({id}): `statements` is empty"));
        }
        let doc_time = doc.timestamp.as_deref().and_then(parse_time);
        let mut statements = Vec::with_capacity(doc.statements.len());
        for (i, s) in doc.statements.into_iter().enumerate() {
            let at = format!("{source} ({id}) statements[{i}]");
            let (name, aliases) = match s.vulnerability {
                VulnerabilityDoc::Name(n) => (n, Vec::new()),
                VulnerabilityDoc::Object { name, aliases } => (name, aliases),
            };
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(format!("{at}: `vulnerability.name` is empty"));
            }
            let status = VexStatus::parse(&s.status).ok_or_else(|| {
                format!(
                    "{at}: `status` {:?} is not not_affected, affected, fixed or under_investigation",
                    s.status
                )
            })?;
            let justification = s.justification.filter(|j| !j.trim().is_empty());
            let impact = s.impact_statement.filter(|j| !j.trim().is_empty());
            if status == VexStatus::NotAffected && justification.is_none() && impact.is_none() {
                return Err(format!(
                    "{at}: `not_affected` for {name} has no `justification` (or `impact_statement`): say why the product is not affected, so the statement can be reviewed"
                ));
            }
            if s.products.is_empty() {
                return Err(format!(
                    "{at}: `products` is empty: a statement must name the image it is about"
                ));
            }
            let products = s
                .products
                .into_iter()
                .map(|p| match p {
                    ProductDoc::Id(id) => (product(&id), Vec::new()),
                    ProductDoc::Object {
                        id,
                        identifiers,
                        subcomponents,
                    } => {
                        let purl = id
                            .or_else(|| identifiers.and_then(|i| i.purl))
                            .unwrap_or_default();
                        let subs = subcomponents
                            .into_iter()
                            .filter_map(|c| match c {
                                ComponentDoc::Id(id) => package(&id),
                                ComponentDoc::Object { id, identifiers } => id
                                    .or_else(|| identifiers.and_then(|i| i.purl))
                                    .and_then(|p| package(&p)),
                            })
                            .collect();
                        (product(&purl), subs)
                    }
                })
                .collect();
            statements.push(VexStatement {
                index: i,
                vulnerability: name,
                aliases,
                products,
                status,
                justification: justification.or(impact),
                timestamp: s.timestamp.as_deref().and_then(parse_time).or(doc_time),
            });
        }
        Ok(VexDocument {
            id,
            source: source.to_string(),
            scope: Vec::new(),
            statements,
        })
    }

    /// Whether the document may speak for `repository` at all.
    pub fn covers(&self, repository: &str) -> bool {
        self.scope.is_empty() || self.scope.iter().any(|g| glob_match(g, repository))
    }
}

/// Statements about no image of an ECR registry: their products name no OCI image digest and
/// no repository. Worth a warning: such a statement never excuses a finding here.
pub fn statements_about_no_image(doc: &VexDocument) -> Vec<usize> {
    doc.statements
        .iter()
        .filter(|s| s.status.excuses())
        .filter(|s| {
            s.products
                .iter()
                .all(|(p, _)| matches!(p, VexProduct::Other(_)))
        })
        .map(|s| s.index)
        .collect()
}

/// The statement that decides the finding `id` (in `package`, at `version`) of `image`: among
/// the statements of every document whose vulnerability (name or alias) is the finding's and
/// whose product is the image (and, with subcomponents, the finding's package), the latest.
/// `None` when no statement speaks of it.
pub fn decide<'a>(
    documents: &'a [VexDocument],
    id: &str,
    package: Option<&str>,
    version: Option<&str>,
    image: VexImage<'_>,
) -> Option<VexDecision<'a>> {
    let mut best: Option<VexDecision<'a>> = None;
    for document in documents.iter().filter(|d| d.covers(image.repository)) {
        for statement in &document.statements {
            let names_it = statement.vulnerability.eq_ignore_ascii_case(id)
                || statement.aliases.iter().any(|a| a.eq_ignore_ascii_case(id));
            if !names_it {
                continue;
            }
            let about_it = statement.products.iter().any(|(p, subs)| {
                product_is_image(p, image) && package_matches(subs, package, version)
            });
            if !about_it {
                continue;
            }
            // The latest wins; a statement with no time is older than any with one; between
            // equals, the later in reading order.
            let later = best.is_none_or(|b| statement.timestamp >= b.statement.timestamp);
            if later {
                best = Some(VexDecision {
                    document,
                    statement,
                });
            }
        }
    }
    best
}

fn product_is_image(p: &VexProduct, image: VexImage<'_>) -> bool {
    let last = image
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(image.repository);
    match p {
        VexProduct::Image {
            name,
            digest,
            repository,
        } => {
            name == last
                && image.digest == Some(digest.as_str())
                && repository.as_deref().is_none_or(|r| r == image.repository)
        }
        VexProduct::Repository { name, repository } => {
            name == last && repository == image.repository
        }
        VexProduct::Other(_) => false,
    }
}

fn package_matches(subs: &[VexPackage], package: Option<&str>, version: Option<&str>) -> bool {
    if subs.is_empty() {
        return true;
    }
    let Some(package) = package else {
        return false;
    };
    subs.iter().any(|s| {
        s.name.eq_ignore_ascii_case(package)
            && match (&s.version, version) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
    })
}

/// A purl's parts: type, namespace-and-name path, version, qualifiers. Percent-decoded.
type PurlParts = (String, String, Option<String>, Vec<(String, String)>);

fn purl_parts(purl: &str) -> Option<PurlParts> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let (rest, qualifiers) = match rest.split_once('?') {
        Some((r, q)) => (r, q),
        None => (rest, ""),
    };
    let (ty, path) = rest.split_once('/')?;
    let (path, version) = match path.rsplit_once('@') {
        Some((p, v)) => (p, Some(decode(v))),
        None => (path, None),
    };
    let qualifiers = qualifiers
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_ascii_lowercase(), decode(v)))
        .collect();
    Some((ty.to_ascii_lowercase(), decode(path), version, qualifiers))
}

fn product(purl: &str) -> VexProduct {
    let other = || VexProduct::Other(purl.to_string());
    let Some((ty, path, version, qualifiers)) = purl_parts(purl) else {
        return other();
    };
    if ty != "oci" {
        return other();
    }
    let name = path.rsplit('/').next().unwrap_or(&path).to_string();
    // `repository_url` is `HOST/REPOSITORY` (or `HOST/REPOSITORY:TAG`, which some tools
    // write); the repository is what follows the host.
    let repository = qualifiers
        .iter()
        .find(|(k, _)| k == "repository_url")
        .and_then(|(_, v)| v.split_once('/').map(|(_, r)| r.to_string()))
        .map(|r| match r.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
            _ => r,
        });
    match (version, repository) {
        (Some(v), repository) if v.starts_with("sha256:") => VexProduct::Image {
            name,
            digest: v,
            repository,
        },
        (None, Some(repository)) => VexProduct::Repository { name, repository },
        _ => other(),
    }
}

fn package(purl: &str) -> Option<VexPackage> {
    let (_, path, version, _) = purl_parts(purl)?;
    let name = path.rsplit('/').next().unwrap_or(&path).to_string();
    (!name.is_empty()).then_some(VexPackage { name, version })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 3339 (`2023-09-20T11:46:28.949091+02:00`, `…Z`) as seconds since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let date = s.get(0..10)?;
    let days = crate::domain::date::day_number(date)?;
    let rest = s.get(10..)?;
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let num = |r: std::ops::Range<usize>| rest.get(r).and_then(|x| x.parse::<i64>().ok());
    let (h, m, sec) = (num(0..2)?, num(3..5)?, num(6..8)?);
    let mut tail = rest.get(8..)?;
    if let Some(frac) = tail.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        tail = frac.get(digits..)?;
    }
    let offset = match tail {
        "Z" | "z" | "" => 0,
        t => {
            let sign = match t.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh = t.get(1..3)?.parse::<i64>().ok()?;
            let om = t.get(4..6)?.parse::<i64>().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(days * 86_400 + h * 3600 + m * 60 + sec - offset)
}

/// An OpenVEX document as written; unknown keys are allowed (OpenVEX has more than the gate
/// reads).
#[derive(Deserialize, JsonSchema)]
pub(crate) struct VexDoc {
    /// `https://openvex.dev/ns/v0.2.0`.
    #[serde(rename = "@context")]
    #[allow(dead_code)]
    context: Option<String>,
    /// The document's IRI: the verdict's reason names it.
    #[serde(rename = "@id")]
    id: String,
    timestamp: Option<String>,
    statements: Vec<StatementDoc>,
}

#[derive(Deserialize, JsonSchema)]
struct StatementDoc {
    vulnerability: VulnerabilityDoc,
    #[serde(default)]
    products: Vec<ProductDoc>,
    /// not_affected, affected, fixed, under_investigation.
    status: String,
    /// Required for not_affected (or impact_statement).
    justification: Option<String>,
    impact_statement: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum VulnerabilityDoc {
    Name(String),
    Object {
        name: String,
        #[serde(default)]
        aliases: Vec<String>,
    },
}

#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum ProductDoc {
    Id(String),
    Object {
        #[serde(rename = "@id")]
        id: Option<String>,
        identifiers: Option<IdentifiersDoc>,
        #[serde(default)]
        subcomponents: Vec<ComponentDoc>,
    },
}

#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum ComponentDoc {
    Id(String),
    Object {
        #[serde(rename = "@id")]
        id: Option<String>,
        identifiers: Option<IdentifiersDoc>,
    },
}

#[derive(Deserialize, JsonSchema)]
struct IdentifiersDoc {
    purl: Option<String>,
}

#[cfg(test)]
mod tests;
