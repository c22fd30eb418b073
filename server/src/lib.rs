//! The Switchboard server: command line, HTTP wiring and storage adapters.

pub mod access;
pub mod api;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod gate;
pub mod http;
pub mod metrics;
pub mod outbound;
mod recent;
pub mod runs;
pub mod schedule;
pub mod site;
pub mod storage;
pub mod telemetry;
pub mod triggers;
pub mod vault;
pub mod workflows;
