//! Errors of executing a plan.

use crate::hetzner::HetznerError;

#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    /// A request failed; the message names the operation and what it may
    /// have left behind (the next `up` finds it by its labels).
    #[error("stack {stack}: {source}")]
    Hetzner {
        stack: String,
        #[source]
        source: HetznerError,
    },

    /// The plan holds a step the client layer cannot perform yet.
    #[error("stack {stack}: cannot {what} yet; {hint}")]
    Unsupported {
        stack: String,
        what: String,
        hint: String,
    },

    /// The plan was made for another purpose (a teardown plan given to `apply`).
    #[error("stack {stack}: this plan cannot be applied by {by}")]
    WrongPlan { stack: String, by: &'static str },
}

impl From<ConvergeError> for crate::error::Error {
    fn from(e: ConvergeError) -> Self {
        let bad_input = match &e {
            ConvergeError::Hetzner { source, .. } => {
                source.is_bad_token()
                    || matches!(
                        source,
                        HetznerError::MissingToken
                            | HetznerError::BadEndpoint { .. }
                            | HetznerError::PriceNotFound { .. }
                    )
            }
            _ => false,
        };
        if bad_input {
            crate::error::Error::bad_input(e)
        } else {
            crate::error::Error::failed(e)
        }
    }
}
