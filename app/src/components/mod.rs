//! Small pieces shared by pages.

mod form_error;

pub use form_error::FormError;
