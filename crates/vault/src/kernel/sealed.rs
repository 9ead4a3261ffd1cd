//! A record's fields, each encrypted on its own, packed into one blob:
//! repeated (name length u8, name, ciphertext length u32 BE, ciphertext).
//! Each ciphertext's associated data binds it to tenant, record, field and key
//! version, so swapping entries inside or between blobs fails to decrypt.

use std::collections::BTreeMap;

use mamori_crypto::{FieldCipher, FieldContext};

use crate::error::{Result, VaultError};

pub fn seal(
    cipher: &FieldCipher,
    record_id: &[u8; 16],
    fields: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.len() * 80);
    for (name, value) in fields {
        let ct = cipher.encrypt(
            FieldContext {
                record_id,
                field: name,
            },
            value.as_bytes(),
        );
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(ct.len() as u32).to_be_bytes());
        out.extend_from_slice(&ct);
    }
    out
}

/// The ciphertext of each field, without decrypting any.
pub fn entries(mut blob: &[u8]) -> Result<Vec<(&str, &[u8])>> {
    let corrupt = || VaultError::Internal("sealed record is corrupt".into());
    let mut out = Vec::new();
    while let Some((&n, rest)) = blob.split_first() {
        let n = n as usize;
        if rest.len() < n + 4 {
            return Err(corrupt());
        }
        let name = std::str::from_utf8(&rest[..n]).map_err(|_| corrupt())?;
        let len = u32::from_be_bytes([rest[n], rest[n + 1], rest[n + 2], rest[n + 3]]) as usize;
        let body = &rest[n + 4..];
        if body.len() < len {
            return Err(corrupt());
        }
        out.push((name, &body[..len]));
        blob = &body[len..];
    }
    Ok(out)
}

/// Decrypts only the fields in `wanted`; the others stay sealed.
pub fn open(
    cipher: &FieldCipher,
    record_id: &[u8; 16],
    blob: &[u8],
    wanted: impl Fn(&str) -> bool,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, ct) in entries(blob)? {
        if !wanted(name) {
            continue;
        }
        let pt = cipher
            .decrypt(
                FieldContext {
                    record_id,
                    field: name,
                },
                ct,
            )
            .map_err(|e| VaultError::Internal(format!("field '{name}': {e}")))?;
        let s = String::from_utf8(pt)
            .map_err(|_| VaultError::Internal(format!("field '{name}' is not UTF-8")))?;
        out.insert(name.to_owned(), s);
    }
    Ok(out)
}
