//! The quarantined images of the registry, listed page by page; shared by the report
//! (`{"report": {}}`) and the operator CLI (`ecr-scan-gate-check quarantined`).

use crate::domain::date::rfc3339;
use crate::domain::quarantine::is_quarantined;
use crate::engine::ports::{Inventory, RegistryError};
use crate::judgement::registry_report::QuarantinedImage;

/// Safety stop per repository for a registry whose pagination does not end.
const MAX_PAGES: usize = 10_000;

/// Every image carrying a quarantine tag in the repositories matching `globs`, by repository
/// then push time. Repositories that cannot be listed are named in the errors; the others are
/// still listed.
pub async fn quarantined_images<I: Inventory>(
    inventory: &I,
    globs: &[String],
    quarantine_prefix: &str,
) -> (Vec<QuarantinedImage>, Vec<String>) {
    let mut images = Vec::new();
    let mut errors = Vec::new();
    let repositories = match inventory.repositories(globs).await {
        Ok(r) => r,
        Err(e) => return (images, vec![e.to_string()]),
    };
    for repository in &repositories {
        if let Err(e) = list_repository(inventory, repository, quarantine_prefix, &mut images).await
        {
            errors.push(e.to_string());
        }
    }
    (images, errors)
}

async fn list_repository<I: Inventory>(
    inventory: &I,
    repository: &str,
    prefix: &str,
    out: &mut Vec<QuarantinedImage>,
) -> Result<(), RegistryError> {
    let mut token = None;
    let mut found = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = inventory.images_page(repository, token).await?;
        found.extend(
            page.images
                .into_iter()
                .filter(|i| is_quarantined(&i.tags, prefix, &i.digest))
                .map(|i| {
                    let mut tags = i.tags;
                    tags.sort();
                    (
                        i.pushed_at,
                        QuarantinedImage {
                            repository: repository.to_string(),
                            digest: i.digest,
                            tags,
                            pushed_at: i.pushed_at.and_then(rfc3339),
                        },
                    )
                }),
        );
        token = page.next_token;
        if token.is_none() {
            found.sort_by_key(|(at, q)| (*at, q.digest.clone()));
            out.extend(found.into_iter().map(|(_, q)| q));
            return Ok(());
        }
    }
    Err(RegistryError::BadResponse {
        operation: "DescribeImages",
        repository: repository.to_string(),
        problem: format!("more than {MAX_PAGES} pages of images"),
    })
}

/// The CLI's table: one line per image.
pub fn render_table(images: &[QuarantinedImage]) -> String {
    use std::fmt::Write;
    let rows: Vec<[String; 4]> = images
        .iter()
        .map(|i| {
            [
                i.repository.clone(),
                i.tags.join(","),
                i.digest.to_string(),
                i.pushed_at.clone().unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    let header = ["REPOSITORY", "TAGS", "DIGEST", "PUSHED AT"];
    let width = |c: usize| {
        rows.iter()
            .map(|r| r[c].chars().count())
            .chain([header[c].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    let mut line = |cells: [&str; 4]| {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3]]);
    }
    let _ = writeln!(out, "{} quarantined image(s)", images.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::image::Digest;

    #[test]
    fn the_table_aligns_columns_and_counts_images() {
        let d = Digest::parse(&format!("sha256:{}", "b".repeat(64))).unwrap();
        let images = vec![QuarantinedImage {
            repository: "team/api".to_string(),
            digest: d.clone(),
            tags: vec!["quarantine-bbb".to_string(), "v1".to_string()],
            pushed_at: Some("2026-11-27T00:23:28Z".to_string()),
        }];
        let table = render_table(&images);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("REPOSITORY  TAGS"), "{table}");
        assert!(
            lines[1].starts_with("team/api    quarantine-bbb,v1  sha256:bbb"),
            "{table}"
        );
        assert!(lines[1].ends_with("2026-11-27T00:23:28Z"), "{table}");
        assert_eq!(lines[2], "1 quarantined image(s)");
    }
}
