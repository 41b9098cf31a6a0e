//! consentd's core: what a consent decision is, with no I/O, no clock and no async.
//!
//! - [`contact`]: contact point normalization (email, E.164 phone, opaque tokens).
//! - [`decision`]: the pure engine: model types, catalog, `decide()`, keyword classes.
//!
//! Both are plain functions over plain data; the store and the server build on them, and
//! nothing here may import either.

pub mod contact;
pub mod decision;
