//! Small pieces shared by pages.

mod form_error;
mod not_allowed;

pub use form_error::FormError;
pub use not_allowed::NotAllowed;
