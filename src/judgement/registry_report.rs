//! The registry report (`{"report": {}}`, the operator CLI's list): which images carry a
//! quarantine tag, and which allowlist entries expired or expire soon. Plain data and pure
//! functions; the listing itself is `crate::entry::listing`, the rendering
//! `crate::render::report_digest`.

use crate::domain::date::day_number;
use crate::domain::image::Digest;
use crate::policy::document::Policy;
use serde::Serialize;

/// An image that carries a quarantine tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantinedImage {
    pub repository: String,
    pub digest: Digest,
    /// Every tag of the image, the quarantine tag included.
    pub tags: Vec<String>,
    /// Push time, RFC 3339 (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<String>,
}

/// An allowlist entry that expired or expires within
/// [`EXPIRY_NOTICE_DAYS`](crate::policy::document::EXPIRY_NOTICE_DAYS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowlistDue {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub expires: String,
    pub reason: String,
    /// Days from today to the last day the entry applies: negative once expired.
    pub days_left: i64,
    pub expired: bool,
}

/// The digest the report sends and the response carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub quarantined: Vec<QuarantinedImage>,
    pub allowlist: Vec<AllowlistDue>,
    /// Repositories that could not be listed: the report is incomplete when not empty.
    pub errors: Vec<String>,
}

/// The allowlist entries that expired or expire within `within_days` of `today`, soonest
/// first. Entries without an expiry never appear.
pub fn allowlist_due(policy: &Policy, today: &str, within_days: i64) -> Vec<AllowlistDue> {
    let Some(today_n) = day_number(today) else {
        return Vec::new();
    };
    let mut due: Vec<AllowlistDue> = policy
        .allowlist
        .iter()
        .filter_map(|e| {
            let expires = e.expires.as_deref()?;
            let days_left = day_number(expires)? - today_n;
            (days_left <= within_days).then(|| AllowlistDue {
                id: e.label(),
                repository: e.repository.clone(),
                expires: expires.to_string(),
                reason: e.reason.clone(),
                days_left,
                expired: e.is_expired(today),
            })
        })
        .collect();
    due.sort_by(|a, b| a.days_left.cmp(&b.days_left).then(a.id.cmp(&b.id)));
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::document::EXPIRY_NOTICE_DAYS;
    use crate::policy::exceptions::AllowlistEntry;

    fn entry(id: &str, expires: Option<&str>) -> AllowlistEntry {
        AllowlistEntry {
            id: Some(id.to_string()),
            package: None,
            repository: Some("demo-*".to_string()),
            expires: expires.map(str::to_string),
            reason: "no fix upstream".to_string(),
            scope: Vec::new(),
            source: None,
        }
    }

    #[test]
    fn expired_and_soon_expiring_entries_are_due_soonest_first() {
        let policy = Policy {
            allowlist: vec![
                entry("CVE-LATER", Some("2026-12-31")),
                entry("CVE-SOON", Some("2026-12-11")),
                entry("CVE-EXPIRED", Some("2026-11-20")),
                entry("CVE-FOREVER", None),
                entry("CVE-TODAY", Some("2026-11-27")),
            ],
            ..Policy::default()
        };
        let due = allowlist_due(&policy, "2026-11-27", EXPIRY_NOTICE_DAYS);
        let ids: Vec<(&str, i64, bool)> = due
            .iter()
            .map(|d| (d.id.as_str(), d.days_left, d.expired))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("CVE-EXPIRED", -7, true),
                ("CVE-TODAY", 0, false),
                ("CVE-SOON", 14, false)
            ]
        );
        assert_eq!(due[0].repository.as_deref(), Some("demo-*"));
    }
}
