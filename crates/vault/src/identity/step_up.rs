//! Step-up for sensitive acts: approving access or an export, downloading
//! an export, deciding standing full access, changing a tenant's cap on
//! full-access holders, and (unless the rule says `unmask = false`) a read
//! that shows a sensitive field in full. Where the tenant's schema has
//! a `[step_up]` rule, the act needs a console session whose sign-in meets
//! it — recent enough and strong enough (an `acr`, an Entra `acrs` context
//! or an `amr` method the rule names). Otherwise the act is refused and
//! recorded, and the refusal carries what a new sign-in must ask the
//! provider for (RFC 9470: `acr_values`, `max_age`). An API token never
//! meets a rule: it carries no sign-in. Acts that pass record how the
//! person signed in.

use mamori_audit::{Decision as AuditDecision, Event};

use crate::{
    Caller, Vault,
    error::{Result, VaultError},
    kernel::tenants::TenantState,
};

impl Vault {
    /// Passes `e` on (with the sign-in's facts) when the tenant's rule is
    /// met or there is none; otherwise records `e` refused and challenges.
    pub(crate) fn stepped_up(
        &self,
        caller: &Caller,
        state: &TenantState,
        e: Event,
    ) -> Result<Event> {
        let e = with_sign_in(e, caller);
        let Some(rule) = &state.schema.step_up else {
            return Ok(e);
        };
        let met = caller
            .signed_in
            .as_ref()
            .is_some_and(|s| rule.met(s.acr.as_deref(), &s.acrs, &s.amr, s.auth_time, self.now()));
        if met {
            return Ok(e);
        }
        Err(self.refuse(
            e,
            AuditDecision::Deny,
            "step_up_required".into(),
            VaultError::StepUp {
                tenant: state.row.id.clone(),
                acr_values: rule.acr.clone(),
                max_age: rule.max_age_s,
                provider: caller.signed_in.as_ref().and_then(|s| s.provider.clone()),
            },
        ))
    }
}

impl Vault {
    /// Begins the fresh sign-in a tenant's rule asks for, for a signed-in
    /// person about to repeat a sensitive act: through the provider they
    /// signed in with (else the first configured), with `prompt=login`,
    /// `max_age=0`, the rule's `acr_values` and, for Entra contexts, a
    /// `claims` request for them; back to `back` (a console path) after.
    pub fn begin_step_up(
        &self,
        caller: &Caller,
        tenant: &str,
        back: &str,
    ) -> Result<super::SignInStart> {
        let provider = caller
            .signed_in
            .as_ref()
            .and_then(|s| s.provider.clone())
            .or_else(|| self.identity.first().map(|p| p.config.name.clone()))
            .ok_or(VaultError::NotFound {
                what: "identity provider",
            })?;
        // Asked only by a signed-in person; a tenant outside their
        // credential's scope gets a plain fresh sign-in.
        let rule = caller
            .in_scope(tenant)
            .then(|| self.tenant(tenant).ok())
            .flatten()
            .and_then(|s| s.schema.step_up.clone());
        let fresh = mamori_identity::Fresh {
            reauthenticate: true,
            acr_values: rule.as_ref().map(|r| r.acr.clone()).unwrap_or_default(),
            claims: rule.as_ref().filter(|r| !r.acrs.is_empty()).map(|r| {
                serde_json::json!({"id_token": {"acrs": {"essential": true, "values": r.acrs}}})
            }),
        };
        self.begin_sign_in_to(&provider, &fresh, Some(back))
    }
}

/// The event with how its actor signed in, when by a session.
fn with_sign_in(e: Event, caller: &Caller) -> Event {
    match &caller.signed_in {
        Some(s) => s.recorded_in(e),
        None => e,
    }
}
