//! From SDK errors to [`StoreError`], in one place.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use switchboard_core::StoreError;

/// Any failure of the service or the connection to it. The SDK's messages never
/// carry credentials, so they are safe to log.
pub(crate) fn backend<E: std::error::Error + 'static>(error: E) -> StoreError {
    let text = DisplayErrorContext(error).to_string();
    // What follows is the raw response, headers and all: too much for a log line.
    let text = text.split(" (ServiceError(").next().unwrap_or_default();
    StoreError::Backend(format!("dynamodb: {text}"))
}

/// Whether a single-item write was refused by its condition.
pub(crate) fn condition_failed<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// Why each write of a cancelled transaction failed (`None` or `"None"`: it did
/// not), or `None` when the transaction failed for another reason.
pub(crate) fn cancellations<R>(
    error: &SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<String>> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// A transaction lost a race with another one and may simply be tried again.
pub(crate) fn is_transaction_conflict(reasons: &[String]) -> bool {
    reasons.iter().any(|r| r == "TransactionConflict")
        && !reasons.iter().any(|r| r == "ConditionalCheckFailed")
}
