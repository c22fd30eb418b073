use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// The one error every server function returns. Messages are written for the person at the
/// screen: validation errors name the field and the fix; server faults say nothing internal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    #[error("Sign in to continue.")]
    Unauthenticated,
    /// An `x-api-key` was sent, but it is no key (mistyped), or expired, or revoked.
    #[error(
        "The API key is not valid: it is mistyped, expired or revoked. Check it, or create a new one in Settings › API Keys."
    )]
    BadApiKey,
    #[error("{message}")]
    Forbidden { message: String },
    /// Bad input; `field` names the form field when there is one.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    /// Several fields need fixing; `fields` maps each to its message.
    #[error("{message}")]
    Fields {
        message: String,
        fields: std::collections::BTreeMap<String, String>,
    },
    #[error("{message}")]
    Conflict { message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("Too many failed sign-ins. Wait {retry_after_secs} seconds, then try again.")]
    Throttled { retry_after_secs: u64 },
    #[error(
        "Something went wrong on the server. Try again; if it keeps failing, the server log has the details."
    )]
    Internal,
    /// The browser could not reach the server or read its answer (see [`AppError::unreachable`]
    /// and [`AppError::unreadable`]).
    #[error("{message}")]
    Transport { message: String },
}

impl AppError {
    /// The request did not reach the server. What the browser said (`TypeError: Failed to
    /// fetch` and the like) tells the person at the screen nothing: it goes to the console.
    pub fn unreachable(detail: &str) -> AppError {
        leptos::logging::warn!("server function request failed: {detail}");
        AppError::Transport {
            message: "Could not reach the server. Check the connection, then try again.".into(),
        }
    }

    /// An answer came, but not one of the server's: a proxy's error page, or a server that
    /// restarted mid-answer.
    pub fn unreadable(detail: &str) -> AppError {
        leptos::logging::warn!("server function answer unreadable: {detail}");
        AppError::Transport {
            message: "The server's answer could not be read; it may be restarting, or a proxy \
                      in front of it answered instead. Try again in a moment."
                .into(),
        }
    }

    /// A page's call the server could not read: a page opened before an upgrade sends what the
    /// new server no longer takes, so the way out is to reload it.
    pub fn not_understood(detail: &str) -> AppError {
        AppError::Invalid {
            field: None,
            message: format!(
                "The request was not understood ({}). Reload the page and try again: it may be \
                 older than the server.",
                domain::decode::without_quoted_value(detail)
            ),
        }
    }

    pub fn invalid(field: &str, message: impl ToString) -> AppError {
        AppError::Invalid {
            field: Some(field.to_owned()),
            message: message.to_string(),
        }
    }

    /// A form's field errors, with one summary message.
    pub fn fields(errors: domain::connector::FieldErrors) -> AppError {
        let count = errors.0.len();
        AppError::Fields {
            message: if count == 1 {
                "One field needs fixing.".into()
            } else {
                format!("{count} fields need fixing.")
            },
            fields: errors.0,
        }
    }

    /// The field errors in `{field: message}` form, for the REST API.
    pub fn field_map(&self) -> std::collections::BTreeMap<String, String> {
        match self {
            AppError::Fields { fields, .. } => fields.clone(),
            AppError::Invalid {
                field: Some(field),
                message,
            } => [(field.clone(), message.clone())].into(),
            _ => Default::default(),
        }
    }

    pub fn forbidden(message: String) -> AppError {
        AppError::Forbidden { message }
    }

    pub fn conflict(message: String) -> AppError {
        AppError::Conflict { message }
    }

    pub fn not_found(message: String) -> AppError {
        AppError::NotFound { message }
    }

    pub fn forbidden_for(role: domain::Role) -> AppError {
        AppError::Forbidden {
            message: format!(
                "Your role, {role}, does not allow this. Ask an Administrator With Billing."
            ),
        }
    }

    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::BadApiKey => 401,
            AppError::Forbidden { .. } => 403,
            AppError::Invalid { .. } => 400,
            // Understood, but some fields need fixing.
            AppError::Fields { .. } => 422,
            AppError::Conflict { .. } => 409,
            AppError::NotFound { .. } => 404,
            AppError::Throttled { .. } => 429,
            AppError::Internal | AppError::Transport { .. } => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Arguments the server could not read are the caller's mistake, not a fault.
            ServerFnErrorErr::Args(detail) | ServerFnErrorErr::MissingArg(detail) => {
                AppError::not_understood(&detail)
            }
            // On the server, a body that does not decode (a JSON-encoded server function) is
            // the caller's mistake too; in the browser it means the answer was unreadable.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(detail) => AppError::not_understood(&detail),
            #[cfg(not(feature = "ssr"))]
            ServerFnErrorErr::Deserialization(detail) => AppError::unreadable(&detail),
            ServerFnErrorErr::Request(detail) => AppError::unreachable(&detail),
            ServerFnErrorErr::Response(detail) => AppError::unreadable(&detail),
            _ => AppError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;
    use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

    #[test]
    fn a_failed_round_trip_says_what_to_do_not_what_the_browser_said() {
        let unreachable = AppError::from_server_fn_error(ServerFnErrorErr::Request(
            "TypeError: Failed to fetch".into(),
        ));
        assert_eq!(
            unreachable.to_string(),
            "Could not reach the server. Check the connection, then try again."
        );
        let unreadable = AppError::from_server_fn_error(ServerFnErrorErr::Response(
            "expected value at line 1 column 1".into(),
        ));
        assert!(
            unreadable
                .to_string()
                .starts_with("The server's answer could not be read;")
        );
        let stale = AppError::from_server_fn_error(ServerFnErrorErr::MissingArg(
            "missing field `shown_role`".into(),
        ));
        assert_eq!(
            stale.to_string(),
            "The request was not understood (missing field `shown_role`). Reload the page and try again: it may be older than the server."
        );
        assert_eq!(stale.status(), 400);
        for shown in [unreachable, unreadable] {
            assert!(!shown.to_string().contains("TypeError"));
            assert!(!shown.to_string().contains("line 1"));
        }
    }
}
