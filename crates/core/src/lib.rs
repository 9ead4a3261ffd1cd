//! Domain types and rules of the mamori vault.
//!
//! Architecture invariant: this crate does no I/O. It defines what a tenant,
//! a schema, a purpose, a role and a record look like, and how Japanese input
//! is normalised before it is indexed — everything else builds on these types.

pub mod case_id;
pub mod clock;
pub mod governance;
pub mod holiday;
pub mod household;
pub mod ids;
pub mod jp;
pub mod jst;
pub mod mask;
pub mod normalize;
pub mod role;
pub mod schema;

pub use ids::{DirectiveId, ExportId, GrantId, HuntId, NominationId, RecordId, ScanId, TenantId};
pub use role::Role;
pub use schema::{
    FieldClass, FieldDef, FieldType, Identity, MaskKind, Purpose, Schema, SchemaError,
};
