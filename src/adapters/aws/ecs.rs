//! The service revisions port on Amazon ECS: `DescribeServiceRevisions` of the revision a
//! deployment rolls out, for the deployment lifecycle hook (`crate::entry::ecs_hook`).
//!
//! The client is the function's own (its account and region, its SDK configuration: timeouts,
//! the standard retry), built on the first hook invocation, not at start: most containers of
//! the function never serve a hook.

use super::error_text;
use crate::domain::ecs_hook::ContainerImage;
use crate::engine::ports::{BoxFuture, RevisionError, ServiceRevisions};
use aws_sdk_ecs::Client;
use std::sync::OnceLock;

#[derive(Clone, Debug)]
pub struct EcsServiceRevisions {
    client: Ecs,
}

/// The ECS client: given, or built on the first call.
#[derive(Clone, Debug)]
enum Ecs {
    Given(Client),
    OnFirstUse {
        config: Box<aws_config::SdkConfig>,
        /// Empty until the first call builds it.
        slot: OnceLock<Client>,
    },
}

impl EcsServiceRevisions {
    pub fn new(client: Client) -> Self {
        EcsServiceRevisions {
            client: Ecs::Given(client),
        }
    }

    /// With an ECS client of `config` built on the first call, not now.
    pub fn on_first_use(config: &aws_config::SdkConfig) -> Self {
        EcsServiceRevisions {
            client: Ecs::OnFirstUse {
                config: Box::new(config.clone()),
                slot: OnceLock::new(),
            },
        }
    }

    fn client(&self) -> &Client {
        match &self.client {
            Ecs::Given(client) => client,
            Ecs::OnFirstUse { config, slot } => slot.get_or_init(|| Client::new(config)),
        }
    }

    async fn read(&self, revision_arn: &str) -> Result<Vec<ContainerImage>, RevisionError> {
        let fail = |message: String| RevisionError {
            revision_arn: revision_arn.to_string(),
            message,
        };
        let client = self.client();
        let out = client
            .describe_service_revisions()
            .service_revision_arns(revision_arn)
            .send()
            .await
            .map_err(|e| fail(error_text(&e, "ecs", "DescribeServiceRevisions")))?;
        // ECS names what it could not describe in `failures` (e.g. reason MISSING).
        let failure = out
            .failures()
            .iter()
            .find(|f| f.arn() == Some(revision_arn))
            .or(out.failures().first());
        if let Some(f) = failure {
            return Err(fail(format!(
                "ECS answered failure {}{}",
                f.reason().unwrap_or("(no reason)"),
                f.detail().map(|d| format!(": {d}")).unwrap_or_default()
            )));
        }
        let Some(revision) = out
            .service_revisions()
            .iter()
            .find(|r| r.service_revision_arn() == Some(revision_arn))
        else {
            return Err(fail(format!(
                "ECS answered {} service revision(s), none of them this one",
                out.service_revisions().len()
            )));
        };
        Ok(revision
            .container_images()
            .iter()
            .map(|c| ContainerImage {
                container_name: c.container_name().unwrap_or_default().to_string(),
                image: c.image().unwrap_or_default().to_string(),
                image_digest: c.image_digest().map(str::to_string),
            })
            .collect())
    }
}

impl ServiceRevisions for EcsServiceRevisions {
    fn container_images<'a>(
        &'a self,
        revision_arn: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ContainerImage>, RevisionError>> {
        Box::pin(self.read(revision_arn))
    }
}
