//! Maps SDK errors to [`ProviderError`]: the AWS error code is kept, throttling and 5xx
//! become retryable, transport failures too. Every SDK call has already been through the
//! SDK's retry policy (`max_attempts`, standard or adaptive, see [`crate::clients`]), so the
//! errors are marked [`ProviderError::after_retries`]: the engine does not retry them again.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use plinth_provider::ProviderError;

/// Error codes AWS uses for throttling.
const THROTTLING: [&str; 8] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
];

/// Converts an SDK error of `operation` (already retried by the SDK) into a provider error.
pub fn map_sdk<E>(operation: &str, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    classify(operation, &err).after_retries()
}

fn classify<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let e = service.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = match e.message() {
                Some(m) => format!("{operation}: {m}"),
                None => format!("{operation}: HTTP {status} with no error message"),
            };
            if THROTTLING.contains(&code.as_str()) || status >= 500 {
                ProviderError::retryable(code, message)
            } else if status == 404 && code == "Unknown" {
                ProviderError::api("NotFound", message)
            } else {
                ProviderError::api(code, message)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ProviderError::retryable(
                "RequestFailed",
                format!("{operation}: {}", DisplayErrorContext(err)),
            )
        }
        _ => ProviderError::api(
            "InvalidRequest",
            format!("{operation}: {}", DisplayErrorContext(err)),
        ),
    }
}

/// True when `err` carries one of `codes`.
pub fn has_code(err: &ProviderError, codes: &[&str]) -> bool {
    err.code.as_deref().is_some_and(|c| codes.contains(&c))
}

/// `Ok(None)` for errors meaning "not found", the value otherwise.
pub fn absent_on<T>(
    result: Result<T, ProviderError>,
    codes: &[&str],
) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if has_code(&e, codes) => Ok(None),
        Err(e) => Err(e),
    }
}
