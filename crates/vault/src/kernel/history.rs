//! Histories of what people decide (requests, nominations, exports,
//! directives, alerts): each step's time, actor and action, its comment
//! sealed under the tenant's key like any free text (a comment may name a
//! customer), and the rule that a comment must say something.

use std::collections::BTreeMap;

use mamori_core::{governance::weak_reason, jst};
use mamori_store::HistoryRow;
use serde::Serialize;

use crate::{
    ErrorCode, Vault,
    error::{Result, VaultError},
    sealed,
    tenants::TenantState,
};

/// The sealed field a comment is stored under (part of what is sealed: it
/// cannot change without making stored comments unreadable).
const COMMENT: &str = "request.comment";

/// A step of a history as people read it: Japan time, comment opened.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryStep {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub comment: Option<String>,
}

impl Vault {
    pub(crate) fn checked_comment<'c>(
        &self,
        comment: Option<&'c str>,
        required: bool,
    ) -> Result<Option<&'c str>> {
        match comment.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => {
                if let Some(why) = weak_reason(c, 2) {
                    return Err(VaultError::bad(ErrorCode::CommentTooWeak, why));
                }
                Ok(Some(c))
            }
            None if required => Err(VaultError::bad(
                ErrorCode::CommentMissing,
                "say why in a comment; it stays in the request's history",
            )),
            None => Ok(None),
        }
    }

    /// `actor`'s step in a history at `at`, its comment (if any) sealed
    /// under the tenant's key like any free text.
    pub(crate) fn history_step(
        &self,
        actor: &str,
        state: &TenantState,
        id: &[u8; 16],
        at: i64,
        action: &str,
        comment: Option<&str>,
    ) -> Result<HistoryRow> {
        Ok(HistoryRow {
            at,
            actor: actor.to_owned(),
            action: action.into(),
            comment: comment
                .map(|c| self.seal_comment(state, id, c))
                .transpose()?,
        })
    }

    pub(crate) fn seal_comment(
        &self,
        state: &TenantState,
        id: &[u8; 16],
        text: &str,
    ) -> Result<Vec<u8>> {
        let keys = state.current()?;
        // The key version goes first so the comment opens after a rotation.
        let mut out = keys.version.to_be_bytes().to_vec();
        out.extend(sealed::seal(
            &keys.data,
            id,
            &BTreeMap::from([(COMMENT.to_owned(), text.to_owned())]),
        ));
        Ok(out)
    }

    pub(crate) fn open_comment(
        &self,
        state: &TenantState,
        id: &[u8; 16],
        blob: &[u8],
    ) -> Result<String> {
        let corrupt = || VaultError::Internal("sealed comment is corrupt".into());
        let (v, body) = blob.split_at_checked(4).ok_or_else(corrupt)?;
        let version = u32::from_be_bytes(v.try_into().map_err(|_| corrupt())?);
        let keys = state.keys_for(version)?;
        let mut plain = sealed::open(&keys.data, id, body, |f| f == COMMENT)?;
        plain.remove(COMMENT).ok_or_else(corrupt)
    }

    /// A stored history as people read it: Japan time, comments opened.
    pub(crate) fn history_steps(
        &self,
        state: &TenantState,
        id: &[u8; 16],
        rows: Vec<HistoryRow>,
    ) -> Result<Vec<HistoryStep>> {
        rows.into_iter()
            .map(|h| {
                Ok(HistoryStep {
                    at: jst::rfc3339(h.at),
                    actor: h.actor,
                    action: h.action,
                    comment: h
                        .comment
                        .map(|c| self.open_comment(state, id, &c))
                        .transpose()?,
                })
            })
            .collect()
    }
}
