//! Who is signed in, and how: console sessions (opened with an API token or
//! through an identity provider, closed by signing out or by revoking the
//! person's credentials), sign-in through OpenID Connect providers, and the
//! links between people and their identities at those providers, and the
//! step-up a tenant asks of sensitive acts; and SCIM provisioning, through
//! which the provider creates, places and offboards the people it manages.

mod links;
mod profiles;
mod provisioning;
mod sessions;
mod sign_in;
mod step_up;

pub use mamori_identity::Fresh;
pub use provisioning::{ScimClient, ScimFail, ScimResult};
pub use sessions::{OpenedSession, SESSION_S};
pub use sign_in::{Callback, ProviderInfo, SignInStart};
