//! The Lambda side: runs the entry for each invocation, and turns errors into Lambda errors
//! (so the event is retried, then kept by the dead-letter queue).

use crate::domain::date::today_utc;
use crate::engine::accounts::Home;
use crate::engine::gate::GateError;
use crate::engine::ports::{Deadline, Inventory, Registry};
use crate::entry::app::{App, Context, EntryError, Output};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::time::{Duration, Instant};

impl From<EntryError> for Diagnostic {
    fn from(e: EntryError) -> Diagnostic {
        Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

impl From<GateError> for Diagnostic {
    fn from(e: GateError) -> Diagnostic {
        Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// Handles one invocation (whichever entry it is for: `crate::entry::app`), logs one line per
/// decision, and prints its metrics (EMF). With member accounts (`MEMBER_ROLE_NAME`), each
/// image is evaluated in its account's registry.
pub async fn invoke<R: Registry + Inventory>(
    app: &App<R>,
    event: LambdaEvent<Value>,
) -> Result<Output, EntryError> {
    let request_id = event.context.request_id.clone();
    let today = today_utc();
    let home = Home::from_function_arn(&event.context.invoked_function_arn);
    let cx = Context {
        request_id: &request_id,
        function_name: &event.context.env_config.function_name,
        today: &today,
        now_s: (epoch_ms() / 1000) as i64,
        deadline: deadline_of(&event.context),
        home: home.as_ref().map_err(String::as_str),
    };
    let result = crate::entry::app::handle(app, &event.payload, cx).await;
    if let Err(e) = &result {
        // The gate's own errors were logged with their decision line.
        if !matches!(e, EntryError::Gate(_)) {
            tracing::error!(request_id, error_type = e.kind(), error = %e, "invocation failed");
        }
    }
    result
}

/// The invocation's deadline (milliseconds since the epoch) as an `Instant`. A value that is no
/// epoch time at all (`cargo lambda watch` sends its timeout, e.g. 600000) means no deadline.
pub fn deadline_of(context: &lambda_runtime::Context) -> Deadline {
    deadline_from_epoch_ms(context.deadline, epoch_ms())
}

/// 2001-09-09: any real deadline is later.
const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;

fn deadline_from_epoch_ms(deadline_ms: u64, now_ms: u64) -> Deadline {
    if deadline_ms < PLAUSIBLE_EPOCH_MS {
        return Deadline::none();
    }
    Deadline::at(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_from_the_runtime() {
        let now = 1_795_807_443_816;
        let d = deadline_from_epoch_ms(now + 30_000, now);
        let left = d.remaining().unwrap();
        assert!(
            left > Duration::from_secs(29) && left <= Duration::from_secs(30),
            "{left:?}"
        );
        assert_eq!(
            deadline_from_epoch_ms(now - 1, now).remaining(),
            Some(Duration::ZERO)
        );
        // cargo lambda watch sends its timeout, not an epoch time.
        assert_eq!(deadline_from_epoch_ms(600_000, now), Deadline::none());
    }
}
