//! Adapters from the ports to the AWS SDK. Every AWS operation the function calls is in these
//! files, written `client.<operation>()`, so the IAM test can compare them with the Terraform.

pub mod ecr;
pub mod sns;
pub mod ssm;

use aws_smithy_types::error::display::DisplayErrorContext;

/// An SDK error as one line with its causes (e.g. `dispatch failure: io error: connection refused`).
pub(crate) fn error_text<E: std::error::Error>(e: &E) -> String {
    DisplayErrorContext(e).to_string()
}
