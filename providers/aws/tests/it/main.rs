//! Integration tests of the AWS provider: the real AWS SDK for Rust against moto server,
//! wrapped by Plinth's launcher (`tests/harness/moto_server.py`) for status holds, fault
//! injection and call counting. One server per test binary, one account per test.

mod data_sources;
mod elasticache;
mod factory;
mod lb;
mod mita;
mod rds_groups;
mod rds_instance;
mod s3_bucket;
mod security_group;
mod support;
