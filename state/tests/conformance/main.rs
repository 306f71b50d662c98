//! The state backend conformance suite: the same cases against the local file backend,
//! S3 (moto server over HTTP) and PostgreSQL (a throwaway cluster), each plain and encrypted,
//! plus the backend-specific checks (bootstrap, endpoint probe, dead PostgreSQL clients).

mod local;
mod postgres;
mod s3;
mod suite;
