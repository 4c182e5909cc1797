use super::*;
use serde_json::json;

const REVISION: &str =
    "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/4980306466373577095";

fn payload() -> Value {
    json!({
        "executionId": "a1b2c3",
        "lifecycleStage": "PRE_SCALE_UP",
        "resourceArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/AbCdEf",
        "executionDetails": {
            "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
            "targetServiceRevisionArn": REVISION,
            "testTrafficWeights": {},
            "productionTrafficWeights": {}
        }
    })
}

fn ecr(account: &str, region: &str, repository: &str, tag: Option<&str>) -> ImageLocation {
    ImageLocation::Ecr(EcrImage {
        account: account.into(),
        region: region.into(),
        repository: repository.into(),
        tag: tag.map(str::to_string),
        digest: None,
    })
}

#[test]
fn the_hook_payload_is_recognised_and_read() {
    assert!(is_hook_payload(&payload()));
    for other in [
        json!({"repository": "demo-api", "tag": "v1"}),
        json!({"executionId": "x", "lifecycleStage": "PRE_SCALE_UP"}),
        json!([1]),
    ] {
        assert!(!is_hook_payload(&other), "{other}");
    }
    let r = HookRequest::parse(&payload()).unwrap();
    assert_eq!(r.execution_id, "a1b2c3");
    assert_eq!(r.lifecycle_stage, "PRE_SCALE_UP");
    assert_eq!(r.revision_arn, REVISION);
    assert_eq!(r.revision.service_text(), "web (cluster prod)");
    assert_eq!(
        (r.revision.account.as_str(), r.revision.region.as_str()),
        ("123456789012", "us-east-1")
    );
    assert!(r.hook_details.is_empty());

    let mut with_details = payload();
    with_details["hookDetails"] = json!({"waiting_since": "2026-11-27T02:36:48Z", "team": "a"});
    let r = HookRequest::parse(&with_details).unwrap();
    assert_eq!(r.hook_details["team"], "a");
}

#[test]
fn a_malformed_payload_names_its_field() {
    let mut p = payload();
    p["executionDetails"]
        .as_object_mut()
        .unwrap()
        .remove("targetServiceRevisionArn");
    let e = HookRequest::parse(&p).unwrap_err();
    assert_eq!(e.field, "executionDetails.targetServiceRevisionArn");
    let mut p = payload();
    p["executionDetails"]["targetServiceRevisionArn"] =
        json!("arn:aws:ecs:us-east-1:123456789012:service/prod/web");
    let e = HookRequest::parse(&p).unwrap_err();
    assert!(e.problem.contains("service-revision/"), "{e}");
    let mut p = payload();
    p["executionDetails"] = json!("x");
    assert_eq!(
        HookRequest::parse(&p).unwrap_err().field,
        "executionDetails"
    );
}

#[test]
fn ecs_arns() {
    let old = parse_ecs_arn("arn:aws:ecs:eu-west-1:111111111111:service/web", "service").unwrap();
    assert_eq!((old.cluster, old.service.as_str()), (None, "web"));
    let cn = parse_ecs_arn(
        "arn:aws-cn:ecs:cn-north-1:111111111111:service-revision/c_1/s-2/99",
        "service-revision",
    )
    .unwrap();
    assert_eq!(cn.partition, "aws-cn");
    assert_eq!(cn.cluster.as_deref(), Some("c_1"));
    for bad in [
        "arn:aws:ecs:us-east-1:1234:service-revision/prod/web/1",
        "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web",
        "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/w eb/1",
        "arn:aws:lambda:us-east-1:123456789012:service-revision/prod/web/1",
        "",
    ] {
        assert!(parse_ecs_arn(bad, "service-revision").is_err(), "{bad}");
    }
}

#[test]
fn ecr_image_references() {
    let digest = format!("sha256:{}", "a".repeat(64));
    assert_eq!(
        locate_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/demo-api:v1").unwrap(),
        ecr("123456789012", "us-east-1", "demo-api", Some("v1"))
    );
    assert_eq!(
        locate_image("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/api").unwrap(),
        ecr("123456789012", "cn-north-1", "team/api", None)
    );
    for host in [
        "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
        "123456789012.dkr-ecr.us-gov-west-1.on.aws",
        "123456789012.dkr-ecr-fips.us-gov-west-1.on.aws",
        "123456789012.DKR.ECR.US-GOV-WEST-1.AMAZONAWS.COM",
    ] {
        assert_eq!(
            locate_image(&format!("{host}/x/api:v2")).unwrap(),
            ecr("123456789012", "us-gov-west-1", "x/api", Some("v2")),
            "{host}"
        );
    }
    let Ok(ImageLocation::Ecr(e)) = locate_image(&format!(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo-api:v1@{digest}"
    )) else {
        panic!("not ECR")
    };
    assert_eq!(e.digest.map(|d| d.to_string()), Some(digest.clone()));
    assert_eq!(e.tag.as_deref(), Some("v1"));
}

#[test]
fn other_registries_are_not_ecr_and_ecr_lookalikes_are_errors() {
    for (image, registry) in [
        ("nginx", "docker.io"),
        ("nginx:1.27", "docker.io"),
        ("library/nginx:1.27", "docker.io"),
        ("public.ecr.aws/nginx/nginx:latest", "public.ecr.aws"),
        ("ghcr.io/org/app@sha256:00", "ghcr.io"),
        ("localhost:5000/app", "localhost:5000"),
    ] {
        assert_eq!(
            locate_image(image).unwrap(),
            ImageLocation::NotEcr {
                registry: registry.into()
            },
            "{image}"
        );
    }
    for (image, says) in [
        ("12345.dkr.ecr.us-east-1.amazonaws.com/api", "12-digit"),
        ("123456789012.dkr.ecr.moon.amazonaws.com/api", "region"),
        (
            "123456789012.dkr.ecr.us-east-1.example.com/api",
            "looks like",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/Api",
            "repository",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:zz",
            "digest",
        ),
    ] {
        let e = locate_image(image).unwrap_err();
        assert!(e.contains(says), "{image}: {e}");
    }
}

#[test]
fn rfc3339_round_trips() {
    for s in [0, 1_795_746_208, 951_782_400, 253_402_300_799] {
        let text = rfc3339(s).unwrap();
        assert_eq!(parse_rfc3339(&text), Some(s), "{text}");
    }
    for bad in [
        "2026-11-27 02:36:48Z",
        "2026-11-27T02:36:48",
        "2026-02-30T00:00:00Z",
        "2026-11-27T24:00:00Z",
        "2026-11-27T02:3a:48Z",
        "2026-11-27T02:36:48+00:00",
        "",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
}

#[test]
fn the_wait_starts_once_and_ends_after_max_wait() {
    let now = 1_795_746_208;
    let none = Map::new();
    assert_eq!(
        waited(&none, now, 600),
        Waited {
            since: now,
            over: false,
            note: None
        }
    );
    assert!(waited(&none, now, 0).over, "max_wait_s 0: no wait at all");
    let at = |s: i64| {
        let mut m = Map::new();
        m.insert(WAITING_SINCE.into(), json!(rfc3339(s).unwrap()));
        m
    };
    assert!(!waited(&at(now - 599), now, 600).over);
    let w = waited(&at(now - 600), now, 600);
    assert!(w.over && w.since == now - 600 && w.note.is_none(), "{w:?}");
    assert!(!waited(&at(now + 60), now, 600).over, "clock skew");
    for hostile in [
        json!("soon"),
        json!(12),
        json!(rfc3339(now + 3600).unwrap()),
    ] {
        let mut m = Map::new();
        m.insert(WAITING_SINCE.into(), hostile.clone());
        let w = waited(&m, now, 600);
        assert!(w.over && w.note.is_some(), "{hostile}: {w:?}");
    }
}

#[test]
fn answers_serialise_exactly_as_ecs_reads_them() {
    assert_eq!(
        serde_json::to_value(HookAnswer::done(HookStatus::Succeeded)).unwrap(),
        json!({"hookStatus": "SUCCEEDED"})
    );
    assert_eq!(
        serde_json::to_value(HookAnswer::done(HookStatus::Failed)).unwrap(),
        json!({"hookStatus": "FAILED"})
    );
    let mut incoming = Map::new();
    incoming.insert("team".into(), json!("a"));
    assert_eq!(
        serde_json::to_value(HookAnswer::in_progress(&incoming, 1_795_746_208, 30)).unwrap(),
        json!({"hookStatus": "IN_PROGRESS", "callBackDelay": 30,
               "hookDetails": {"team": "a", "waiting_since": "2026-11-27T02:23:28Z"}})
    );
}

#[test]
fn outcomes_combine_into_one_answer() {
    use HookStatus::*;
    use ImageOutcome as O;
    let c = combine;
    assert_eq!(
        c(&[O::Deployable], false, false),
        (Succeeded, Cause::AllDeployable)
    );
    assert_eq!(c(&[], false, false), (Succeeded, Cause::AllDeployable));
    assert_eq!(
        c(&[O::Waiting, O::Blocked], false, false),
        (Failed, Cause::Blocked)
    );
    assert_eq!(
        c(&[O::Deployable, O::Waiting], false, true),
        (InProgress, Cause::Waiting)
    );
    assert_eq!(
        c(&[O::ScanFailed, O::ReadError], false, false),
        (InProgress, Cause::Waiting)
    );
    assert_eq!(
        c(&[O::Waiting, O::ReadError], true, false),
        (Failed, Cause::ReadErrorAfterWait)
    );
    assert_eq!(
        c(&[O::Waiting], true, true),
        (Failed, Cause::ScanFailureBlocks)
    );
    assert_eq!(
        c(&[O::Waiting], true, false),
        (Succeeded, Cause::ScanFailureAllowed)
    );
    assert_eq!(
        c(&[O::ScanFailed], false, false),
        (Succeeded, Cause::ScanFailureAllowed)
    );
    assert!(Cause::Blocked.names(O::Blocked) && !Cause::Blocked.names(O::Waiting));
    assert!(Cause::ScanFailureBlocks.names(O::ScanFailed));
    assert!(!Cause::AllDeployable.names(O::Deployable));
}
