//! Proofs from the audit log for those the policy lets read it: the latest
//! signed checkpoint of a log, the inclusion proof of one event, and the
//! consistency proof between two sizes — each checkable by the reader with
//! the audit key's public half and any RFC 6962 tool, without trusting the
//! server. Asking for a proof is itself recorded.

use crate::ErrorCode;
use base64::Engine;
use mamori_audit::{SealedEvent, merkle, proofs};
use serde::Serialize;

use crate::{
    Caller, Vault,
    error::{Result, VaultError},
};

/// The latest signed checkpoint of a log.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckpointView {
    pub log: String,
    pub size: u64,
    /// The C2SP signed note: origin, size, base64 root, the log's signature
    /// and any witnesses' cosignatures.
    pub note: String,
}

/// An event and the proof that it is leaf `seq - 1` of the log's tree of `size`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionView {
    pub log: String,
    pub seq: u64,
    pub size: u64,
    /// Hex SHA-256(0x00 ‖ event bytes).
    pub leaf_hash: String,
    /// Hex hashes, leaf to root (RFC 9162 §2.1.3).
    pub proof: Vec<String>,
    /// The signed checkpoint of `size`, when one was signed at exactly that size.
    pub checkpoint: Option<String>,
    /// The event, parsed, for reading.
    pub event: SealedEvent,
    /// Base64 of the event's bytes as stored: what the leaf hashes. A
    /// verifier hashes these, never a re-serialisation of `event`.
    pub event_bytes: String,
}

/// The proof that the log of size `second` extends the log of size `first`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyView {
    pub log: String,
    pub first: u64,
    pub second: u64,
    /// Hex hashes (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

/// Which log: `system` or `tenant/<id>`.
fn check_log(log: &str) -> Result<()> {
    let ok = log == "system"
        || mamori_store::log_tenant(log).is_some_and(|t| mamori_core::TenantId::parse(t).is_ok());
    if ok {
        Ok(())
    } else {
        Err(VaultError::bad(
            ErrorCode::LogInvalid,
            "a log is `system` or `tenant/<tenant id>`",
        ))
    }
}

impl Vault {
    /// Each witness's view of each log, for monitoring (no personal data:
    /// witness addresses, log names, sizes).
    pub fn audit_witnesses(&self) -> Vec<mamori_audit::witness_client::WitnessState> {
        self.audit.witnesses()
    }

    /// The gate's audit-read decision, recorded; the event to append once done.
    fn proof_event(&self, caller: &Caller, action: &str, log: &str) -> Result<mamori_audit::Event> {
        check_log(log)?;
        let scope = self.audit_scope(caller, mamori_store::log_tenant(log), None)?;
        let decision = self.gate.decide_audit_read(&caller.principal, &scope);
        self.gated(
            self.caller_event(caller, action, "allowed")
                .detail("log", log),
            &decision,
            &decision.reason(),
        )
    }

    /// The size a proof is for: the one asked, or the latest signed checkpoint's.
    fn proof_size(&self, log: &str, size: Option<u64>) -> Result<u64> {
        let latest = self
            .audit
            .store()
            .latest_checkpoint(log)?
            .map(|c| c.size)
            .ok_or(VaultError::NotFound {
                what: "signed checkpoint of that log",
            })?;
        match size {
            None => Ok(latest),
            Some(s) if s == 0 || s > latest => Err(VaultError::bad(
                ErrorCode::SizeInvalid,
                format!("size must be 1-{latest} (the latest signed checkpoint)"),
            )),
            Some(s) => Ok(s),
        }
    }

    pub fn audit_checkpoint(&self, caller: &Caller, log: &str) -> Result<CheckpointView> {
        let e = self.proof_event(caller, "audit.checkpoint", log)?;
        let cp = self
            .audit
            .store()
            .latest_checkpoint(log)?
            .ok_or(VaultError::NotFound {
                what: "signed checkpoint of that log",
            })?;
        let note = proofs::cosigned(self.audit.store().as_ref(), &cp)?;
        self.audit.append(e.detail("size", cp.size))?;
        Ok(CheckpointView {
            log: cp.log,
            size: cp.size,
            note,
        })
    }

    /// Event `seq` of `log` with its inclusion proof in the tree of `size`
    /// (default: the latest signed checkpoint's).
    pub fn audit_inclusion(
        &self,
        caller: &Caller,
        log: &str,
        seq: u64,
        size: Option<u64>,
    ) -> Result<InclusionView> {
        let e = self.proof_event(caller, "audit.proof", log)?;
        let size = self.proof_size(log, size)?;
        if seq == 0 || seq > size {
            return Err(VaultError::bad(
                ErrorCode::SeqInvalid,
                format!("seq must be 1-{size}"),
            ));
        }
        let row = self
            .audit
            .store()
            .event(log, seq)?
            .ok_or(VaultError::NotFound {
                what: "audit event",
            })?;
        let event: SealedEvent = serde_json::from_slice(&row.body)
            .map_err(|_| VaultError::Internal("stored audit event does not parse".into()))?;
        let proof = proofs::inclusion(self.audit.store().as_ref(), log, seq, size)?
            .map_err(|e| VaultError::bad(ErrorCode::SeqInvalid, e.to_string()))?;
        let checkpoint = match self
            .audit
            .store()
            .checkpoints(log, size - 1, 1)?
            .into_iter()
            .find(|c| c.size == size)
        {
            Some(c) => Some(proofs::cosigned(self.audit.store().as_ref(), &c)?),
            None => None,
        };
        self.audit
            .append(e.detail("seq", seq).detail("size", size))?;
        Ok(InclusionView {
            log: log.to_owned(),
            seq,
            size,
            leaf_hash: hex::encode(merkle::leaf_hash(&row.body)),
            event_bytes: base64::engine::general_purpose::STANDARD.encode(&row.body),
            proof: proof.iter().map(hex::encode).collect(),
            checkpoint,
            event,
        })
    }

    /// The consistency proof from size `first` to size `second` (default:
    /// the latest signed checkpoint's).
    pub fn audit_consistency(
        &self,
        caller: &Caller,
        log: &str,
        first: u64,
        second: Option<u64>,
    ) -> Result<ConsistencyView> {
        let e = self.proof_event(caller, "audit.proof", log)?;
        let second = self.proof_size(log, second)?;
        if first > second {
            return Err(VaultError::bad(
                ErrorCode::SizeInvalid,
                format!("first must be 0-{second}"),
            ));
        }
        let proof = proofs::consistency(self.audit.store().as_ref(), log, first, second)?
            .map_err(|e| VaultError::bad(ErrorCode::SizeInvalid, e.to_string()))?;
        self.audit
            .append(e.detail("first", first).detail("second", second))?;
        Ok(ConsistencyView {
            log: log.to_owned(),
            first,
            second,
            proof: proof.iter().map(hex::encode).collect(),
        })
    }
}
