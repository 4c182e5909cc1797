//! Where an image's layers are kept (ECR archive) and whether it is in use: what decides
//! whether a failing image is archived, and what a release must undo.

use super::date::rfc3339;

/// `imageStatus` as `DescribeImages` and `UpdateImageStorageClass` answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageStatus {
    /// Pullable.
    Active,
    /// Archived: every pull answers 404 until the image is restored.
    Archived,
    /// Being restored from the archive; pullable once `Active`.
    Activating,
}

impl ImageStatus {
    /// `ACTIVE`, `ARCHIVED`, `ACTIVATING`; `None` for a value this build does not know.
    pub fn parse(s: &str) -> Option<ImageStatus> {
        match s {
            "ACTIVE" => Some(ImageStatus::Active),
            "ARCHIVED" => Some(ImageStatus::Archived),
            "ACTIVATING" => Some(ImageStatus::Activating),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Active => "ACTIVE",
            ImageStatus::Archived => "ARCHIVED",
            ImageStatus::Activating => "ACTIVATING",
        }
    }
}

/// The storage class an image is moved to (`targetStorageClass`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageClass {
    Archive,
    Standard,
}

impl StorageClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Archive => "ARCHIVE",
            StorageClass::Standard => "STANDARD",
        }
    }
}

/// An image's storage as the registry reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Storage {
    pub status: ImageStatus,
    /// `lastRecordedPullTime`, seconds since the epoch; `None` when never pulled (or the
    /// registry does not say).
    pub last_pull: Option<i64>,
}

impl Storage {
    pub fn active() -> Storage {
        Storage {
            status: ImageStatus::Active,
            last_pull: None,
        }
    }

    /// Cannot be pulled now: archived, or not yet restored.
    pub fn unpullable(&self) -> bool {
        matches!(self.status, ImageStatus::Archived | ImageStatus::Activating)
    }
}

/// What Amazon Inspector says of an image's use (`inUseCount`, `lastInUseAt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InspectorUse {
    pub in_use_count: u64,
    /// Seconds since the epoch.
    pub last_in_use_at: Option<i64>,
}

/// Why an image counts as in use, for the alert: `pulled 2026-11-30T08:00:00Z (2 days ago)`.
/// `None` when nothing says it is in use: no pull within `in_use_days` of `now`, and no
/// `inUseCount` above 0 where Inspector reports one.
pub fn in_use(
    storage: &Storage,
    inspector: Option<&InspectorUse>,
    in_use_days: u32,
    now: i64,
) -> Option<String> {
    let mut why = Vec::new();
    if let Some(pulled) = storage.last_pull {
        let age = now.saturating_sub(pulled);
        if age < i64::from(in_use_days) * 86_400 {
            let when = rfc3339(pulled).unwrap_or_else(|| pulled.to_string());
            why.push(format!(
                "last pulled {when} ({}), within {in_use_days} days",
                ago(age)
            ));
        }
    }
    if let Some(u) = inspector.filter(|u| u.in_use_count > 0) {
        let last = u
            .last_in_use_at
            .and_then(rfc3339)
            .map(|t| format!(", last seen {t}"))
            .unwrap_or_default();
        why.push(format!(
            "Amazon Inspector counts {} running container{}{last}",
            u.in_use_count,
            if u.in_use_count == 1 { "" } else { "s" }
        ));
    }
    if why.is_empty() {
        None
    } else {
        Some(why.join("; "))
    }
}

fn ago(seconds: i64) -> String {
    let days = seconds / 86_400;
    match days {
        d if d <= 0 => {
            let hours = seconds / 3600;
            if hours <= 0 {
                "less than an hour ago".to_string()
            } else {
                format!("{hours} hour{} ago", if hours == 1 { "" } else { "s" })
            }
        }
        1 => "1 day ago".to_string(),
        d => format!("{d} days ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_212_800; // 2026-12-02T12:00:00Z
    const DAY: i64 = 86_400;

    fn pulled(days_ago: i64) -> Storage {
        Storage {
            status: ImageStatus::Active,
            last_pull: Some(NOW - days_ago * DAY),
        }
    }

    #[test]
    fn a_pull_within_the_window_is_use_and_says_when() {
        let why = in_use(&pulled(2), None, 30, NOW).unwrap_or_default();
        assert!(
            why.contains("last pulled 2026-11-30T12:00:00Z (2 days ago)"),
            "{why}"
        );
        assert!(why.contains("within 30 days"), "{why}");
    }

    #[test]
    fn a_pull_older_than_the_window_is_not_use() {
        assert_eq!(in_use(&pulled(30), None, 30, NOW), None);
        assert_eq!(in_use(&pulled(31), None, 30, NOW), None);
        assert!(in_use(&pulled(29), None, 30, NOW).is_some());
    }

    #[test]
    fn never_pulled_and_no_inspector_is_not_use() {
        assert_eq!(in_use(&Storage::active(), None, 30, NOW), None);
    }

    #[test]
    fn inspector_in_use_counts_even_without_a_recent_pull() {
        let u = InspectorUse {
            in_use_count: 3,
            last_in_use_at: Some(NOW - DAY),
        };
        let why = in_use(&pulled(90), Some(&u), 30, NOW).unwrap_or_default();
        assert!(why.contains("3 running containers"), "{why}");
        let idle = InspectorUse::default();
        assert_eq!(in_use(&pulled(90), Some(&idle), 30, NOW), None);
    }

    #[test]
    fn statuses_round_trip_and_unknown_is_none() {
        for s in ["ACTIVE", "ARCHIVED", "ACTIVATING"] {
            assert_eq!(ImageStatus::parse(s).map(ImageStatus::as_str), Some(s));
        }
        assert_eq!(ImageStatus::parse("DELETED"), None);
        assert!(Storage {
            status: ImageStatus::Activating,
            last_pull: None
        }
        .unpullable());
    }
}
