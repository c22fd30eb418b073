//! Signing in and the first-run setup.

mod account_page;
mod setup_page;
mod sign_in_page;
mod sign_out_button;

pub use account_page::AccountPage;
pub use setup_page::SetupPage;
pub use sign_in_page::SignInPage;
pub use sign_out_button::SignOutButton;
