//! The `switchboard` command line. Every flag is also an environment variable.

use clap::{Parser, Subcommand};
use leptos::config::{Env, LeptosOptions};
use std::process::ExitCode;

use crate::config::{LogFormat, ServeArgs, StorageArgs};
use crate::http::{AppState, router, shutdown_signal};
use crate::storage::{Store, redact_url};
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Switchboard: tell other systems when something happens in your directory."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    storage: StorageArgs,

    #[command(flatten)]
    serve: ServeArgs,

    /// Log output format.
    #[arg(
        long,
        env = "SWITCHBOARD_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Pretty,
        global = true
    )]
    log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app and API (the default when no command is given).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.storage, &cli.serve).await,
        Command::Migrate => migrate(&cli.storage).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("switchboard: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn open_store(storage: &StorageArgs) -> Result<Store, String> {
    let url = storage.database_url();
    let shown = redact_url(&url);
    let store = Store::connect(&url)
        .await
        .map_err(|e| format!("cannot open the database {shown}: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("cannot migrate the database {shown}: {e}"))?;
    tracing::info!(database = %shown, "database ready");
    Ok(store)
}

async fn migrate(storage: &StorageArgs) -> Result<(), String> {
    let store = open_store(storage).await?;
    store.close().await;
    println!("Migrations applied.");
    Ok(())
}

async fn serve(storage: &StorageArgs, args: &ServeArgs) -> Result<(), String> {
    let store = open_store(storage).await?;
    let leptos_options = LeptosOptions::builder()
        .output_name("switchboard")
        .site_root(args.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(args.addr)
        .env(Env::PROD)
        .build();
    if !args.site_root.join("pkg").is_dir() {
        tracing::warn!(
            site_root = %args.site_root.display(),
            "no built browser assets here: pages render, but will not become interactive. Build with `make build` or set --site-root"
        );
    }
    let app = router(AppState::new(
        leptos_options,
        store.clone(),
        args.public_url.clone(),
    ));

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e}. Choose another address with --addr",
                args.addr
            )
        })?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("Switchboard listening on http://{local}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("server error: {e}"))?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
