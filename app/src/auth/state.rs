//! The signed-in state every page reads: one session resource, refetched whenever a sign-in,
//! sign-out or first-run setup completes.

use leptos::prelude::*;

use super::{AppError, CurrentUser, SessionInfo, SetupFirstAdmin, SignIn, SignOut, get_session};

#[derive(Clone, Copy)]
pub struct AuthState {
    pub session: Resource<Result<SessionInfo, AppError>>,
    pub sign_in: ServerAction<SignIn>,
    pub sign_out: ServerAction<SignOut>,
    pub setup: ServerAction<SetupFirstAdmin>,
}

impl AuthState {
    /// Creates the state and provides it to the app below.
    pub fn provide() -> AuthState {
        let sign_in = ServerAction::<SignIn>::new();
        let sign_out = ServerAction::<SignOut>::new();
        let setup = ServerAction::<SetupFirstAdmin>::new();
        let session = Resource::new(
            move || {
                (
                    sign_in.version().get(),
                    sign_out.version().get(),
                    setup.version().get(),
                )
            },
            |_| get_session(),
        );
        let state = AuthState {
            session,
            sign_in,
            sign_out,
            setup,
        };
        provide_context(state);
        state
    }

    /// The signed-in person; `None` while loading or when nobody is signed in.
    pub fn user(&self) -> Option<CurrentUser> {
        self.session
            .get()
            .and_then(Result::ok)
            .and_then(|info| info.user)
    }

    /// For route guards: `None` while the session loads.
    pub fn signed_in(&self) -> Option<bool> {
        self.session
            .get()
            .map(|r| r.is_ok_and(|info| info.user.is_some()))
    }

    pub fn can(&self, permission: domain::Permission) -> bool {
        self.user().is_some_and(|u| u.role.allows(permission))
    }
}

pub fn use_auth() -> AuthState {
    expect_context::<AuthState>()
}
