//! Write preparation, shared by every path that writes records (a `PUT`,
//! an import batch, a rewrap): fields checked against the tenant's schema
//! and made canonical, records sealed under the tenant's current keys with
//! their blind-index tokens, sealing spread over the cores, and the commit
//! groups that an import's or a rewrap's batches are written in.

use std::collections::BTreeMap;

use mamori_core::{
    RecordId, normalize,
    schema::{KEY_FIELD, Schema},
};
use mamori_store::{RecordWrite, WriteKind};

use crate::{
    ErrorCode,
    error::{Result, VaultError},
    sealed,
    tenants::TenantState,
};

/// Below this many rows a batch is sealed on the calling thread: starting
/// threads would cost more than it saves.
const PARALLEL_MIN_ROWS: usize = 512;

/// A commit group is committed after this long even when it holds fewer
/// records than asked: it holds the vault's write lock, and other writers
/// (a server on the same SQLite file) wait for it under a 10 s busy timeout.
pub const GROUP_MAX_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Commit groups filled batch by batch (an import's, a rewrap's): a group is
/// opened at its first batch and handed back to be committed once it holds
/// `limit` records or has been open for [`GROUP_MAX_TIME`].
pub struct CommitGroups<G> {
    limit: u64,
    open: Option<(G, u64, std::time::Instant)>,
}

impl<G> CommitGroups<G> {
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1) as u64,
            open: None,
        }
    }

    /// The open group, opened with `open` if there is none.
    pub fn current<E>(&mut self, open: impl FnOnce() -> Result<G, E>) -> Result<&mut G, E> {
        let group = match self.open.take() {
            Some(group) => group,
            None => (open()?, 0, std::time::Instant::now()),
        };
        Ok(&mut self.open.insert(group).0)
    }

    /// Counts `n` records written into the open group; hands the group back
    /// once it is full.
    pub fn wrote(&mut self, n: u64) -> Option<G> {
        let (_, records, since) = self.open.as_mut()?;
        *records += n;
        if *records >= self.limit || since.elapsed() >= GROUP_MAX_TIME {
            self.take()
        } else {
            None
        }
    }

    /// The open group, if any (the last one, to commit).
    pub fn take(&mut self) -> Option<G> {
        self.open.take().map(|(g, _, _)| g)
    }
}

/// Checks every field against the schema and returns the canonical values.
/// Errors name the field and the problem, never the value.
pub(crate) fn validate_fields(
    schema: &Schema,
    segment: &str,
    input: &BTreeMap<String, String>,
) -> std::result::Result<BTreeMap<String, String>, (ErrorCode, String)> {
    if schema.segment(segment).is_none() {
        let known: Vec<&str> = schema.segments.iter().map(|s| s.id.as_str()).collect();
        return Err((
            ErrorCode::SegmentUnknown,
            format!("unknown segment; this tenant has: {}", known.join(", ")),
        ));
    }
    let mut out = BTreeMap::new();
    for (name, value) in input {
        let Some(def) = schema.field(name) else {
            let known: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
            return Err((
                ErrorCode::FieldUnknown,
                format!(
                    "a field named is not in this tenant's schema; its fields: {}",
                    known.join(", ")
                ),
            ));
        };
        if value.trim().is_empty() {
            continue;
        }
        let canonical = normalize::canonical(def.ty, value)
            .map_err(|e| (ErrorCode::FieldInvalid, format!("field '{name}': {e}")))?;
        out.insert(name.clone(), canonical);
    }
    if !out.contains_key(KEY_FIELD) {
        return Err((
            ErrorCode::FieldMissing,
            format!("field '{KEY_FIELD}' is required"),
        ));
    }
    Ok(out)
}

/// Encrypts a record under the tenant's current keys and computes its tokens.
pub(crate) fn prepare_write(
    state: &TenantState,
    existing: Option<RecordId>,
    segment: String,
    canonical: &BTreeMap<String, String>,
    now: i64,
) -> Result<RecordWrite> {
    let keys = state.current()?;
    let (kind, id) = match existing {
        Some(id) => (WriteKind::Replace, id),
        None => (WriteKind::New, RecordId::random()),
    };
    let mut tokens = Vec::new();
    let mut key_token = None;
    for (name, value) in canonical {
        let Some(def) = state.schema.field(name) else {
            continue;
        };
        if def.searchable != mamori_core::schema::Searchable::Exact {
            continue;
        }
        let norm = normalize::normalize(def.ty, value).map_err(|e| {
            VaultError::bad(ErrorCode::FieldInvalid, format!("field '{name}': {e}"))
        })?;
        let t = keys.index.token(def.search_key(), &norm);
        if name == KEY_FIELD {
            key_token = Some(t);
        }
        tokens.push((def.search_key().to_owned(), t));
    }
    let key_token = key_token.ok_or_else(|| {
        VaultError::bad(
            ErrorCode::FieldMissing,
            format!("field '{KEY_FIELD}' is required"),
        )
    })?;
    Ok(RecordWrite {
        kind,
        key_token,
        tokens,
        record: mamori_store::RecordRow {
            id,
            segment,
            key_version: keys.version,
            sealed: sealed::seal(&keys.data, id.as_bytes(), canonical),
            updated_at: now,
        },
    })
}

/// `f` applied to every item, on several threads for many items (sealing a
/// batch is CPU work), in the items' order.
pub(crate) fn on_cores<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let run = |part: &[T]| part.iter().map(&f).collect::<Result<Vec<R>>>();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || items.len() < PARALLEL_MIN_ROWS {
        return run(items);
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(|| run(part)))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            let part = h
                .join()
                .map_err(|_| VaultError::Internal("an encryption thread panicked".into()))??;
            out.extend(part);
        }
        Ok(out)
    })
}
