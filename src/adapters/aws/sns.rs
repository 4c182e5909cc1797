//! The SNS alert channel: one `Publish` per alert, `MessageStructure=json` with an e-mail
//! text and a versioned JSON body, and String attributes for subscription filter policies.

use super::error_text;
use crate::engine::ports::{BoxFuture, Notifier, NotifyError};
use crate::judgement::evaluation::Evaluation;
use crate::render::alert::AlertOptions;
use crate::render::report_digest::report_sns_message;
use crate::render::sns_message::{sns_message, SnsMessage};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

pub const CHANNEL: &str = "sns";

#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
    options: AlertOptions,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: &str, options: AlertOptions) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.to_string(),
            options,
        }
    }

    async fn publish(&self, msg: SnsMessage) -> Result<(), NotifyError> {
        let fail = |message: String| NotifyError {
            channel: CHANNEL,
            message,
        };
        let mut attributes = std::collections::HashMap::new();
        for (name, value) in &msg.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| fail(format!("message attribute {name}: {e}")))?;
            attributes.insert(name.to_string(), value);
        }
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&msg.subject)
            .message(&msg.message)
            .message_structure("json")
            .set_message_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| {
                // One line: the cause and a hint; the full chain at debug level.
                let detail = error_text(&e, "sns", "Publish");
                fail(format!("Publish to {} failed: {detail}", self.topic_arn))
            })?;
        tracing::info!(
            channel = CHANNEL,
            topic_arn = %self.topic_arn,
            message_id = out.message_id().unwrap_or(""),
            bytes = msg.size(),
            truncated = msg.truncated,
            "alert published"
        );
        Ok(())
    }
}

impl Notifier for SnsNotifier {
    fn channel(&self) -> &'static str {
        CHANNEL
    }

    fn notify<'a>(&'a self, alert: &'a Evaluation) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.publish(sns_message(alert, &self.options)))
    }

    fn report<'a>(
        &'a self,
        report: &'a crate::judgement::registry_report::Report,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.publish(report_sns_message(report)))
    }

    fn notice<'a>(
        &'a self,
        notice: &'a crate::judgement::notice::Notice,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.publish(crate::render::notice::notice_sns_message(notice)))
    }
}
