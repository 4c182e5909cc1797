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

    async fn get_by_path(&self, path: &str) -> Result<Vec<(String, String)>, ParameterError> {
        // `/gate/exceptions/` and `/gate/exceptions` name the same hierarchy; the API takes
        // the form without the trailing slash.
        let trimmed = path.trim_end_matches('/');
        let path = if trimmed.is_empty() { "/" } else { trimmed };
        // Safety stop for a store that keeps answering with a next page (10 a page).
        const MAX_PAGES: usize = 1000;
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .get_parameters_by_path()
                .path(path)
                .recursive(true)
                .with_decryption(true)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| ParameterError {
                    name: path.to_string(),
                    // Names the path and the cause, never a value.
                    message: error_text(&e, "ssm", "GetParametersByPath"),
                })?;
            for p in out.parameters() {
                if let (Some(name), Some(value)) = (p.name(), p.value()) {
                    found.push((name.to_string(), value.to_string()));
                }
            }
            match out.next_token() {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                    token = Some(next.to_string())
                }
                _ => {
                    found.sort();
                    return Ok(found);
                }
            }
        }
        Err(ParameterError {
            name: path.to_string(),
            message: format!("more than {MAX_PAGES} pages of parameters"),
        })
    }
}
