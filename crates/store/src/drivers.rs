//! What the database drivers' errors and rows mean to the store, for the
//! backend crates (mamori-store-sqlite, mamori-store-postgres). They live
//! here, behind a feature per driver, because Rust lets only the crate that
//! owns `StoreError` and `Cols` implement them for a driver's types; the
//! vault builds without either feature and never sees a driver.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::{Result, StoreError, rows::Cols};

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    impl From<rusqlite::Error> for StoreError {
        fn from(e: rusqlite::Error) -> Self {
            match &e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Conflict("unique constraint".into())
                }
                _ => StoreError::Db(e.to_string()),
            }
        }
    }

    impl Cols for rusqlite::Row<'_> {
        fn int(&self, i: usize) -> Result<i64> {
            Ok(self.get(i)?)
        }
        fn opt_int(&self, i: usize) -> Result<Option<i64>> {
            Ok(self.get(i)?)
        }
        fn text(&self, i: usize) -> Result<String> {
            Ok(self.get(i)?)
        }
        fn opt_text(&self, i: usize) -> Result<Option<String>> {
            Ok(self.get(i)?)
        }
        fn blob(&self, i: usize) -> Result<Vec<u8>> {
            Ok(self.get(i)?)
        }
        fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
            Ok(self.get(i)?)
        }
        fn real(&self, i: usize) -> Result<f64> {
            Ok(self.get(i)?)
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres_driver {
    use super::*;
    use postgres::Row;

    impl From<postgres::Error> for StoreError {
        fn from(e: postgres::Error) -> Self {
            match e.code() {
                // Class 23, integrity constraint violation: what SQLite reports
                // as a constraint failure.
                Some(c) if c.code().starts_with("23") => StoreError::Conflict(
                    e.as_db_error()
                        .and_then(|d| d.constraint())
                        .unwrap_or("constraint")
                        .to_owned(),
                ),
                _ => StoreError::Db(match e.as_db_error() {
                    Some(d) => format!("{}: {}", d.code().code(), d.message()),
                    None => e.to_string(),
                }),
            }
        }
    }

    impl Cols for Row {
        fn int(&self, i: usize) -> Result<i64> {
            Ok(self.try_get(i)?)
        }
        fn opt_int(&self, i: usize) -> Result<Option<i64>> {
            Ok(self.try_get(i)?)
        }
        fn text(&self, i: usize) -> Result<String> {
            Ok(self.try_get(i)?)
        }
        fn opt_text(&self, i: usize) -> Result<Option<String>> {
            Ok(self.try_get(i)?)
        }
        fn blob(&self, i: usize) -> Result<Vec<u8>> {
            Ok(self.try_get(i)?)
        }
        fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
            Ok(self.try_get(i)?)
        }
        fn real(&self, i: usize) -> Result<f64> {
            Ok(self.try_get(i)?)
        }
    }
}
