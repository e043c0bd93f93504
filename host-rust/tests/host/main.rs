//! The host's integration tests, one binary: each module is one area of
//! the host (admin writes, HTTP, the builder, reconcile, faults, ...), each
//! store test runs on SQLite and Postgres (`both_backends!`), and
//! the host is linked once for all of them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

#[macro_use]
mod common;
mod http_util;

mod access;
mod admin_access;
mod admin_groups;
mod admin_roles;
mod admin_users;
mod apply;
mod authority;
mod builder;
mod console;
mod documents;
mod events;
mod faults;
mod filter_sql;
mod http_api;
mod http_decisions;
mod http_errors;
mod http_model;
mod http_router;
mod invalidation;
mod layers;
mod migrations;
mod preview;
mod readme_e2e;
mod reconcile;
mod replicas;
mod tokens_audit;
mod vectors_http;
mod vectors_parity;
