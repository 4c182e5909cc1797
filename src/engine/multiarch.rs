//! Multi-arch images. ECR scans each platform image of an image index; the scan event names
//! that platform image's digest, which usually has no tag, while `latest` and `v2` sit on the
//! index. A failing platform image therefore blocks every tagged index that lists it: the
//! index gets its own quarantine tag and loses its deployable tags; it is released once none
//! of its platform images fails any more. An untagged platform image gets no tag of its own:
//! the only way to take its last tag off again would be to delete it.

use crate::domain::image::Digest;
use crate::engine::ports::IndexImage;
use crate::engine::settings::Settings;
use crate::judgement::evaluation::{Action, ActionStatus};

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
