//! Registries of other accounts and regions (hub and member accounts).
//!
//! The gate's own registry is built once in `main`. For an image in a member account the gate
//! assumes that account's role (`sts:AssumeRole`, session name `ecr-scan-gate`, the external id
//! when one is set) and acts with the role's credentials in the image's region. Credentials are
//! kept per account and ECR clients per (account, region), built on first use and reused for the
//! life of the container: the SDK's identity cache holds the assumed credentials and assumes the
//! role again shortly before they expire, so a warm container calls `AssumeRole` about once an
//! hour per member account, not once per event.

use super::ecr::EcrRegistry;
use super::AssumeRoleFailed;
use crate::domain::scan::ScanEvent;
use crate::engine::accounts;
use crate::engine::accounts::{Home, MemberConfig, Route};
use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Where an image is, and the registry to use for it.
pub enum Routed {
    /// The function's own account and region: the gate's own registry.
    Own { account: String, region: String },
    /// Another registry: a member account (through its role), or the function's own account in
    /// another region (its own credentials).
    Other {
        registry: EcrRegistry,
        account: String,
        region: String,
    },
    /// Not an account or region the gate may act in; no AWS call was made.
    Ignored(String),
}

/// The registries of the member accounts and of the function's own account in other regions.
pub struct MemberRegistries {
    /// The function's own configuration: endpoint (`AWS_ENDPOINT_URL`), timeouts, retries,
    /// credentials (the source of every `AssumeRole`), and the identity cache.
    base: SdkConfig,
    members: MemberConfig,
    quarantine_prefix: String,
    /// One credentials provider per member account, shared by its regions, so that the
    /// identity cache assumes the role once for all of them.
    credentials: Mutex<HashMap<String, SharedCredentialsProvider>>,
    registries: Mutex<HashMap<(String, String), EcrRegistry>>,
}

impl MemberRegistries {
    /// Builds nothing yet: no AWS call and no client until the first event of another registry.
    pub fn new(base: &SdkConfig, members: MemberConfig, quarantine_prefix: &str) -> Self {
        MemberRegistries {
            base: base.clone(),
            members,
            quarantine_prefix: quarantine_prefix.to_string(),
            credentials: Mutex::new(HashMap::new()),
            registries: Mutex::new(HashMap::new()),
        }
    }

    pub fn members(&self) -> &MemberConfig {
        &self.members
    }

    /// The registry for the image of `event` (its `account` and `region`; unset means the
    /// function's own), or why the gate does not act there. Every entry that evaluates an image
    /// (event, direct invoke, queue entry, sweep) calls this first.
    pub async fn registry_for(&self, home: &Home, event: &ScanEvent) -> Routed {
        self.registry_at(home, event.account.as_deref(), event.region.as_deref())
            .await
    }

    /// The registry of an account and region (each the function's own when `None`), as
    /// [`MemberRegistries::registry_for`] routes an event; the sweep of a named place uses it.
    pub async fn registry_at(
        &self,
        home: &Home,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Routed {
        match accounts::route(&self.members, home, account, region) {
            Route::NotAllowed(reason) => Routed::Ignored(reason),
            Route::Own { account, region } if region == home.region => {
                Routed::Own { account, region }
            }
            Route::Own { account, region } => Routed::Other {
                registry: self.registry(&account, &region, None).await,
                account,
                region,
            },
            Route::Member {
                account,
                region,
                role_arn,
            } => Routed::Other {
                registry: self.registry(&account, &region, Some(&role_arn)).await,
                account,
                region,
            },
        }
    }

    /// How many (account, region) registries are built so far (for tests and logs).
    pub fn registries_built(&self) -> usize {
        lock(&self.registries).len()
    }

    /// The cached registry of (account, region), built on first use: with the credentials of
    /// `role_arn` (a member), or the function's own (`None`).
    async fn registry(&self, account: &str, region: &str, role_arn: Option<&str>) -> EcrRegistry {
        let key = (account.to_string(), region.to_string());
        if let Some(r) = lock(&self.registries).get(&key) {
            return r.clone();
        }
        let mut config = self
            .base
            .to_builder()
            .region(aws_config::Region::new(region.to_string()));
        if let Some(role_arn) = role_arn {
            config = config.credentials_provider(self.credentials(account, role_arn).await);
        }
        let config = config.build();
        // The home client's retry (adaptive, 10 attempts) in a partition of this registry's own.
        let registry = EcrRegistry::new(
            super::ecr::client_in_partition(&config, &format!("ecr-{account}-{region}")),
            &self.quarantine_prefix,
        )
        .with_inspector(aws_sdk_inspector2::Client::new(&config));
        tracing::info!(
            account,
            region,
            role_arn = role_arn.unwrap_or(""),
            "ECR client built for another registry"
        );
        lock(&self.registries)
            .entry(key)
            .or_insert(registry)
            .clone()
    }

    async fn credentials(&self, account: &str, role_arn: &str) -> SharedCredentialsProvider {
        if let Some(c) = lock(&self.credentials).get(account) {
            return c.clone();
        }
        let mut builder = AssumeRoleProvider::builder(role_arn)
            .configure(&self.base)
            .session_name(accounts::SESSION_NAME);
        if let Some(id) = &self.members.external_id {
            builder = builder.external_id(id);
        }
        let provider = SharedCredentialsProvider::new(MemberRole {
            account: account.to_string(),
            role_arn: role_arn.to_string(),
            inner: builder.build().await,
        });
        lock(&self.credentials)
            .entry(account.to_string())
            .or_insert(provider)
            .clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while the map was held leaves it usable: entries are inserted whole.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The assume-role provider of one member account, whose failure names the account and role.
#[derive(Debug)]
struct MemberRole {
    account: String,
    role_arn: String,
    inner: AssumeRoleProvider,
}

impl ProvideCredentials for MemberRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.inner.provide_credentials().await.map_err(|e| {
                let failure = AssumeRoleFailed {
                    account: self.account.clone(),
                    role_arn: self.role_arn.clone(),
                    message: format!(
                        "{}. Not retried for this event: the role must exist in that account \
                         and trust the hub function's role (with the external id, when one is \
                         set), and the hub's role must be allowed sts:AssumeRole on it",
                        sts_error_text(&e)
                    ),
                };
                tracing::error!(error = %failure, "AssumeRole failed");
                CredentialsError::provider_error(failure)
            })
        })
    }
}

/// STS's answer as `Code: message` when it gave one (`AccessDenied: User ... is not
/// authorized ...`), else the chain of causes (a connection error, a timeout).
fn sts_error_text(e: &CredentialsError) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(meta) = err.downcast_ref::<aws_smithy_types::error::ErrorMetadata>() {
            return format!(
                "{}: {}",
                meta.code().unwrap_or("error"),
                meta.message().unwrap_or("no message")
            );
        }
        let text = err.to_string();
        if causes.last() != Some(&text) {
            causes.push(text);
        }
        current = err.source();
    }
    causes.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member account's (or another region's) ECR client retries as the home client does:
    /// adaptive, the same attempts, the same timeouts; and in a retry partition of its own, so
    /// that one throttled registry does not drain another's retry tokens.
    #[tokio::test]
    async fn another_registry_gets_the_home_clients_retry_in_a_partition_of_its_own() {
        let base = crate::adapters::aws::load_sdk_config().await;
        let members = MemberConfig::from_lookup(|name| match name {
            "MEMBER_ROLE_NAME" => Some("ecr-scan-gate-member".to_string()),
            "MEMBER_ACCOUNTS" => Some("*".to_string()),
            _ => None,
        })
        .ok()
        .flatten()
        .expect("member accounts on");
        let registries = MemberRegistries::new(&base, members, "quarantine-");
        let home = super::super::ecr::client(&base);
        let home_config = home.config();
        let other = registries.registry("123456789012", "eu-west-1", None).await;
        let config = other.client.config();
        let retry = config.retry_config().expect("a retry configuration");
        let home_retry = home_config.retry_config().expect("home retry");
        assert_eq!(retry.mode(), aws_config::retry::RetryMode::Adaptive);
        assert_eq!(retry.max_attempts(), super::super::ecr::MAX_ATTEMPTS);
        assert_eq!(retry.max_attempts(), home_retry.max_attempts());
        assert_eq!(
            config.timeout_config().and_then(|t| t.operation_timeout()),
            home_config
                .timeout_config()
                .and_then(|t| t.operation_timeout())
        );
        assert_eq!(
            config.retry_partition().map(|p| p.to_string()).as_deref(),
            Some("ecr-123456789012-eu-west-1")
        );
        assert_ne!(
            config.retry_partition().map(|p| p.to_string()),
            home_config.retry_partition().map(|p| p.to_string())
        );
        assert!(
            other.inspector.is_some(),
            "Inspector is asked in that registry too"
        );
    }
}
