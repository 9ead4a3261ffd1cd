//! A report's horizon: each audit log up to a signed checkpoint.

use std::collections::BTreeMap;

use mamori_audit::{checkpoint::Verifier, merkle, proofs};
use mamori_report::Signed;
use mamori_store::{AuditRow, CheckpointRow};

use super::CheckpointCheck;
use crate::{
    Vault,
    error::{Result, VaultError},
};

/// Where each log ends for a report, and the checkpoints that say so.
pub(crate) struct AsOf {
    sizes: BTreeMap<String, u64>,
    checkpoints: Vec<CheckpointRow>,
    /// The newest checkpoint's time (Unix seconds): the report's only time.
    pub(crate) at: i64,
    /// Events read whose bytes do not hash to their stored leaf hash.
    unsound: std::cell::Cell<u64>,
}

impl AsOf {
    fn new(checkpoints: Vec<CheckpointRow>) -> AsOf {
        let at = checkpoints.iter().map(|c| c.ts).max().unwrap_or(0) / 1_000_000;
        AsOf {
            sizes: checkpoints
                .iter()
                .map(|c| (c.log.clone(), c.size))
                .collect(),
            checkpoints,
            at,
            unsound: std::cell::Cell::new(0),
        }
    }

    /// Whether an event is within the horizon (its log's first `size` events).
    /// Each event read is checked against its leaf hash on the way (what
    /// the signed root covers); see [`unsound`](Self::unsound).
    pub(crate) fn holds(&self, row: &AuditRow) -> bool {
        let within = self.sizes.get(&row.log).is_some_and(|s| row.seq <= *s);
        if within && merkle::leaf_hash(&row.body) != row.hash {
            self.unsound.set(self.unsound.get() + 1);
        }
        within
    }

    /// Events the report read whose bytes were altered after they were hashed.
    pub(crate) fn unsound(&self) -> u64 {
        self.unsound.get()
    }

    pub(crate) fn sizes_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.sizes).unwrap_or_default()
    }

    /// The checkpoints as printed: the log's own signed note (witnesses'
    /// cosignatures, which arrive later, would change the bytes).
    pub(crate) fn signed(&self) -> Vec<Signed> {
        self.checkpoints
            .iter()
            .map(|c| Signed {
                log: c.log.clone(),
                size: c.size,
                note: c.note.clone(),
            })
            .collect()
    }
}

impl Vault {
    /// Every log signed up to its end now.
    pub(crate) fn as_of_now(&self) -> Result<AsOf> {
        self.audit.flush()?;
        let store = self.audit.store();
        let mut rows = Vec::new();
        for log in store.logs()? {
            if let Some(cp) = store.latest_checkpoint(&log)? {
                rows.push(cp);
            }
        }
        Ok(AsOf::new(rows))
    }

    /// The horizon a report recorded, each checkpoint checked: signed by
    /// `key`, and the stored log's tree at that size has the signed root.
    pub(crate) fn as_of_recorded(
        &self,
        sizes: &BTreeMap<String, u64>,
        key: &Verifier,
    ) -> Result<(AsOf, Vec<CheckpointCheck>)> {
        let store = self.audit.store();
        let (mut rows, mut checks) = (Vec::new(), Vec::new());
        for (log, &size) in sizes {
            let found = store
                .checkpoints(log, size.saturating_sub(1), 1)?
                .into_iter()
                .find(|c| c.size == size);
            let problem = match &found {
                None => Some("no checkpoint of this size is stored".to_owned()),
                Some(cp) => match key.open(&cp.note) {
                    Err(e) => Some(e.to_string()),
                    Ok(signed) if signed.size != size => Some("the note is of another size".into()),
                    Ok(signed) => match proofs::frontier(store.as_ref(), log, size) {
                        Ok(tree) if tree.root() == signed.root => None,
                        Ok(_) => Some("the stored log no longer has the signed root".into()),
                        Err(e) => Some(format!("the stored log cannot be read to that size: {e}")),
                    },
                },
            };
            checks.push(CheckpointCheck {
                log: log.clone(),
                size,
                ok: problem.is_none(),
                problem,
            });
            match found {
                Some(cp) => rows.push(cp),
                // Keep the size so the regenerated figures still stop there.
                None => rows.push(CheckpointRow {
                    log: log.clone(),
                    size,
                    ts: 0,
                    note: String::new(),
                }),
            }
        }
        if rows.is_empty() {
            return Err(VaultError::Internal(
                "a report recorded no checkpoint".into(),
            ));
        }
        Ok((AsOf::new(rows), checks))
    }
}
