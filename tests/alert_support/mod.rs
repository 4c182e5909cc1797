//! Support for the alert tests: evaluations built from plain values, a loopback HTTP server
//! that plays Slack and records what it was sent, and a log capture.
#![allow(dead_code)]

use ecr_scan_gate::domain::image::Digest;
use ecr_scan_gate::domain::scan::Trigger;
use ecr_scan_gate::domain::severity::{Counts, Severity};
use ecr_scan_gate::domain::verdict::Verdict;
use ecr_scan_gate::judgement::evaluation::{Action, ActionStatus, Basis, Evaluation};
use ecr_scan_gate::judgement::findings::{Finding, FindingsReport, FixState};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const DIGEST: &str = "sha256:5d0da3dc976460b72c77d94c8a1ad043720b0416bfc16c52c45d4847e53fadb6";

pub fn finding(
    id: &str,
    severity: Severity,
    package: &str,
    installed: &str,
    fixed: Option<&str>,
) -> Finding {
    Finding {
        id: id.to_string(),
        severity,
        package: Some(package.to_string()),
        installed_version: Some(installed.to_string()),
        fixed_version: fixed.map(str::to_string),
        fix_available: if fixed.is_some() {
            FixState::Yes
        } else {
            FixState::No
        },
        exploit_available: None,
        score: Some(9.8),
        link: Some(format!("https://nvd.nist.gov/vuln/detail/{id}")),
    }
}

/// A FAIL of `demo-api:v1.4.2` with `critical` CRITICAL and `high` HIGH findings counted and the
/// top 20 kept (as the tally does), quarantine planned.
pub fn failing(critical: u64, high: u64) -> Evaluation {
    let mut counts = Counts::default();
    counts.set(Severity::Critical, critical);
    counts.set(Severity::High, high);
    let mut top = Vec::new();
    for i in 0..critical.min(20) {
        top.push(finding(
            &format!("CVE-2026-{:04}", 1000 + i),
            Severity::Critical,
            "openssl",
            "3.0.11-1~deb12u1",
            Some("3.0.15-1~deb12u1"),
        ));
    }
    for i in 0..high.min(20 - top.len() as u64) {
        top.push(finding(
            &format!("CVE-2025-{:04}", 2000 + i),
            Severity::High,
            "libxml2",
            "2.9.14+dfsg-1.3",
            None,
        ));
    }
    let digest = Digest::parse(DIGEST).unwrap();
    Evaluation {
        verdict: Verdict::Fail,
        repository: "demo-api".to_string(),
        tags: vec!["v1.4.2".to_string(), "latest".to_string()],
        trigger: Trigger::BasicScan,
        counts,
        highest_severity: counts.highest(),
        reasons: vec![format!("CRITICAL {critical} >= 1 (fail threshold)")],
        basis: Basis::Findings,
        scan_status: Some("COMPLETE".to_string()),
        findings: Some(FindingsReport {
            counts,
            read: critical + high,
            top,
            ..FindingsReport::default()
        }),
        actions: vec![
            Action::Quarantine {
                tag: format!("quarantine-{}", digest.hex()),
                status: ActionStatus::Planned,
            },
            Action::Strip {
                tags: vec![],
                status: ActionStatus::Planned,
            },
            Action::Alert {
                channel: "slack".to_string(),
                status: ActionStatus::Planned,
            },
        ],
        digest: Some(digest),
        dry_run: false,
        region: Some("us-east-1".to_string()),
        account: Some("123456789012".to_string()),
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// When the whole request had arrived: the wait between a retry and the attempt before it.
    pub at: std::time::Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// A scripted answer: status, extra headers, body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: "ok".to_string(),
        }
    }
    pub fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: body.to_string(),
        }
    }
    pub fn rate_limited(retry_after: &str) -> Reply {
        Reply {
            status: 429,
            headers: vec![("Retry-After".to_string(), retry_after.to_string())],
            body: "rate_limited".to_string(),
        }
    }
}

/// A loopback HTTP/1.1 server standing in for Slack's webhook endpoint. It answers with the
/// scripted replies in order, then with `then` for every further request.
pub struct SlackReceiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SlackReceiver {
    /// The webhook URL has a Slack-like secret path, so tests can look for it in logs.
    pub async fn start(script: Vec<Reply>, then: Reply) -> SlackReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let rec = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let rec = rec.clone();
                let script = script.clone();
                let then = then.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, rec, script, then).await;
                });
            }
        });
        SlackReceiver {
            url: format!("http://{addr}/services/T0TEST/B0TEST/s3cr3tW3bh00kT0k3n"),
            received,
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    rec: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    then: Reply,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    rec.lock().unwrap().push(Received {
        method,
        path,
        headers,
        body,
        at: std::time::Instant::now(),
    });
    let reply = script.lock().unwrap().pop_front().unwrap_or(then);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&reply.body);
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}

/// A `tracing` writer that keeps everything written, for asserting on logs.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A JSON subscriber at TRACE level writing into the capture, as the function's own.
pub fn json_subscriber(capture: &LogCapture) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .finish()
}
