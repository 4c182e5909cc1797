//! What the hook found for one container image.

use crate::domain::ecs_hook::{ContainerImage, ImageOutcome};
use crate::judgement::evaluation::Evaluation;

pub(super) struct Judged {
    pub(super) container: ContainerImage,
    pub(super) outcome: ImageOutcome,
    pub(super) message: String,
    /// The account and region of an ECR image.
    pub(super) place: Option<(String, String)>,
    pub(super) evaluation: Option<Evaluation>,
}

impl Judged {
    pub(super) fn new(
        container: &ContainerImage,
        outcome: ImageOutcome,
        message: String,
    ) -> Judged {
        Judged {
            container: container.clone(),
            outcome,
            message,
            place: None,
            evaluation: None,
        }
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "container {} ({}, digest {}): {}",
            self.container.container_name,
            self.container.image,
            self.container.image_digest.as_deref().unwrap_or("none"),
            self.message
        )
    }
}
