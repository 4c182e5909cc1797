//! A function that cannot start (a bad policy) keeps answering: every invocation gets the
//! start-up error, so `cargo lambda invoke` under `make watch` never waits for an answer that
//! never comes. Played against a loopback Lambda Runtime API.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn read_request(s: &mut tokio::net::TcpStream) -> (String, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= len {
                return (head.to_string(), body.to_string());
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let (h, b) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (h.to_string(), b.to_string())
}

#[tokio::test]
async fn a_bad_policy_answers_every_invocation_with_the_error_instead_of_exiting() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ecr-scan-gate"))
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "ecr-scan-gate")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("GATE_POLICY", r#"{"fail": {"CRITICAL": "one"}}"#)
        .env_remove("GATE_POLICY_FILE")
        .env_remove("GATE_POLICY_PARAMETER")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut answers = Vec::new();
    for id in ["req-1", "req-2"] {
        // The runtime asks for the next event...
        let accepted = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let (head, body) = read_request(&mut s).await;
                if head.starts_with("GET") && head.contains("/runtime/invocation/next") {
                    let event = r#"{"repository": "demo-api", "tag": "v1"}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: 600000\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:ecr-scan-gate\r\nContent-Length: {}\r\n\r\n{event}",
                        event.len()
                    );
                    s.write_all(reply.as_bytes()).await.unwrap();
                    continue;
                }
                let reply = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
                s.write_all(reply.as_bytes()).await.unwrap();
                return (head, body);
            }
        })
        .await;
        let (head, body) =
            accepted.expect("the function answers the invocation (it must not exit or hang)");
        answers.push((head, body));
    }
    for ((head, body), id) in answers.iter().zip(["req-1", "req-2"]) {
        assert!(
            head.contains(&format!("/runtime/invocation/{id}/error")),
            "{head}"
        );
        assert!(body.contains("InvalidConfiguration"), "{body}");
        assert!(
            body.contains("fail.CRITICAL"),
            "the error names the field: {body}"
        );
    }
    let _ = child.kill().await;
}
