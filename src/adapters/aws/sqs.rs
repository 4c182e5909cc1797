//! The sweep's fan-out queue on Amazon SQS: `SendMessageBatch`, 10 messages per call, a few
//! calls at a time; entries SQS refuses (per-entry `Failed`) are sent again a bounded number of
//! times, then reported.

use super::error_text;
use crate::engine::ports::{BoxFuture, SendFailure, SweepQueue};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use futures_util::StreamExt;
use std::sync::OnceLock;
use std::time::Duration;

/// SQS's limit of entries per `SendMessageBatch`.
pub const BATCH_SIZE: usize = 10;
/// Batches in flight at once.
pub const CONCURRENT_BATCHES: usize = 4;
/// Rounds for an entry: the first send and the retries of entries SQS refused.
pub const MAX_ROUNDS: u32 = 4;

#[derive(Clone, Debug)]
pub struct SqsSweepQueue {
    client: Sqs,
    queue_url: String,
    retry_pause: Duration,
}

/// The SQS client: given, or built on the first send.
#[derive(Clone, Debug)]
enum Sqs {
    Given(Client),
    OnFirstSend {
        config: Box<aws_config::SdkConfig>,
        /// Empty until the first send builds it.
        slot: OnceLock<Client>,
    },
}

impl SqsSweepQueue {
    pub fn new(client: Client, queue_url: &str) -> Self {
        Self::with(Sqs::Given(client), queue_url)
    }

    /// The queue with an SQS client of `config` built on its first send, not now: only a
    /// sweep sends, so the function's start (and every container that never runs a sweep)
    /// does without it.
    pub fn on_first_send(config: &aws_config::SdkConfig, queue_url: &str) -> Self {
        Self::with(
            Sqs::OnFirstSend {
                config: Box::new(config.clone()),
                slot: OnceLock::new(),
            },
            queue_url,
        )
    }

    fn with(client: Sqs, queue_url: &str) -> Self {
        SqsSweepQueue {
            client,
            queue_url: queue_url.to_string(),
            retry_pause: Duration::from_millis(200),
        }
    }

    fn client(&self) -> &Client {
        match &self.client {
            Sqs::Given(client) => client,
            Sqs::OnFirstSend { config, slot } => slot.get_or_init(|| Client::new(config)),
        }
    }

    /// The pause before the first retry of refused entries (doubled each round).
    pub fn with_retry_pause(mut self, pause: Duration) -> Self {
        self.retry_pause = pause;
        self
    }

    /// Sends one batch (`bodies[i]` for each `i` of `indexes`, at most 10), retrying refused
    /// entries; returns what was still not sent.
    async fn send_batch(&self, bodies: &[String], mut indexes: Vec<usize>) -> Vec<SendFailure> {
        let mut reasons: Vec<(usize, String)> = Vec::new();
        for round in 0..MAX_ROUNDS {
            if round > 0 {
                tokio::time::sleep(self.retry_pause * 2u32.pow(round - 1)).await;
            }
            let mut entries = Vec::with_capacity(indexes.len());
            for &i in &indexes {
                match SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&bodies[i])
                    .build()
                {
                    Ok(e) => entries.push(e),
                    Err(e) => reasons.push((i, e.to_string())),
                }
            }
            indexes.retain(|i| !reasons.iter().any(|(r, _)| r == i));
            if entries.is_empty() {
                break;
            }
            let out = self
                .client()
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            match out {
                Ok(out) => {
                    let mut again = Vec::new();
                    for failed in out.failed() {
                        let Ok(i) = failed.id().parse::<usize>() else {
                            continue;
                        };
                        let reason = format!(
                            "{}: {}",
                            failed.code(),
                            failed.message().unwrap_or("no message")
                        );
                        if failed.sender_fault() {
                            // The message itself is wrong (too large, bad characters): sending
                            // it again cannot help.
                            reasons.push((i, reason));
                        } else {
                            again.push((i, reason));
                        }
                    }
                    indexes = again.iter().map(|(i, _)| *i).collect();
                    if indexes.is_empty() {
                        break;
                    }
                    if round + 1 == MAX_ROUNDS {
                        reasons.extend(again);
                    }
                }
                Err(e) => {
                    // The SDK already retried the call itself; try the whole batch again.
                    if round + 1 == MAX_ROUNDS {
                        let text = error_text(&e, "sqs", "SendMessageBatch");
                        reasons.extend(indexes.iter().map(|&i| (i, text.clone())));
                    }
                }
            }
        }
        reasons
            .into_iter()
            .map(|(index, reason)| SendFailure {
                index,
                reason: format!(
                    "SQS SendMessageBatch to {} failed: {reason}",
                    self.queue_url
                ),
            })
            .collect()
    }
}

impl SweepQueue for SqsSweepQueue {
    fn send_all<'a>(&'a self, bodies: &'a [String]) -> BoxFuture<'a, Vec<SendFailure>> {
        Box::pin(async move {
            let batches: Vec<Vec<usize>> = (0..bodies.len())
                .collect::<Vec<_>>()
                .chunks(BATCH_SIZE)
                .map(<[usize]>::to_vec)
                .collect();
            let mut failures: Vec<SendFailure> = futures_util::stream::iter(batches)
                .map(|batch| self.send_batch(bodies, batch))
                .buffer_unordered(CONCURRENT_BATCHES)
                .flat_map(futures_util::stream::iter)
                .collect()
                .await;
            failures.sort_by_key(|f| f.index);
            failures
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::SharedCredentialsProvider;
    use aws_credential_types::Credentials;

    fn built(queue: &SqsSweepQueue) -> bool {
        match &queue.client {
            Sqs::Given(_) => true,
            Sqs::OnFirstSend { slot, .. } => slot.get().is_some(),
        }
    }

    #[tokio::test]
    async fn the_client_of_on_first_send_is_built_by_the_first_message_sent() {
        // Nothing listens on port 9 of loopback: the one send fails at once, without retries.
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "test",
            )))
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        let queue = SqsSweepQueue::on_first_send(&config, "http://127.0.0.1:9/123456789012/q")
            .with_retry_pause(Duration::ZERO);
        assert!(!built(&queue));
        assert!(queue.send_all(&[]).await.is_empty());
        assert!(!built(&queue), "nothing to send builds nothing");
        let failures = queue.send_all(&["{}".to_string()]).await;
        assert!(built(&queue));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0]
                .reason
                .starts_with("SQS SendMessageBatch to http://127.0.0.1:9/"),
            "{failures:?}"
        );
    }
}
