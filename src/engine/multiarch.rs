//! Multi-arch images. ECR scans each platform image of an image index; the scan event names
//! that platform image's digest, which usually has no tag, while `latest` and `v2` sit on the
//! index. A failing platform image therefore blocks every tagged index that lists it: the
//! index gets its own quarantine tag and loses its deployable tags; it is released once none
//! of its platform images fails any more. An untagged platform image gets no tag of its own:
//! the only way to take its last tag off again would be to delete it.
//!
//! An index asked about itself (the sweep lists it; an operator names it) has no scan of its
//! own: it is judged through the platform images it lists, and its verdict is the worst.

use crate::domain::image::{Digest, ImageRef};
use crate::domain::scan::ScanEvent;
use crate::domain::severity::Counts;
use crate::domain::verdict::Verdict;
use crate::engine::gate::{Gate, GateError};
use crate::engine::ports::{Deadline, IndexImage, Registry};
use crate::engine::settings::Settings;
use crate::judgement::evaluation::{Action, ActionStatus, Basis, Evaluation};

/// How bad a verdict is for an index: FAIL over ERROR (which blocks only by policy) over WARN
/// over PASS.
fn severity_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Pass => 0,
        Verdict::Warn => 1,
        Verdict::Error => 2,
        Verdict::Fail => 3,
    }
}

impl<R: Registry> Gate<R> {
    /// The decision about an image index: each platform image it lists is decided on its own
    /// findings under the repository's policy; the index's verdict is the worst of theirs, its
    /// counts their sum, and each reason names the platform it is about.
    pub(crate) async fn judge_index(
        &self,
        event: &ScanEvent,
        index: &IndexImage,
        today: &str,
        deadline: Deadline,
    ) -> Result<Evaluation, GateError> {
        let mut ev = Evaluation {
            verdict: Verdict::Pass,
            repository: event.repository.clone(),
            digest: Some(index.digest.clone()),
            tags: index.tags.clone(),
            trigger: event.trigger.clone(),
            counts: Counts::default(),
            highest_severity: None,
            reasons: Vec::new(),
            basis: Basis::Findings,
            scan_status: None,
            findings: None,
            actions: Vec::new(),
            dry_run: self.settings.dry_run,
            region: event.region.clone(),
            account: event.account.clone(),
        };
        if index.children.is_empty() {
            ev.verdict = Verdict::Error;
            ev.basis = Basis::ScanStatus;
            ev.reasons.push(
                "the image index lists no platform image (only attestations, or none): there is nothing to judge"
                    .to_string(),
            );
            return Ok(ev);
        }
        for child in &index.children {
            let child_event = ScanEvent {
                image: ImageRef::Digest(child.clone()),
                tags: Vec::new(),
                counts: None,
                counts_unlisted: 0,
                ..event.clone()
            };
            let decided = self.decide(&child_event, today, deadline).await?;
            let platform = index.platform_text(child);
            if decided.reasons.is_empty() {
                ev.reasons
                    .push(format!("platform {platform}: {}", decided.verdict));
            }
            for reason in &decided.reasons {
                ev.reasons.push(format!("platform {platform}: {reason}"));
            }
            for (severity, n) in decided.counts.iter() {
                ev.counts.add(severity, n);
            }
            if severity_rank(decided.verdict) > severity_rank(ev.verdict) {
                ev.verdict = decided.verdict;
                if decided.verdict == Verdict::Error {
                    // A platform image with no scan result yet: the index has none either. A
                    // platform image that is gone is not the index being gone.
                    ev.scan_status = decided
                        .scan_status
                        .filter(|s| !s.ends_with("_NOT_FOUND") || s == "SCAN_NOT_FOUND");
                    ev.basis = Basis::ScanStatus;
                }
            }
        }
        ev.highest_severity = ev.counts.highest();
        Ok(ev)
    }
}

/// Wraps a change so that it applies to `index`.
pub fn on_index(index: &IndexImage, change: Action) -> Action {
    Action::OnIndex {
        index: index.digest.clone(),
        index_tags: index.tags.clone(),
        change: Box::new(change),
    }
}

/// Quarantine (then strip, when the policy strips) every index that lists the failing image.
pub fn block_actions(indexes: &[IndexImage], settings: &Settings, strip: bool) -> Vec<Action> {
    let mut actions = Vec::new();
    for index in indexes {
        actions.push(on_index(
            index,
            Action::Quarantine {
                tag: settings.quarantine_tag(&index.digest),
                status: ActionStatus::Planned,
            },
        ));
        if strip {
            actions.push(on_index(
                index,
                Action::Strip {
                    tags: Vec::new(),
                    status: ActionStatus::Planned,
                },
            ));
        }
    }
    actions
}

/// The release of a quarantined index, unless one of its other platform images still blocks
/// (`blocking`: that image and its verdict), or the quarantine tag is the index's only tag.
pub fn index_release(
    index: &IndexImage,
    tag: String,
    blocking: Option<(Digest, crate::domain::verdict::Verdict)>,
) -> Action {
    let status = match (blocking, index.tags.len()) {
        (Some((child, verdict)), _) => ActionStatus::Skipped {
            reason: format!(
                "platform image {} of this index is still {verdict}",
                child.short()
            ),
        },
        (None, 1) => ActionStatus::Skipped {
            reason: "it is the index's only tag: removing it would delete the index".to_string(),
        },
        (None, _) => ActionStatus::Planned,
    };
    on_index(index, Action::Release { tag, status })
}

/// Index manifests (OCI image index, Docker manifest list) and the platform images they list.
pub fn is_index_media_type(media_type: &str) -> bool {
    matches!(
        media_type,
        "application/vnd.oci.image.index.v1+json"
            | "application/vnd.docker.distribution.manifest.list.v2+json"
    )
}

/// The platform each listed image declares (`platform.os`/`architecture`[/`variant`]), for
/// the reasons of an index's verdict. Entries without a platform are left out.
pub fn index_platforms(manifest: &str) -> Vec<(Digest, String)> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(manifest) else {
        return Vec::new();
    };
    let entries = doc.get("manifests").and_then(|m| m.as_array());
    entries
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let digest = Digest::parse(e.get("digest")?.as_str()?).ok()?;
            let p = e.get("platform")?;
            let part = |k: &str| p.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
            let mut name = format!("{}/{}", part("os")?, part("architecture")?);
            if let Some(variant) = part("variant") {
                name = format!("{name}/{variant}");
            }
            Some((
                digest,
                crate::domain::image::truncate(&name, 60).to_string(),
            ))
        })
        .collect()
}

/// The platform images an index manifest lists (`manifests[].digest`). Attestation manifests
/// (BuildKit's provenance and SBOM, annotated `vnd.docker.reference.type`) are not images and
/// are never scanned: they are left out. Entries without a valid digest are skipped.
pub fn index_children(manifest: &str) -> Result<Vec<Digest>, String> {
    let doc: serde_json::Value = serde_json::from_str(manifest)
        .map_err(|e| format!("the index manifest is not JSON: {e}"))?;
    let Some(entries) = doc.get("manifests").and_then(|m| m.as_array()) else {
        return Err("the index manifest has no `manifests` array".to_string());
    };
    Ok(entries
        .iter()
        .filter(|e| {
            e.get("annotations")
                .and_then(|a| a.get("vnd.docker.reference.type"))
                .is_none()
        })
        .filter_map(|e| e.get("digest").and_then(|d| d.as_str()))
        .filter_map(|d| Digest::parse(d).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_of_an_oci_index() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": a, "size": 1},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": b, "size": 1},
                {"digest": "not-a-digest"},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{}", "c".repeat(64)),
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}
            ]
        });
        let children = index_children(&manifest.to_string()).unwrap();
        assert_eq!(
            children,
            vec![Digest::parse(&a).unwrap(), Digest::parse(&b).unwrap()]
        );
        assert!(index_children("{}").is_err());
        assert!(is_index_media_type(
            "application/vnd.docker.distribution.manifest.list.v2+json"
        ));
        assert!(!is_index_media_type(
            "application/vnd.oci.image.manifest.v1+json"
        ));
    }
}
