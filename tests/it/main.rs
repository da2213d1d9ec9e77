//! The integration tests, in one test binary (`autotests = false` in Cargo.toml): one module per
//! area, sharing the helpers in [`common`] (the binary, fixtures, in-process runs) and [`support`]
//! (the fake API server). One binary links once and runs every test on all cores, instead of
//! fourteen binaries linked and run one after another.
//!
//! A new test file goes in `tests/it/<module>.rs` and is registered below; a `tests/*.rs` file
//! would not be compiled at all, so [`layout::every_test_file_is_compiled`] fails on one.

/// The product's allocator, so tests that run the tool in-process run it as the binary does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;
mod support;

mod baseline;
mod blind_scans;
mod catalogue;
mod cli;
mod cluster_cli;
mod cluster_fetch;
mod cluster_objects;
mod cluster_pruned;
mod config_errors;
mod docker_guard;
mod due_later;
mod fake_apiserver;
mod fleet;
mod formats;
mod fuzz;
mod horizon;
mod hostile_credentials;
mod hostile_files;
mod hostile_outputs;
mod hostile_server;
mod html_chromium;
mod install;
mod kubeconfig_env;
mod layering;
mod messages;
mod node_collector;
mod node_scan;
mod options;
mod org_report;
mod paths;
mod rbac;
mod readiness;
mod realworld;
mod rendered_templates;
mod rule_fixtures;
mod rules_doc;
mod steps;
mod target_version;

mod layout;
