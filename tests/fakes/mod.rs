//! In-memory stand-ins for the ports, for tests of the core's decisions.
#![allow(dead_code)]

use ecr_scan_gate::domain::image::{Digest, ImageRef};
use ecr_scan_gate::engine::ports::{
    BoxFuture, Change, Deadline, IndexImage, Notifier, NotifyError, Registry, RegistryError,
    ScanFindings, TagSelector,
};
use ecr_scan_gate::judgement::evaluation::Evaluation;
use ecr_scan_gate::judgement::findings::FindingsTally;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A registry with no repository at all; counts the calls made to it.
#[derive(Default)]
pub struct EmptyRegistry {
    calls: AtomicUsize,
}

impl EmptyRegistry {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    pub fn reset(&self) {
        self.calls.store(0, Ordering::SeqCst);
    }
    fn missing(&self, repository: &str) -> RegistryError {
        self.calls.fetch_add(1, Ordering::SeqCst);
        RegistryError::RepositoryNotFound {
            repository: repository.to_string(),
        }
    }
}

impl Registry for EmptyRegistry {
    async fn scan_findings(
        &self,
        repository: &str,
        _: &ImageRef,
        _: &mut FindingsTally<'_>,
        _: Deadline,
    ) -> Result<ScanFindings, RegistryError> {
        Err(self.missing(repository))
    }
    async fn image_tags(&self, repository: &str, _: &Digest) -> Result<Vec<String>, RegistryError> {
        Err(self.missing(repository))
    }
    async fn add_tag(
        &self,
        repository: &str,
        _: &Digest,
        _: &str,
    ) -> Result<Change, RegistryError> {
        Err(self.missing(repository))
    }
    async fn remove_tags(
        &self,
        repository: &str,
        _: &Digest,
        _: &TagSelector<'_>,
    ) -> Result<Vec<String>, RegistryError> {
        Err(self.missing(repository))
    }
    async fn parents_of(
        &self,
        repository: &str,
        _: &Digest,
    ) -> Result<Vec<IndexImage>, RegistryError> {
        Err(self.missing(repository))
    }
    async fn index_of(
        &self,
        repository: &str,
        _: &ImageRef,
    ) -> Result<Option<IndexImage>, RegistryError> {
        Err(self.missing(repository))
    }
}

/// A notifier that records what it was asked to send, or fails on demand.
#[derive(Clone)]
pub struct RecordingNotifier {
    pub channel: &'static str,
    pub sent: Arc<Mutex<Vec<Evaluation>>>,
    pub fail_with: Option<String>,
}

impl RecordingNotifier {
    pub fn new(channel: &'static str) -> Self {
        RecordingNotifier {
            channel,
            sent: Arc::default(),
            fail_with: None,
        }
    }
    pub fn failing(channel: &'static str, message: &str) -> Self {
        RecordingNotifier {
            fail_with: Some(message.to_string()),
            ..RecordingNotifier::new(channel)
        }
    }
    pub fn count(&self) -> usize {
        self.sent.lock().map(|v| v.len()).unwrap_or(0)
    }
}

impl Notifier for RecordingNotifier {
    fn channel(&self) -> &'static str {
        self.channel
    }
    fn notify<'a>(&'a self, alert: &'a Evaluation) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move {
            if let Ok(mut sent) = self.sent.lock() {
                sent.push(alert.clone());
            }
            match &self.fail_with {
                Some(m) => Err(NotifyError {
                    channel: self.channel,
                    message: m.clone(),
                }),
                None => Ok(()),
            }
        })
    }
}
