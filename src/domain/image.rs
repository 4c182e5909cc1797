//! An image in ECR as every layer names it: its digest, tag or digest reference, and the rules
//! AWS sets for repository names, tags, account ids and region names.

use serde::Serialize;
use std::fmt;

/// An image digest: `sha256:` and 64 lower-case hex digits, as ECR writes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Result<Digest, String> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| format!("must start with `sha256:`, got {:?}", truncate(s, 80)))?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!(
                "must be `sha256:` followed by 64 lower-case hex digits, got {:?}",
                truncate(s, 80)
            ));
        }
        Ok(Digest(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// `sha256:` and the first 12 hex digits, as `docker images` shows them.
    pub fn short(&self) -> &str {
        &self.0[..("sha256:".len() + 12)]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which image: by digest (every AWS event) or by tag (an operator's direct invoke).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    Digest(Digest),
    Tag(String),
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Digest(d) => write!(f, "{d}"),
            ImageRef::Tag(t) => write!(f, "tag {t}"),
        }
    }
}

/// ECR's rule: 2-256 characters, lower-case letters, digits and `._-/`, components separated by
/// single `/`, each starting and ending with a letter or digit.
pub fn validate_repository_name(name: &str) -> Result<(), String> {
    if name.len() < 2 || name.len() > 256 {
        return Err(format!(
            "must be 2 to 256 characters long, got {} ({:?})",
            name.len(),
            truncate(name, 80)
        ));
    }
    let ok_component = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && c.as_bytes()[0].is_ascii_alphanumeric()
            && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
    };
    if !name.split('/').all(ok_component) {
        return Err(format!(
            "is not a valid ECR repository name (lower-case letters, digits, `._-`, components separated by `/`): {:?}",
            truncate(name, 80)
        ));
    }
    Ok(())
}

/// An image tag as ECR accepts it: 1 to 300 characters, no control characters or spaces.
pub fn validate_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() || tag.len() > 300 {
        return Err(format!(
            "must be 1 to 300 characters long, got {}",
            tag.len()
        ));
    }
    if tag.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "contains spaces or control characters: {:?}",
            truncate(tag, 80)
        ));
    }
    Ok(())
}

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An AWS region name: lower-case letter groups joined by `-`, ending in a number
/// (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub fn validate_region(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = s.len() <= 32
        && parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && (1..=2).contains(&parts[parts.len() - 1].len());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be an AWS region name like us-east-1, got {:?}",
            truncate(s, 40)
        ))
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary (for messages about hostile input).
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
