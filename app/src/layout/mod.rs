//! The frame every page sits in: top bar, navigation, content area.

mod app_layout;
mod nav_menu;
mod not_built_yet;
mod page_header;
mod page_hydrated;

pub use app_layout::AppLayout;
pub use nav_menu::NavMenu;
pub use not_built_yet::NotBuiltYet;
pub use page_header::PageHeader;
pub use page_hydrated::{MarkHydrated, PageHydrated};
