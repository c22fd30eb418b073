//! What a person sees when a page does not exist or something fails.

mod error_page;
mod not_found_page;

pub use error_page::ErrorPage;
pub use not_found_page::NotFoundPage;
