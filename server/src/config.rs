//! Settings shared by the commands, resolved from flags and environment variables.

use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Database URL: postgres://… selects PostgreSQL; the default is the SQLite file
    /// <data-dir>/switchboard.db, created on first start.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder for the SQLite database and other local state.
    #[arg(
        long,
        env = "SWITCHBOARD_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
}

impl StorageArgs {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}",
                self.data_dir.join("switchboard.db").display()
            ),
        }
    }
}

/// What `serve` needs beyond storage.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "SWITCHBOARD_ADDR",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub addr: SocketAddr,

    /// The URL people use to reach this server (e.g. https://switchboard.example.com), when it
    /// differs from --addr, as behind a reverse proxy. Cookies are marked Secure when it is https.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL", global = true, value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// Take the client address from the last X-Forwarded-For entry, for sign-in throttling and the
    /// audit log. Set it only behind a reverse proxy that sets that header.
    #[arg(long, env = "SWITCHBOARD_TRUST_FORWARDED_FOR", global = true)]
    pub trust_forwarded_for: bool,

    /// Networks and hosts outbound requests may reach although the network policy refuses them
    /// by default (loopback, private, link-local…): CIDRs, addresses or host names, comma-separated.
    #[arg(
        long,
        env = "SWITCHBOARD_ALLOW_NETWORKS",
        global = true,
        default_value = "",
        value_parser = parse_allow_networks
    )]
    pub allow_networks: domain::egress::NetworkPolicy,

    /// Workflow runs this process executes at once.
    #[arg(long, env = "SWITCHBOARD_WORKERS", default_value_t = 4, global = true,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,

    /// Requests in flight at once to any one connector, per process.
    #[arg(long, env = "SWITCHBOARD_CONNECTOR_CONCURRENCY", default_value_t = 8, global = true,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub connector_concurrency: u16,

    /// Days a finished run is kept before it is purged.
    #[arg(long, env = "SWITCHBOARD_RUN_RETENTION_DAYS", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub run_retention_days: u16,

    /// Seconds a running run's lease lasts (renewed every third of it); when its server stops, another
    /// worker resumes the run after this.
    #[arg(long, env = "SWITCHBOARD_RUN_LEASE_SECONDS", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u16).range(1..=3600))]
    pub run_lease_seconds: u16,

    /// The largest webhook body accepted, in KiB; a larger call is answered 413.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_MAX_BODY_KIB", default_value_t = 1024, global = true,
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub webhook_max_body_kib: u32,

    /// Seconds between the scheduler's looks for due ticks.
    #[arg(long, env = "SWITCHBOARD_SCHEDULE_POLL_SECONDS", default_value_t = 5, global = true,
          value_parser = clap::value_parser!(u16).range(1..=60))]
    pub schedule_poll_seconds: u16,

    /// Folder with the built browser assets (pkg/switchboard.js, .wasm, .css).
    #[arg(
        long,
        env = "SWITCHBOARD_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: PathBuf,
}

impl ServeArgs {
    /// How runs are executed, from these arguments.
    pub fn runner_config(&self) -> crate::runs::RunnerConfig {
        crate::runs::RunnerConfig {
            workers: usize::from(self.workers),
            per_connector: usize::from(self.connector_concurrency),
            lease: std::time::Duration::from_secs(u64::from(self.run_lease_seconds)),
            retention: std::time::Duration::from_secs(
                u64::from(self.run_retention_days) * 24 * 3600,
            ),
            ..crate::runs::RunnerConfig::default()
        }
    }
}

impl ServeArgs {
    /// How triggers behave, from these arguments.
    pub fn trigger_config(&self) -> crate::triggers::TriggerConfig {
        crate::triggers::TriggerConfig {
            webhook_max_body: self.webhook_max_body_kib as usize * 1024,
            schedule_poll: std::time::Duration::from_secs(u64::from(self.schedule_poll_seconds)),
            public_url: self.public_url.clone(),
        }
    }
}

fn parse_public_url(input: &str) -> Result<String, String> {
    let trimmed = input.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or("the public URL must start with https:// or http://")?;
    if rest.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err("the public URL must be like https://switchboard.example.com".into());
    }
    Ok(trimmed.to_owned())
}

fn parse_allow_networks(input: &str) -> Result<domain::egress::NetworkPolicy, String> {
    domain::egress::NetworkPolicy::parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_checked_and_normalised() {
        assert_eq!(
            parse_public_url("https://sb.example.com/").unwrap(),
            "https://sb.example.com"
        );
        assert!(parse_public_url("sb.example.com").is_err());
        assert!(parse_public_url("https://").is_err());
        assert!(parse_public_url("https://sb.example.com/?x=1").is_err());
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_dir() {
        let args = StorageArgs {
            database_url: None,
            data_dir: PathBuf::from("/var/lib/sb"),
        };
        assert_eq!(args.database_url(), "sqlite:///var/lib/sb/switchboard.db");
        let relative = StorageArgs {
            database_url: None,
            data_dir: PathBuf::from("./data"),
        };
        assert_eq!(relative.database_url(), "sqlite://./data/switchboard.db");
    }

    /// `serve`'s flags, as the binary parses them.
    #[derive(Debug, clap::Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    #[test]
    fn the_runner_follows_its_flags() {
        use clap::Parser;
        let Serve { args } = Serve::try_parse_from([
            "switchboard",
            "--workers",
            "3",
            "--connector-concurrency",
            "5",
            "--run-lease-seconds",
            "2",
            "--run-retention-days",
            "7",
        ])
        .unwrap();
        let runner = args.runner_config();
        assert_eq!(runner.workers, 3);
        assert_eq!(runner.per_connector, 5);
        assert_eq!(runner.lease, std::time::Duration::from_secs(2));
        assert_eq!(
            runner.retention,
            std::time::Duration::from_secs(7 * 24 * 3600)
        );
    }

    #[test]
    fn an_explicit_url_wins() {
        let args = StorageArgs {
            database_url: Some("postgres://sb@db/sb".into()),
            data_dir: PathBuf::from("./data"),
        };
        assert_eq!(args.database_url(), "postgres://sb@db/sb");
    }
}
