//! Who is signed in, and how: console sessions (opened with an API token or
//! through an identity provider, closed by signing out or by revoking the
//! person's credentials), sign-in through OpenID Connect providers, and the
//! links between people and their identities at those providers, and the
//! step-up a tenant asks of sensitive acts.

mod links;
mod sessions;
mod sign_in;
mod step_up;

pub use mamori_identity::Fresh;
pub use sessions::{OpenedSession, SESSION_S};
pub use sign_in::{Callback, ProviderInfo, SignInStart};
