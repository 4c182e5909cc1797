//! A loopback HTTP proxy in front of the emulator (or any HTTP server) that counts requests by
//! operation and answers faults on demand: throttling, 5xx, slow responses, dropped connections;
//! it can also hold an operation to a rate (ThrottlingException beyond it) and rewrite the
//! upstream's answers (to add what the emulator lacks, e.g. DescribeImages' scan summaries).
//! It notes when each request arrived and, for the operations a test asks, keeps the requests
//! whole (what the emulator does not check, e.g. `AssumeRole`'s `ExternalId`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// `ThrottlingException` (JSON protocols: ECR, SSM) or `Throttling` (query protocol: SNS).
    Throttle,
    /// HTTP 500 with an `InternalFailure` body.
    ServerError,
    /// HTTP 503 with no body (as a load balancer answers).
    Unavailable,
    /// Wait, then forward.
    Slow(Duration),
    /// Close the connection without answering.
    Drop,
    /// HTTP 403 `AccessDenied` as AWS answers a caller without permission: an XML error for
    /// the query protocol (STS `AssumeRole`, SNS), `AccessDeniedException` for JSON protocols.
    AccessDenied,
}

#[derive(Clone, Debug)]
struct Rule {
    operation: Option<String>,
    fault: Fault,
    /// Requests for the operation to let through before the fault starts.
    skip: usize,
    remaining: usize,
}

/// A request held at the proxy until the test lets it go (see [`FaultProxy::hold`]).
pub struct Hold {
    operation: String,
    used: std::sync::atomic::AtomicBool,
    arrived: tokio::sync::Notify,
    release: tokio::sync::Semaphore,
}

impl Hold {
    /// Waits until the held request has reached the proxy.
    pub async fn arrived(&self) {
        self.arrived.notified().await
    }
    /// Lets the held request go on to the upstream.
    pub fn release(&self) {
        self.release.add_permits(1)
    }
}

/// Rewrites an upstream answer's body: (request body, response body) -> new response body.
pub type Rewrite = Arc<dyn Fn(&[u8], &str) -> String + Send + Sync>;

/// Answers an operation the upstream does not implement: request body -> (HTTP status, JSON
/// body). Each test says which AWS API reference page its answer follows.
pub type Answer = Arc<dyn Fn(&[u8]) -> (u16, String) + Send + Sync>;

struct RateLimit {
    operation: String,
    per_second: usize,
    window: Option<Instant>,
    used: usize,
}

#[derive(Default)]
struct State {
    holds: Vec<Arc<Hold>>,
    rules: Vec<Rule>,
    counts: HashMap<String, usize>,
    /// Every operation in the order it reached the proxy.
    sequence: Vec<String>,
    faults_served: usize,
    rewrites: Vec<(String, Rewrite)>,
    answers: Vec<(String, Answer)>,
    limits: Vec<RateLimit>,
    /// When each request reached the proxy, by operation (since the last `reset_counts`).
    arrivals: Vec<(String, Instant)>,
    /// The operations whose requests are kept whole (see [`FaultProxy::record`]).
    recording: Vec<String>,
    recorded: Vec<(String, Recorded)>,
}

/// A request as it reached the proxy (see [`FaultProxy::record`]).
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The request line and the headers.
    pub head: String,
    pub body: String,
}

impl Recorded {
    /// The decoded value of a form field of the body (query protocol: STS, SNS), e.g.
    /// `ExternalId` of `Action=AssumeRole&...&ExternalId=...`; `None` when it is absent.
    pub fn form(&self, field: &str) -> Option<String> {
        self.body.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name) == field).then(|| percent_decode(value))
        })
    }

    /// The value of a header (the first of that name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
            .flatten();
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`) on a free loopback port.
    pub async fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, state).await;
                });
            }
        });
        FaultProxy { endpoint, state }
    }

    /// The next `times` requests for `operation` (all operations when `None`) get `fault`.
    pub fn inject(&self, operation: Option<&str>, fault: Fault, times: usize) {
        self.inject_after(operation, 0, fault, times);
    }

    /// As [`FaultProxy::inject`], once `skip` requests for `operation` went through (a fault in
    /// the middle of a listing).
    pub fn inject_after(&self, operation: Option<&str>, skip: usize, fault: Fault, times: usize) {
        self.state.lock().unwrap().rules.push(Rule {
            operation: operation.map(str::to_string),
            fault,
            skip,
            remaining: times,
        });
    }

    /// The next request for `operation` waits at the proxy until [`Hold::release`]: a test
    /// changes the world in between (e.g. pushes an image while a delete is in flight).
    pub fn hold(&self, operation: &str) -> Arc<Hold> {
        let hold = Arc::new(Hold {
            operation: operation.to_string(),
            used: std::sync::atomic::AtomicBool::new(false),
            arrived: tokio::sync::Notify::new(),
            release: tokio::sync::Semaphore::new(0),
        });
        self.state.lock().unwrap().holds.push(hold.clone());
        hold
    }

    /// Answers of `operation` pass through `rewrite` (the last one set wins).
    pub fn rewrite(&self, operation: &str, rewrite: Rewrite) {
        let mut st = self.state.lock().unwrap();
        st.rewrites.retain(|(o, _)| o != operation);
        st.rewrites.push((operation.to_string(), rewrite));
    }

    /// Answers `operation` here instead of forwarding it (an API the emulator lacks). Faults
    /// and holds still apply first.
    pub fn answer(&self, operation: &str, answer: Answer) {
        let mut st = self.state.lock().unwrap();
        st.answers.retain(|(o, _)| o != operation);
        st.answers.push((operation.to_string(), answer));
    }

    /// `operation` is forwarded again (undoes [`FaultProxy::answer`]).
    pub fn unanswer(&self, operation: &str) {
        self.state
            .lock()
            .unwrap()
            .answers
            .retain(|(o, _)| o != operation);
    }

    /// At most `per_second` requests of `operation` are forwarded per second (fixed one-second
    /// windows); the others get `ThrottlingException`, as ECR answers past its quota.
    pub fn rate_limit(&self, operation: &str, per_second: usize) {
        self.state.lock().unwrap().limits.push(RateLimit {
            operation: operation.to_string(),
            per_second,
            window: None,
            used: 0,
        });
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// Requests that reached the proxy for an operation (faulted or forwarded).
    pub fn count(&self, operation: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .counts
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    pub fn counts(&self) -> HashMap<String, usize> {
        self.state.lock().unwrap().counts.clone()
    }

    pub fn total(&self) -> usize {
        self.state.lock().unwrap().counts.values().sum()
    }

    pub fn reset_counts(&self) {
        let mut st = self.state.lock().unwrap();
        st.counts.clear();
        st.sequence.clear();
        st.arrivals.clear();
    }

    /// The operations that reached the proxy, in order (since the last `reset_counts`).
    pub fn sequence(&self) -> Vec<String> {
        self.state.lock().unwrap().sequence.clone()
    }

    pub fn faults_served(&self) -> usize {
        self.state.lock().unwrap().faults_served
    }

    /// When each request for `operation` reached the proxy, in order (since the last
    /// `reset_counts`): the time a retry came after the attempt it replaced.
    pub fn arrivals(&self, operation: &str) -> Vec<Instant> {
        self.state
            .lock()
            .unwrap()
            .arrivals
            .iter()
            .filter(|(o, _)| o == operation)
            .map(|(_, t)| *t)
            .collect()
    }

    /// From now on every request for `operation` is kept whole, head and body, for
    /// [`FaultProxy::recorded`]: what the function sent (e.g. `AssumeRole`'s `ExternalId`).
    pub fn record(&self, operation: &str) {
        self.state
            .lock()
            .unwrap()
            .recording
            .push(operation.to_string());
    }

    /// The requests for `operation` kept since [`FaultProxy::record`], in order.
    pub fn recorded(&self, operation: &str) -> Vec<Recorded> {
        self.state
            .lock()
            .unwrap()
            .recorded
            .iter()
            .filter(|(o, _)| o == operation)
            .map(|(_, r)| r.clone())
            .collect()
    }
}

/// The AWS operation of a request: `X-Amz-Target: Service.Operation` (JSON protocols) or
/// `Action=Operation` in a form body (query protocol, SNS). Else the method and path.
pub fn operation_of(head: &str, body: &[u8]) -> String {
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("x-amz-target") {
                let v = value.trim();
                return v.rsplit('.').next().unwrap_or(v).to_string();
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    for pair in text.split('&') {
        if let Some(action) = pair.strip_prefix("Action=") {
            return action.to_string();
        }
    }
    let first = head.lines().next().unwrap_or("");
    let mut parts = first.split_whitespace();
    format!(
        "{} {}",
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("")
    )
}

async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some((head, body)))
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    // One request per connection: the proxy answers `Connection: close`.
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let operation = operation_of(&head, &body);
    let fault = {
        let mut st = state.lock().unwrap();
        *st.counts.entry(operation.clone()).or_default() += 1;
        st.sequence.push(operation.clone());
        st.arrivals.push((operation.clone(), Instant::now()));
        if st.recording.contains(&operation) {
            let recorded = Recorded {
                head: head.clone(),
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            st.recorded.push((operation.clone(), recorded));
        }
        let mut fault = None;
        for r in st.rules.iter_mut() {
            if r.remaining == 0 || r.operation.as_deref().is_some_and(|o| o != operation) {
                continue;
            }
            if r.skip > 0 {
                r.skip -= 1;
                continue;
            }
            r.remaining -= 1;
            fault = Some(r.fault.clone());
            break;
        }
        let fault = fault.or_else(|| {
            let limit = st.limits.iter_mut().find(|l| l.operation == operation)?;
            let now = Instant::now();
            if limit
                .window
                .is_none_or(|w| now.duration_since(w) >= Duration::from_secs(1))
            {
                limit.window = Some(now);
                limit.used = 0;
            }
            limit.used += 1;
            (limit.used > limit.per_second).then_some(Fault::Throttle)
        });
        if fault.is_some() {
            st.faults_served += 1;
        }
        fault
    };
    let hold = {
        let st = state.lock().unwrap();
        st.holds
            .iter()
            .find(|h| {
                h.operation == operation && !h.used.swap(true, std::sync::atomic::Ordering::SeqCst)
            })
            .cloned()
    };
    if let Some(hold) = hold {
        hold.arrived.notify_one();
        if let Ok(permit) = hold.release.acquire().await {
            permit.forget();
        }
    }
    let rewrite = state
        .lock()
        .unwrap()
        .rewrites
        .iter()
        .find(|(o, _)| *o == operation)
        .map(|(_, r)| r.clone());
    let answer = state
        .lock()
        .unwrap()
        .answers
        .iter()
        .find(|(o, _)| *o == operation)
        .map(|(_, a)| a.clone());
    let query_protocol = String::from_utf8_lossy(&body).contains("Action=");
    match fault {
        Some(Fault::Drop) => return Ok(()),
        Some(Fault::Throttle) => {
            let (content_type, body) = if query_protocol {
                (
                    "text/xml",
                    "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>proxy</RequestId></ErrorResponse>".to_string(),
                )
            } else {
                (
                    "application/x-amz-json-1.1",
                    r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
                )
            };
            return respond(&mut client, 400, content_type, &body).await;
        }
        Some(Fault::ServerError) => {
            let body = if query_protocol {
                "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>injected</Message></Error></ErrorResponse>"
            } else {
                r#"{"__type":"InternalFailure","message":"injected"}"#
            };
            return respond(
                &mut client,
                500,
                if query_protocol {
                    "text/xml"
                } else {
                    "application/x-amz-json-1.1"
                },
                body,
            )
            .await;
        }
        Some(Fault::Unavailable) => return respond(&mut client, 503, "text/plain", "").await,
        // A REST-JSON service (Inspector: the proxy names its requests by method and path)
        // names the error in the `x-amzn-ErrorType` header, with `{"message"}` as the body, as
        // the AWS restJson1 protocol (and the Inspector API Reference's 403
        // AccessDeniedException) has it.
        Some(Fault::AccessDenied)
            if operation.starts_with("POST /") || operation.starts_with("GET /") =>
        {
            let message = format!("not authorized to perform: {operation} (injected by the proxy)");
            let body = format!(r#"{{"message":"{message}"}}"#);
            let msg = format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nx-amzn-ErrorType: AccessDeniedException\r\nContent-Length: {}\r\nx-amzn-RequestId: proxy\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(msg.as_bytes()).await?;
            return client.shutdown().await;
        }
        Some(Fault::AccessDenied) => {
            let message = format!("not authorized to perform: {operation} (injected by the proxy)");
            let (content_type, body) = if query_protocol {
                (
                    "text/xml",
                    format!("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"),
                )
            } else {
                (
                    "application/x-amz-json-1.1",
                    format!(r#"{{"__type":"AccessDeniedException","message":"{message}"}}"#),
                )
            };
            return respond(&mut client, 403, content_type, &body).await;
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    if let Some(answer) = answer {
        let (status, json) = answer(&body);
        return respond(&mut client, status, "application/json", &json).await;
    }
    let mut up = TcpStream::connect(upstream).await?;
    let head = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\r\n");
    up.write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    up.write_all(&body).await?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).await?;
    if let Some(rewrite) = rewrite {
        response = rewritten(&response, &body, &rewrite);
    }
    client.write_all(&response).await?;
    client.shutdown().await
}

/// The upstream's raw answer with its body rewritten (de-chunked, new Content-Length).
fn rewritten(raw: &[u8], request_body: &[u8], rewrite: &Rewrite) -> Vec<u8> {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return raw.to_vec();
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    if chunked {
        body = dechunk(&body);
    }
    let new_body = rewrite(request_body, &String::from_utf8_lossy(&body));
    let head: Vec<&str> = head
        .split("\r\n")
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.starts_with("content-length:") && !l.starts_with("transfer-encoding:")
        })
        .collect();
    let mut out = format!(
        "{}\r\nContent-Length: {}\r\n\r\n",
        head.join("\r\n"),
        new_body.len()
    )
    .into_bytes();
    out.extend_from_slice(new_body.as_bytes());
    out
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&body[..eol]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(body.len());
        out.extend_from_slice(&body[start..end]);
        body = &body[(end + 2).min(body.len())..];
    }
    out
}

async fn respond(
    client: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: proxy\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(msg.as_bytes()).await?;
    client.shutdown().await
}
