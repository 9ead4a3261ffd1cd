//! Personal data on its way out of the vault. A [`Released`] value is made
//! only from the gate's [`Permit`] for the act and the audit log's
//! [`Receipt`] for the event that names what is shown: neither has a public
//! constructor outside its crate, so a vault method that shows personal data
//! without asking the gate, or before its event is durable, does not compile
//! (DESIGN.md invariant: no personal data leaves unless the gate allowed it
//! and the audit append succeeded).

use std::ops::Deref;

use mamori_audit::Receipt;
use mamori_policy::Permit;
use serde::{Serialize, Serializer};

/// Data the gate allowed and the audit log recorded, ready to hand over.
/// Outside the vault one can be read and unwrapped, never made:
///
/// ```compile_fail
/// use mamori_vault::Released;
/// fn forge(p: mamori_policy::Permit, r: mamori_audit::Receipt) -> Released<u8> {
///     Released::new(p, r, 1)
/// }
/// ```
#[derive(Debug)]
pub struct Released<T> {
    value: T,
    receipt: Receipt,
}

impl<T> Released<T> {
    /// `permit` is spent: one act, one release.
    pub(crate) fn new(permit: Permit, receipt: Receipt, value: T) -> Self {
        let _ = permit;
        Released { value, receipt }
    }

    /// The audit event that recorded this release.
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    pub fn into_inner(self) -> T {
        self.value
    }

    /// The same release in another shape (a search's records into its answer).
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Released<U> {
        Released {
            value: f(self.value),
            receipt: self.receipt,
        }
    }
}

impl<T> Released<Option<T>> {
    /// The value, when there is one.
    pub(crate) fn transpose(self) -> Option<Released<T>> {
        let receipt = self.receipt;
        self.value.map(|value| Released { value, receipt })
    }
}

impl<T> Deref for Released<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// Serialised as the data alone: the receipt is the vault's own business
/// (the event is in the audit log for whoever may read it).
impl<T: Serialize> Serialize for Released<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}
