//! Data from other systems: the one CSV feed reader, customer import
//! batches, the call system's cases, and staff households from HR.

pub mod cases;
pub(crate) mod feed;
pub mod household;
pub mod ingest;
