use super::*;
use serde_json::json;

const DIGEST: &str = "sha256:a80c9cdd6659e2978d1d06ff335ee32800ed82aeff2d5d4091c13abbbcb4380d";

fn image(repository: &str) -> VexImage<'_> {
    VexImage {
        repository,
        digest: Some(DIGEST),
    }
}

fn fixture(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/fixtures/openvex/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn doc(statements: serde_json::Value) -> VexDocument {
    VexDocument::parse(
        &json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.com/vex/team-a-1",
            "author": "team-a",
            "timestamp": "2026-11-01T00:00:00Z",
            "version": 1,
            "statements": statements,
        }),
        "test",
    )
    .unwrap()
}

#[test]
fn the_openvex_projects_own_documents_are_read() {
    for name in [
        "spec-minimal.vex.json",
        "tutorial02-document1.vex.json",
        "tutorial02-document2.vex.json",
        "tutorial02-merged.vex.json",
    ] {
        let d = VexDocument::parse(&fixture(name), name).unwrap_or_else(|e| panic!("{e}"));
        assert!(!d.statements.is_empty(), "{name}");
        assert!(d.id.starts_with("https://openvex.dev/") || d.id.starts_with("merged-vex-"));
    }
    let merged = VexDocument::parse(&fixture("tutorial02-merged.vex.json"), "m").unwrap();
    assert_eq!(
        merged
            .statements
            .iter()
            .map(|s| s.status)
            .collect::<Vec<_>>(),
        vec![VexStatus::UnderInvestigation, VexStatus::Affected]
    );
    // Their products are no OCI image: they excuse nothing here, and the spec's `fixed`
    // statement is named by the warning.
    let spec = VexDocument::parse(&fixture("spec-minimal.vex.json"), "s").unwrap();
    assert_eq!(statements_about_no_image(&spec), vec![0]);
    let docs = [spec, merged];
    assert!(decide(&docs, "CVE-2023-12345", Some("git"), None, image("git")).is_none());
    assert!(decide(&docs, "CVE-1234-5678", None, None, image("product")).is_none());
}

#[test]
fn not_affected_for_the_image_by_digest_excuses_it_and_names_the_statement() {
    let d = doc(json!([{
        "vulnerability": {"name": "CVE-2024-45491", "aliases": ["GHSA-xxxx"]},
        "products": [{"@id": format!("pkg:oci/api@{}", DIGEST.replace(':', "%3A"))}],
        "status": "not_affected",
        "justification": "vulnerable_code_not_in_execute_path"
    }]));
    let docs = [d];
    let hit = decide(
        &docs,
        "CVE-2024-45491",
        Some("expat"),
        None,
        image("team/api"),
    )
    .unwrap();
    assert_eq!(hit.document.id, "https://example.com/vex/team-a-1");
    assert_eq!(hit.statement.index, 0);
    assert!(hit.statement.status.excuses());
    // By alias, case aside.
    assert!(decide(&docs, "ghsa-XXXX", None, None, image("team/api")).is_some());
    // Another image, another repository's last segment: no.
    let other = VexImage {
        repository: "team/api",
        digest: Some("sha256:0000000000000000000000000000000000000000000000000000000000000000"),
    };
    assert!(decide(&docs, "CVE-2024-45491", None, None, other).is_none());
    assert!(decide(&docs, "CVE-2024-45491", None, None, image("team/web")).is_none());
    assert!(decide(&docs, "CVE-2024-0001", None, None, image("team/api")).is_none());
}

#[test]
fn a_repository_product_covers_every_image_of_that_repository_only() {
    let d = doc(json!([{
        "vulnerability": "CVE-1",
        "products": ["pkg:oci/api?repository_url=123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api"],
        "status": "fixed"
    }]));
    let docs = [d];
    assert!(decide(&docs, "CVE-1", None, None, image("team/api")).is_some());
    assert!(decide(&docs, "CVE-1", None, None, image("other/api")).is_none());
    let tag_only = VexImage {
        repository: "team/api",
        digest: None,
    };
    assert!(decide(&docs, "CVE-1", None, None, tag_only).is_some());
}

#[test]
fn subcomponents_narrow_to_the_findings_package() {
    let d = doc(json!([{
        "vulnerability": {"name": "CVE-2"},
        "products": [{
            "@id": format!("pkg:oci/api@{DIGEST}"),
            "subcomponents": [{"@id": "pkg:deb/debian/linux-libc-dev@6.1.0-1"}]
        }],
        "status": "not_affected",
        "justification": "vulnerable_code_not_present"
    }]));
    let docs = [d];
    let at = image("api");
    assert!(decide(&docs, "CVE-2", Some("linux-libc-dev"), Some("6.1.0-1"), at).is_some());
    assert!(decide(&docs, "CVE-2", Some("linux-libc-dev"), None, at).is_some());
    assert!(decide(&docs, "CVE-2", Some("linux-libc-dev"), Some("6.1.0-2"), at).is_none());
    assert!(decide(&docs, "CVE-2", Some("openssl"), None, at).is_none());
    assert!(decide(&docs, "CVE-2", None, None, at).is_none());
}

#[test]
fn the_latest_statement_wins_and_only_not_affected_or_fixed_excuse() {
    let product = format!("pkg:oci/api@{DIGEST}");
    let d = doc(json!([
        {"vulnerability": "CVE-3", "products": [product], "status": "not_affected",
         "justification": "component_not_present", "timestamp": "2026-11-02T10:00:00+02:00"},
        {"vulnerability": "CVE-3", "products": [product], "status": "affected",
         "action_statement": "upgrade", "timestamp": "2026-11-02T09:00:00Z"},
        {"vulnerability": "CVE-4", "products": [product], "status": "under_investigation"}
    ]));
    let docs = [d];
    // 09:00Z is later than 10:00+02:00 (08:00Z): affected wins, nothing is excused.
    let hit = decide(&docs, "CVE-3", None, None, image("api")).unwrap();
    assert_eq!(hit.statement.status, VexStatus::Affected);
    assert!(!hit.statement.status.excuses());
    let hit = decide(&docs, "CVE-4", None, None, image("api")).unwrap();
    assert!(!hit.statement.status.excuses());
}

#[test]
fn a_team_document_speaks_only_for_its_repositories() {
    let mut d = doc(json!([{
        "vulnerability": "CVE-5", "products": [format!("pkg:oci/api@{DIGEST}")], "status": "fixed"
    }]));
    d.scope = vec!["team-a/*".to_string()];
    let docs = [d];
    assert!(decide(&docs, "CVE-5", None, None, image("team-a/api")).is_some());
    assert!(decide(&docs, "CVE-5", None, None, image("team-b/api")).is_none());
}

#[test]
fn not_affected_without_a_justification_is_refused_naming_the_statement() {
    let e = VexDocument::parse(
        &json!({"@id": "https://example.com/v", "statements": [
            {"vulnerability": "CVE-1", "products": ["pkg:oci/a"], "status": "fixed"},
            {"vulnerability": "CVE-2", "products": ["pkg:oci/a"], "status": "not_affected"}
        ]}),
        "policy vex[0]",
    )
    .unwrap_err();
    assert!(
        e.contains("policy vex[0] (https://example.com/v) statements[1]"),
        "{e}"
    );
    assert!(e.contains("no `justification`"), "{e}");
    let with_impact = VexDocument::parse(
        &json!({"@id": "x", "statements": [{"vulnerability": "CVE-2", "products": ["pkg:oci/a"],
            "status": "not_affected", "impact_statement": "the code is removed"}]}),
        "s",
    );
    assert!(with_impact.is_ok());
    for (bad, says) in [
        (
            json!({"@id": "x", "statements": []}),
            "`statements` is empty",
        ),
        (json!({"statements": []}), "not an OpenVEX document"),
        (
            json!({"@id": "x", "statements": [{"vulnerability": "CVE-1", "products": ["p"], "status": "maybe"}]}),
            "`status` \"maybe\"",
        ),
        (
            json!({"@id": "x", "statements": [{"vulnerability": "CVE-1", "status": "fixed"}]}),
            "`products` is empty",
        ),
    ] {
        let e = VexDocument::parse(&bad, "s").unwrap_err();
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn times() {
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_time("1970-01-01T01:00:00+01:00"), Some(0));
    assert_eq!(
        parse_time("2023-09-20T11:46:28.949091+02:00"),
        parse_time("2023-09-20T09:46:28Z")
    );
    assert_eq!(parse_time("yesterday"), None);
}
