//! The sweep's request (`{"sweep": {...}}`) with the place it runs in and the cursor it goes on
//! from, read and checked naming the bad field.

use crate::domain::scan::EventError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest `pushed_within_days` (100 years).
const MAX_DAYS: u64 = 36_500;

/// `{"sweep": {...}}`; every key optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    /// Repository-name globs; every repository by default.
    #[serde(default = "every_repository")]
    pub repositories: Vec<String>,
    /// Only images pushed in the last N days.
    #[serde(default)]
    pub pushed_within_days: Option<u64>,
    /// `StartImageScan` for images with no scan result.
    #[serde(default)]
    pub start_scans: bool,
    /// With member accounts: the accounts to sweep (12-digit ids); the function's own by
    /// default.
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
    /// The regions to sweep; the function's own by default.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Where a sweep that stopped at its deadline goes on (its continuation message, sent to
    /// the sweep queue); not for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<Cursor>,
}

/// Where a sweep stopped: the place (with member accounts), the repository, and the token of
/// the page of images it had not yet read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub repository: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Cursor {
    pub fn at(place: Option<&Place>, repository: &str, token: Option<String>) -> Cursor {
        Cursor {
            account: place.map(|p| p.account.clone()),
            region: place.map(|p| p.region.clone()),
            repository: repository.to_string(),
            token,
        }
    }

    /// The place it is in, when the sweep named places.
    pub fn place(&self) -> Option<Place> {
        match (&self.account, &self.region) {
            (Some(account), Some(region)) => Some(Place {
                account: account.clone(),
                region: region.clone(),
            }),
            _ => None,
        }
    }
}

fn every_repository() -> Vec<String> {
    vec!["*".to_string()]
}

impl Default for SweepRequest {
    fn default() -> Self {
        SweepRequest {
            repositories: every_repository(),
            pushed_within_days: None,
            start_scans: false,
            accounts: None,
            regions: None,
            resume_at: None,
        }
    }
}

impl SweepRequest {
    /// Reads the value of the `sweep` key; the error names the bad field.
    pub fn parse(value: &Value) -> Result<SweepRequest, EventError> {
        let invalid = |field: String, problem: String| EventError { field, problem };
        let request: SweepRequest = match value {
            Value::Null => SweepRequest::default(),
            v if !v.is_object() => {
                return Err(invalid(
                    "sweep".to_string(),
                    "must be an object, e.g. {\"repositories\": [\"team-*\"]}".to_string(),
                ))
            }
            _ => serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                let field = if path.is_empty() || path == "." {
                    "sweep".to_string()
                } else {
                    format!("sweep.{path}")
                };
                invalid(field, e.into_inner().to_string())
            })?,
        };
        if request.repositories.is_empty() || request.repositories.iter().any(|g| g.is_empty()) {
            return Err(invalid(
                "sweep.repositories".to_string(),
                "must be a non-empty list of non-empty repository-name globs".to_string(),
            ));
        }
        if let Some(days) = request.pushed_within_days {
            if days == 0 || days > MAX_DAYS {
                return Err(invalid(
                    "sweep.pushed_within_days".to_string(),
                    format!("must be between 1 and {MAX_DAYS}, got {days}"),
                ));
            }
        }
        if let Some(accounts) = &request.accounts {
            if accounts.is_empty() {
                return Err(invalid(
                    "sweep.accounts".to_string(),
                    "must be a non-empty list of 12-digit account ids".to_string(),
                ));
            }
            if let Some((i, a)) = accounts
                .iter()
                .enumerate()
                .find(|(_, a)| !crate::domain::image::is_account_id(a))
            {
                return Err(invalid(
                    format!("sweep.accounts[{i}]"),
                    format!(
                        "must be a 12-digit AWS account id, got {:?}",
                        crate::domain::image::truncate(a, 40)
                    ),
                ));
            }
        }
        if let Some(regions) = &request.regions {
            if regions.is_empty() {
                return Err(invalid(
                    "sweep.regions".to_string(),
                    "must be a non-empty list of regions, e.g. [\"us-east-1\"]".to_string(),
                ));
            }
            for (i, r) in regions.iter().enumerate() {
                crate::domain::image::validate_region(r)
                    .map_err(|p| invalid(format!("sweep.regions[{i}]"), p))?;
            }
        }
        if let Some(cursor) = &request.resume_at {
            crate::domain::image::validate_repository_name(&cursor.repository)
                .map_err(|p| invalid("sweep.resume_at.repository".to_string(), p))?;
            if cursor
                .account
                .as_deref()
                .is_some_and(|a| !crate::domain::image::is_account_id(a))
            {
                return Err(invalid(
                    "sweep.resume_at.account".to_string(),
                    "must be a 12-digit AWS account id".to_string(),
                ));
            }
            if let Some(region) = &cursor.region {
                crate::domain::image::validate_region(region)
                    .map_err(|p| invalid("sweep.resume_at.region".to_string(), p))?;
            }
        }
        Ok(request)
    }

    /// Whether the request names accounts or regions (hub and member accounts).
    pub fn names_places(&self) -> bool {
        self.accounts.is_some() || self.regions.is_some()
    }
}

/// The account and region a sweep lists and acts in, when the request names them: written
/// into each queue body and each image's request, so the image is evaluated in that registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub account: String,
    pub region: String,
}
