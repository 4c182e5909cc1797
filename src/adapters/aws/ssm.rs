//! Parameters (the policy, the Slack webhook URL) from SSM Parameter Store.

use super::error_text;
use crate::engine::ports::{ParameterError, Parameters};
use aws_sdk_ssm::Client;

#[derive(Clone, Debug)]
pub struct SsmParameters {
    client: Client,
}

impl SsmParameters {
    pub fn new(client: Client) -> Self {
        SsmParameters { client }
    }
}

impl Parameters for SsmParameters {
    async fn get(&self, name: &str) -> Result<String, ParameterError> {
        let out = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| ParameterError {
                name: name.to_string(),
                // The error text names the parameter and the cause, never the value.
                message: match e.as_service_error() {
                    Some(se) if se.is_parameter_not_found() => "parameter not found".to_string(),
                    _ => error_text(&e, "ssm", "GetParameter"),
                },
            })?;
        out.parameter()
            .and_then(|p| p.value())
            .map(str::to_string)
            .ok_or_else(|| ParameterError {
                name: name.to_string(),
                message: "the parameter has no value".to_string(),
            })
    }
}
