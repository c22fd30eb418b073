//! The Switchboard server: command line, HTTP wiring and storage adapters.

pub mod cli;
pub mod config;
pub mod http;
pub mod storage;
pub mod telemetry;
