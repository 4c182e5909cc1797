//! Shared test support: the moto server (a real HTTP AWS emulator on loopback), real SDK
//! clients pointed at it, and images with seeded scan results.
#![allow(dead_code)]

pub mod archive;
pub mod ecs;
pub mod inspector;
pub mod members;
pub mod proxy;
pub mod summaries;

use aws_sdk_ecr::types::ImageIdentifier;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";
pub const TODAY: &str = "2026-11-27";

static MOTO: OnceLock<String> = OnceLock::new();
static NAMES: AtomicUsize = AtomicUsize::new(0);

/// The emulator's endpoint: `MOTO_ENDPOINT` when set (make test / .ci/run start one), else a
/// moto server from `.venv` started for this test binary, which stops when the binary exits.
pub fn moto_endpoint() -> String {
    MOTO.get_or_init(|| {
        if let Ok(url) = std::env::var("MOTO_ENDPOINT") {
            wait_ready(&url);
            return url;
        }
        let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/moto_server");
        assert!(
            std::path::Path::new(bin).exists(),
            "the moto server is not installed: run `make test` (it installs it into .venv) or set MOTO_ENDPOINT"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        // The watcher kills moto when this test process is gone.
        let script = format!(
            "{bin} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
             while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; kill $m",
            parent = std::process::id()
        );
        let mut watcher = Command::new("bash")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        std::thread::spawn(move || watcher.wait());
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(&url);
        url
    })
    .clone()
}

fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http(url, "GET", "/moto-api/data.json", None) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the moto server at {url} did not answer within 30 s");
}

/// Minimal HTTP/1.1 client for the emulator's own API (no extra dependency for tests).
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(hostport)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// A unique, valid repository name for one test.
pub fn unique_repo(stem: &str) -> String {
    format!(
        "{stem}-{}-{}",
        std::process::id(),
        NAMES.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

/// The function's SDK configuration as `main` loads it (`aws::load_sdk_config`: its HTTP client,
/// timeouts and retries), pointed at `endpoint` with the region and the credentials the Lambda
/// environment would give.
pub async fn function_config(endpoint: &str) -> aws_config::SdkConfig {
    function_config_as(endpoint, "test").await
}

/// `function_config` whose credentials have the access key id `key_id`, so that a test can tell
/// at the proxy which credentials signed a request.
pub async fn function_config_as(endpoint: &str, key_id: &str) -> aws_config::SdkConfig {
    ecr_scan_gate::adapters::aws::load_sdk_config()
        .await
        .to_builder()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ecr::config::SharedCredentialsProvider::new(
            aws_sdk_ecr::config::Credentials::new(key_id, "test", None, None, "tests"),
        ))
        .build()
}

/// The function's ECR client (`aws::ecr::client`: adaptive retry, its attempts and backoff),
/// in a retry partition of its own: each test is a function instance (a process on Lambda),
/// whose retry tokens and client-side rate one test's throttling must not drain for another.
pub fn function_ecr(config: &aws_config::SdkConfig, instance: &str) -> aws_sdk_ecr::Client {
    ecr_scan_gate::adapters::aws::ecr::client_in_partition(config, &format!("ecr-{instance}"))
}

/// A new queue on the emulator (through `sqs`, whose endpoint may be a proxy), for the sweep to
/// send to.
pub async fn new_queue(sqs: &aws_sdk_sqs::Client, stem: &str) -> String {
    sqs.create_queue()
        .queue_name(unique_repo(stem))
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_string()
}

/// The bodies of the messages waiting in the queue (up to 10), each deleted once read.
pub async fn take_bodies(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let got = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive messages");
    let mut bodies = Vec::new();
    for m in got.messages() {
        bodies.push(m.body().expect("a message body").to_string());
        sqs.delete_message()
            .queue_url(queue_url)
            .receipt_handle(m.receipt_handle().expect("a receipt handle"))
            .send()
            .await
            .expect("delete message");
    }
    bodies
}

pub struct Emulator {
    pub endpoint: String,
    pub config: aws_config::SdkConfig,
    pub ecr: aws_sdk_ecr::Client,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    DockerV2,
    Oci,
}

impl Emulator {
    pub async fn start() -> Emulator {
        let endpoint = moto_endpoint();
        let config = sdk_config(&endpoint).await;
        Emulator {
            ecr: aws_sdk_ecr::Client::new(&config),
            endpoint,
            config,
        }
    }

    pub async fn create_repo(&self, name: &str) {
        self.ecr
            .create_repository()
            .repository_name(name)
            .send()
            .await
            .expect("create repository");
    }

    pub async fn create_immutable_repo(&self, name: &str) {
        self.ecr
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
            .send()
            .await
            .expect("create repository");
    }

    /// Pushes a small image (manifest only) and returns its digest as the emulator computed it.
    pub async fn push(&self, repo: &str, tag: &str, kind: ManifestKind) -> String {
        let seed = format!("{repo}/{tag}/{}", NAMES.fetch_add(1, Ordering::Relaxed));
        let fake = |s: &str| format!("sha256:{:0>64}", hex_of(&format!("{seed}{s}")));
        let manifest = match kind {
            ManifestKind::DockerV2 => json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469, "digest": fake("c")},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3370706, "digest": fake("l")}]
            }),
            ManifestKind::Oci => json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1469, "digest": fake("c")},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 3370706, "digest": fake("l")}]
            }),
        };
        let media_type = manifest["mediaType"].as_str().map(str::to_string);
        let out = self
            .ecr
            .put_image()
            .repository_name(repo)
            .image_manifest(manifest.to_string())
            .set_image_manifest_media_type(media_type)
            .image_tag(tag)
            .send()
            .await
            .expect("put image");
        out.image()
            .and_then(|i| i.image_id())
            .and_then(|i| i.image_digest())
            .expect("digest of the pushed image")
            .to_string()
    }

    /// Pushes `n` images tagged `v0` … `v{n-1}`, 8 at a time; returns their digests.
    pub async fn push_many(&self, repo: &str, n: usize) -> Vec<String> {
        use futures_util::StreamExt;
        futures_util::stream::iter(0..n)
            .map(|i| async move {
                self.push(repo, &format!("v{i}"), ManifestKind::DockerV2)
                    .await
            })
            .buffer_unordered(8)
            .collect()
            .await
    }

    pub async fn add_tag(&self, repo: &str, digest: &str, tag: &str) {
        let got = self
            .ecr
            .batch_get_image()
            .repository_name(repo)
            .image_ids(ImageIdentifier::builder().image_digest(digest).build())
            .send()
            .await
            .expect("batch get image");
        let image = &got.images()[0];
        self.ecr
            .put_image()
            .repository_name(repo)
            .image_manifest(image.image_manifest().expect("manifest"))
            .set_image_manifest_media_type(image.image_manifest_media_type().map(str::to_string))
            .image_tag(tag)
            .send()
            .await
            .expect("put image with a new tag");
    }

    /// The image's scan must exist before findings can be read (moto: StartImageScan).
    pub async fn start_scan(&self, repo: &str, digest: &str) {
        self.ecr
            .start_image_scan()
            .repository_name(repo)
            .image_id(ImageIdentifier::builder().image_digest(digest).build())
            .send()
            .await
            .expect("start image scan");
    }

    /// Seeds the exact DescribeImageScanFindings response for this image (asked by digest).
    pub fn seed(&self, repo: &str, digest: &str, status: &str, findings: Value) {
        let mut response = json!({
            "registryId": "123456789012",
            "repositoryName": repo,
            "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": status, "description": format!("seeded {status}")},
        });
        if !findings.is_null() {
            response["imageScanFindings"] = findings;
        }
        let (code, body) = http(
            &self.endpoint,
            "POST",
            "/moto-api/static/ecr/scan-finding-results",
            Some(&json!({"results": [response], "region": REGION})),
        )
        .expect("seed scan findings");
        assert_eq!(code, 201, "seeding scan findings failed: {body}");
    }

    pub async fn tags(&self, repo: &str, digest: &str) -> Vec<String> {
        let out = self
            .ecr
            .describe_images()
            .repository_name(repo)
            .image_ids(ImageIdentifier::builder().image_digest(digest).build())
            .send()
            .await
            .expect("describe images");
        let mut tags = out.image_details()[0].image_tags().to_vec();
        tags.sort();
        tags
    }

    pub async fn image_count(&self, repo: &str) -> usize {
        self.ecr
            .describe_images()
            .repository_name(repo)
            .send()
            .await
            .expect("describe images")
            .image_details()
            .len()
    }
}

fn hex_of(s: &str) -> String {
    // Not a real hash: only needs to differ per seed and be hex.
    let mut h: u64 = 0xcbf29ce484222325;
    let mut out = String::new();
    for round in 0..4u64 {
        for b in s.bytes() {
            h ^= b as u64 ^ round;
            h = h.wrapping_mul(0x100000001b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

/// A basic-scanning finding as DescribeImageScanFindings returns it.
pub fn basic_finding(id: &str, severity: &str, package: &str, version: &str) -> Value {
    json!({
        "name": id,
        "uri": format!("https://security-tracker.debian.org/tracker/{id}"),
        "severity": severity,
        "attributes": [
            {"key": "package_version", "value": version},
            {"key": "package_name", "value": package},
            {"key": "CVSS3_SCORE", "value": "9.8"}
        ]
    })
}

/// `imageScanFindings` of a basic scan with these findings and matching counts.
pub fn basic_findings(findings: Vec<Value>) -> Value {
    let mut counts = serde_json::Map::new();
    for f in &findings {
        let sev = f["severity"].as_str().unwrap_or("UNDEFINED").to_string();
        let n = counts.get(&sev).and_then(Value::as_u64).unwrap_or(0);
        counts.insert(sev, json!(n + 1));
    }
    json!({
        "findings": findings,
        "imageScanCompletedAt": 1579839105.0,
        "vulnerabilitySourceUpdatedAt": 1579811117.0,
        "findingSeverityCounts": counts
    })
}

/// The AWS sample of an enhanced DescribeImageScanFindings response (AWS documentation), with
/// the repository and digest replaced.
pub fn enhanced_sample_findings() -> Value {
    let text = include_str!("../fixtures/describe-image-scan-findings-enhanced.response.json");
    let v: Value = serde_json::from_str(text).expect("sample parses");
    v["imageScanFindings"].clone()
}

/// An `ECR Image Scan` event for this image, as EventBridge delivers it.
pub fn ecr_scan_event(
    repo: &str,
    digest: &str,
    tags: &[&str],
    counts: Value,
    status: &str,
) -> Value {
    json!({
        "version": "0",
        "id": "85fc3613-e913-7fc4-a80c-a3753e4aa9ae",
        "detail-type": "ECR Image Scan",
        "source": "aws.ecr",
        "account": "123456789012",
        "time": "2026-11-27T02:36:48Z",
        "region": REGION,
        "resources": [format!("arn:aws:ecr:{REGION}:123456789012:repository/{repo}")],
        "detail": {
            "scan-status": status,
            "repository-name": repo,
            "finding-severity-counts": counts,
            "image-digest": digest,
            "image-tags": tags
        }
    })
}

impl Emulator {
    /// Pushes two platform images (amd64, arm64; tagged as `child_tags` says, untagged as
    /// `docker buildx` pushes them) and an OCI index of them tagged `index_tags`; returns
    /// (index, amd64, arm64) digests.
    pub async fn push_multi_arch(
        &self,
        repo: &str,
        child_tags: [Option<&str>; 2],
        index_tags: &[&str],
    ) -> (String, String, String) {
        let mut children = Vec::new();
        for (arch, tag) in ["amd64", "arm64"].into_iter().zip(child_tags) {
            let seed = format!("{repo}/{arch}/{}", NAMES.fetch_add(1, Ordering::Relaxed));
            let layer = |s: &str| format!("sha256:{:0>64}", hex_of(&format!("{seed}{s}")));
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 10,
                           "digest": layer("c")},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 10,
                            "digest": layer("l")}]
            });
            let out = self
                .ecr
                .put_image()
                .repository_name(repo)
                .image_manifest(manifest.to_string())
                .image_manifest_media_type("application/vnd.oci.image.manifest.v1+json")
                .set_image_tag(tag.map(str::to_string))
                .send()
                .await
                .expect("put platform image");
            children.push(
                out.image()
                    .and_then(|i| i.image_id())
                    .and_then(|i| i.image_digest())
                    .expect("digest of the platform image")
                    .to_string(),
            );
        }
        let (a, b) = (children[0].clone(), children[1].clone());
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 500, "digest": a,
                 "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 500, "digest": b,
                 "platform": {"architecture": "arm64", "os": "linux"}}
            ]
        });
        let mut index_digest = String::new();
        for tag in index_tags {
            let out = self
                .ecr
                .put_image()
                .repository_name(repo)
                .image_manifest(index.to_string())
                .image_manifest_media_type("application/vnd.oci.image.index.v1+json")
                .image_tag(*tag)
                .send()
                .await
                .expect("put image index");
            index_digest = out
                .image()
                .and_then(|i| i.image_id())
                .and_then(|i| i.image_digest())
                .expect("digest of the index")
                .to_string();
        }
        (index_digest, a, b)
    }
}

// --- Alerts (issue 4): an SNS topic with an SQS queue subscribed, and SSM parameters. ---

/// A topic and a queue subscribed to it (envelope delivery, as an e-mail-less consumer sees it).
pub struct TopicWithQueue {
    pub topic_arn: String,
    pub queue_url: String,
}

impl Emulator {
    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    /// Creates topic `name` and queue `name`, subscribed with `filter_policy` when given.
    pub async fn topic_with_queue(
        &self,
        name: &str,
        filter_policy: Option<&str>,
    ) -> TopicWithQueue {
        let topic_arn = self
            .sns()
            .create_topic()
            .name(name)
            .send()
            .await
            .expect("create topic")
            .topic_arn()
            .expect("topic arn")
            .to_string();
        let queue_url = self.subscribed_queue(&topic_arn, name, filter_policy).await;
        TopicWithQueue {
            topic_arn,
            queue_url,
        }
    }

    /// Creates queue `name` and subscribes it to the topic.
    pub async fn subscribed_queue(
        &self,
        topic_arn: &str,
        name: &str,
        filter_policy: Option<&str>,
    ) -> String {
        let sqs = self.sqs();
        let queue_url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create queue")
            .queue_url()
            .expect("queue url")
            .to_string();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("queue arn")
            .clone();
        let mut sub = self
            .sns()
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn);
        if let Some(policy) = filter_policy {
            sub = sub.attributes("FilterPolicy", policy);
        }
        sub.send().await.expect("subscribe queue");
        queue_url
    }

    /// The SNS envelopes in the queue (moto pretty-prints them: parsed here), after waiting up
    /// to `wait_s` seconds for the first.
    pub async fn receive_envelopes(&self, queue_url: &str, wait_s: i32) -> Vec<Value> {
        let out = self
            .sqs()
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_s)
            .send()
            .await
            .expect("receive message");
        out.messages()
            .iter()
            .map(|m| {
                serde_json::from_str(m.body().expect("body")).expect("the SNS envelope is JSON")
            })
            .collect()
    }

    /// What was published to the topic, as the emulator recorded it: (message, subject, attributes).
    pub fn sent_notifications(&self, topic_arn: &str) -> Vec<(String, Option<String>, Value)> {
        let (code, body) =
            http(&self.endpoint, "GET", "/moto-api/data.json", None).expect("moto data");
        assert_eq!(code, 200, "{body}");
        let data: Value = serde_json::from_str(&body).expect("moto data is JSON");
        let topics = data["sns"]["Topic"].as_array().cloned().unwrap_or_default();
        let topic = topics
            .iter()
            .find(|t| t["arn"] == topic_arn)
            .expect("the topic in moto's data");
        topic["sent_notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|n| {
                (
                    n[1].as_str().unwrap_or_default().to_string(),
                    n[2].as_str().map(str::to_string),
                    n[3].clone(),
                )
            })
            .collect()
    }

    /// Stores a SecureString parameter.
    pub async fn put_secure_parameter(&self, name: &str, value: &str) {
        aws_sdk_ssm::Client::new(&self.config)
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("put parameter");
    }
}

/// An image `v1.4.2` in a new repository with `critical` CRITICAL findings seeded and its scan
/// started; returns (repository, digest, the ECR Image Scan event).
pub async fn image_with_critical_findings(
    emu: &Emulator,
    stem: &str,
    critical: usize,
) -> (String, String, Value) {
    let repo = unique_repo(stem);
    emu.create_repo(&repo).await;
    let digest = emu.push(&repo, "v1.4.2", ManifestKind::DockerV2).await;
    emu.start_scan(&repo, &digest).await;
    let findings: Vec<Value> = (0..critical)
        .map(|i| {
            basic_finding(
                &format!("CVE-2026-{:04}", 1000 + i),
                "CRITICAL",
                "openssl",
                "3.0.11-1~deb12u1",
            )
        })
        .collect();
    emu.seed(&repo, &digest, "COMPLETE", basic_findings(findings));
    let event = ecr_scan_event(
        &repo,
        &digest,
        &["v1.4.2"],
        json!({"CRITICAL": critical}),
        "COMPLETE",
    );
    (repo, digest, event)
}

/// The function's context for one invocation in a single account (no function ARN, so no
/// member routing), at the tests' fixed day and time, with no deadline.
pub fn one_account_cx() -> ecr_scan_gate::entry::app::Context<'static> {
    ecr_scan_gate::entry::app::Context {
        request_id: "test",
        function_name: "ecr-scan-gate",
        today: TODAY,
        now_s: 1_795_746_208,
        deadline: ecr_scan_gate::engine::ports::Deadline::none(),
        home: Err("no function ARN: one account"),
    }
}
