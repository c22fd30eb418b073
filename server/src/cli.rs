//! The `switchboard` command line. Every flag is also an environment variable.

use clap::{Parser, Subcommand};
use leptos::config::{Env, LeptosOptions};
use std::process::ExitCode;

use crate::access::Access;
use crate::config::{LogFormat, ServeArgs, StorageArgs};
use crate::http::{AppState, router, shutdown_signal};
use crate::storage::{Store, redact_url};
use crate::telemetry;
use app::auth::service::AccountInput;
use domain::Role;
use std::io::Read;

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
    /// Manage administrator accounts (for headless installs).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage API keys for scripts (for headless installs).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Manage the master key that protects stored secrets.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Send directory events to a running server (to wire a directory, or to test a workflow).
    #[command(subcommand)]
    Events(EventsCommand),
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// Post an event (or a JSON array of events) to POST /api/v2/events and print the runs it
    /// started. The API key (an Administrator's) is read from SWITCHBOARD_API_KEY only, so it
    /// stays out of the process list.
    Send {
        /// The event type, e.g. user.activated; set on every event sent.
        #[arg(long = "type")]
        event_type: Option<String>,
        /// A JSON file holding the event or an array of events; "-" reads standard input.
        /// Without it, an event holding only the type is sent.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The server's address.
        #[arg(long, env = "SWITCHBOARD_URL", default_value = "http://127.0.0.1:3000")]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Re-encrypt every stored secret under a new master key, in one transaction. Stop the
    /// servers first. The current key comes from SWITCHBOARD_MASTER_KEY or the key file; the new
    /// one from SWITCHBOARD_NEW_MASTER_KEY. With the key file it may be left unset: a new key is
    /// generated and written to the key file. With SWITCHBOARD_MASTER_KEY it must be set.
    Rotate,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an account. The password is read from standard input, so it stays out of the
    /// shell history and the process list.
    Create {
        #[arg(long)]
        email: String,
        /// Display name; defaults to the part of the email before the @.
        #[arg(long)]
        name: Option<String>,
        /// administrator_with_billing, administrator or read_only.
        #[arg(long, value_parser = parse_role, default_value = "administrator_with_billing")]
        role: Role,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print it once.
    Create {
        #[arg(long)]
        name: String,
        /// administrator_with_billing, administrator or read_only.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Days until the key stops working; without it the key does not expire.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a key by its prefix (e.g. sb_3f9a1c07e2).
    Revoke { prefix: String },
}

fn parse_role(input: &str) -> Result<Role, String> {
    Role::parse(input).map_err(|e| e.to_string())
}

/// The process's entry point: what `#[tokio::main]` would write in `main.rs`. Here, the runtime
/// and the whole future it drives are compiled with this crate, which builds alongside `app`;
/// in `main.rs` they were compiled again in the binary's crate, which is built last and alone
/// (measured, rebuilding the server's last crates alone: 95.9 → 78.5 s wall, 162 → 130 CPU-s; the
/// binary's crate 26.5 → 1.3 s).
pub fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("switchboard: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Some(Command::Admin(_) | Command::ApiKey(_) | Command::Keys(_) | Command::Events(_))
    );
    telemetry::init(cli.log_format, quiet);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.storage, &cli.serve).await,
        Command::Migrate => migrate(&cli.storage).await,
        Command::Admin(command) => admin(&cli.storage, command).await,
        Command::ApiKey(command) => api_key(&cli.storage, command).await,
        Command::Keys(KeysCommand::Rotate) => rotate_keys(&cli.storage).await,
        Command::Events(EventsCommand::Send {
            event_type,
            file,
            url,
        }) => send_events(event_type, file, &url).await,
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

/// The token `/metrics` requires, from `SWITCHBOARD_METRICS_TOKEN` only (a flag would show in
/// `ps`). Unset or empty: /metrics is open to whoever reaches the port.
fn metrics_token() -> Result<Option<secrecy::SecretString>, String> {
    match std::env::var("SWITCHBOARD_METRICS_TOKEN") {
        Ok(token) if token.trim().is_empty() => Ok(None),
        Ok(token) if token.trim().len() < 16 => Err(
            "SWITCHBOARD_METRICS_TOKEN is shorter than 16 characters: use a long random value, e.g. `openssl rand -hex 32`".into(),
        ),
        Ok(token) => Ok(Some(token.trim().to_owned().into())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        // Set but unreadable: refusing to start beats leaving /metrics open by mistake.
        Err(std::env::VarError::NotUnicode(_)) => {
            Err("SWITCHBOARD_METRICS_TOKEN is not valid UTF-8: use printable characters, e.g. `openssl rand -hex 32`".into())
        }
    }
}

/// `SWITCHBOARD_MASTER_KEY` if set (base64 of 32 bytes), else the key file in the data directory.
fn master_key_source(storage: &StorageArgs) -> crate::vault::MasterKeySource {
    match std::env::var("SWITCHBOARD_MASTER_KEY") {
        Ok(key) if !key.trim().is_empty() => crate::vault::MasterKeySource::Env(key),
        _ => crate::vault::MasterKeySource::File {
            dir: storage.data_dir.clone(),
        },
    }
}

/// `switchboard events send`: posts the event(s) and prints the server's answer.
async fn send_events(
    event_type: Option<String>,
    file: Option<std::path::PathBuf>,
    url: &str,
) -> Result<(), String> {
    let api_key = std::env::var("SWITCHBOARD_API_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
        .ok_or("set SWITCHBOARD_API_KEY to an Administrator's API key (Settings › API Keys)")?;
    let text = match &file {
        None => None,
        Some(path) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Some(text)
        }
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        ),
    };
    let mut events = match text {
        Some(text) => serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| format!("the file is not JSON: {e}"))?,
        None => serde_json::json!({}),
    };
    if let Some(event_type) = event_type {
        let set = |event: &mut serde_json::Value| match event.as_object_mut() {
            Some(object) => {
                object.insert("type".into(), event_type.clone().into());
                Ok(())
            }
            None => Err("each event must be a JSON object".to_owned()),
        };
        match &mut events {
            serde_json::Value::Array(items) => items.iter_mut().try_for_each(set)?,
            event => set(event)?,
        }
    }
    let endpoint = format!("{}/api/v2/events", url.trim_end_matches('/'));
    let response = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?
        .post(&endpoint)
        .header("x-api-key", api_key.trim())
        .json(&events)
        .send()
        .await
        .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("the server answered {status} with a body that is not JSON: {e}"))?;
    if !status.is_success() {
        let message = body["error"].as_str().unwrap_or("no reason given");
        return Err(format!(
            "the server refused the events ({status}): {message}"
        ));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?
    );
    Ok(())
}

async fn migrate(storage: &StorageArgs) -> Result<(), String> {
    let store = open_store(storage).await?;
    store.close().await;
    println!("Migrations applied.");
    Ok(())
}

async fn serve(storage: &StorageArgs, args: &ServeArgs) -> Result<(), String> {
    let metrics_token = metrics_token()?;
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
    let stale = crate::site::remove_stale_precompressed(&args.site_root);
    if !stale.is_empty() {
        tracing::info!(
            count = stale.len(),
            "deleted compressed copies of built files older than the files (a build since did not precompress)"
        );
    }
    let vault = crate::vault::open_vault(&store, &master_key_source(storage)).await?;
    tracing::info!(key_version = vault.key_version, "vault open");
    let outbound = crate::outbound::Outbound::new(args.allow_networks.clone())
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
    let state = AppState::new(
        leptos_options,
        store.clone(),
        vault,
        outbound,
        args.public_url.clone(),
        args.runner_config(),
        args.trigger_config(),
    )
    .trusting_forwarded_for(args.trust_forwarded_for)
    .with_metrics_token(metrics_token);
    // Never stops start-up: a connector that cannot be sealed is logged and left as it was.
    let sealed = state.connectors.seal_plain_credential_headers().await;
    if sealed.sealed > 0 || sealed.failed > 0 {
        tracing::info!(
            connectors = sealed.sealed,
            failed = sealed.failed,
            "plain credential headers made secret"
        );
    }
    let workers = state.runs.start_workers();
    // Each run this server claims is owned by `<lease prefix>:<claim>` (the runs table's
    // lease_owner): how to tell which replica holds a run.
    tracing::info!(
        lease_prefix = state.runs.lease_prefix(),
        "run workers started"
    );
    let metrics_upkeep = crate::metrics::start_upkeep();
    let (stop_scheduler, scheduler_stopped) = tokio::sync::watch::channel(false);
    let scheduler = state.triggers.start_scheduler(scheduler_stopped);
    let app = router(state);

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
    let _ = stop_scheduler.send(true);
    let _ = scheduler.await;
    workers.shutdown().await;
    metrics_upkeep.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn admin(storage: &StorageArgs, command: AdminCommand) -> Result<(), String> {
    let AdminCommand::Create {
        email,
        name,
        role,
        password_stdin: _,
    } = command;
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    // `echo secret | switchboard …` adds a newline that is not part of the password.
    let password = password.strip_suffix('\n').unwrap_or(&password);
    let password = password.strip_suffix('\r').unwrap_or(password).to_owned();
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let store = open_store(storage).await?;
    let result = Access::new(store.clone(), false)
        .create_account_from_cli(AccountInput {
            email,
            name,
            role,
            password,
            password_again: None,
        })
        .await;
    store.close().await;
    let account = result.map_err(|e| e.to_string())?;
    println!("Created {} ({}).", account.email, account.role.label());
    Ok(())
}

async fn rotate_keys(storage: &StorageArgs) -> Result<(), String> {
    use crate::vault::{KeyBytes, MasterKeySource, load_master_key};
    let store = open_store(storage).await?;
    let source = master_key_source(storage);
    let mut current = load_master_key(&source, false).map_err(|e| e.to_string())?;
    // A key file from an earlier rotation may be the only key that opens the database (it
    // committed, then stopped before the file was promoted): it is never written over unread.
    if let MasterKeySource::File { dir } = &source {
        let pending_path = dir.join(crate::vault::NEW_KEY_FILE);
        if let Ok(text) = std::fs::read_to_string(&pending_path) {
            use crate::vault::RotationOutcome;
            let left_over = || {
                format!(
                    "{} is there from an earlier rotation, and which key opens the database cannot be told now; nothing was done. Keep both key files, and start a server once: it uses {} if the database does",
                    pending_path.display(),
                    crate::vault::NEW_KEY_FILE
                )
            };
            let pending = KeyBytes::from_base64(&text).map_err(|_| left_over())?;
            match crate::vault::rotation_outcome(&store, &current, &pending).await {
                // That rotation did not commit: the file is unused.
                RotationOutcome::RolledBack => {
                    std::fs::remove_file(&pending_path).map_err(|e| {
                        format!("cannot remove the unused {}: {e}", pending_path.display())
                    })?;
                }
                RotationOutcome::Committed => {
                    crate::vault::promote_new_key_file(dir).map_err(|e| {
                        format!(
                            "cannot finish the earlier rotation: {e}; rename {} to {} by hand",
                            crate::vault::NEW_KEY_FILE,
                            crate::vault::KEY_FILE
                        )
                    })?;
                    eprintln!(
                        "Finished an earlier rotation: the database already used {}, which is now the key file.",
                        crate::vault::NEW_KEY_FILE
                    );
                    current = pending;
                }
                RotationOutcome::Unknown => {
                    store.close().await;
                    return Err(left_over());
                }
            }
        }
    }
    let given = std::env::var("SWITCHBOARD_NEW_MASTER_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty());
    let new_key = match (&given, &source) {
        (Some(text), _) => {
            KeyBytes::from_base64(text).map_err(|e| format!("SWITCHBOARD_NEW_MASTER_KEY: {e}"))?
        }
        (None, MasterKeySource::File { .. }) => KeyBytes::random(),
        // A key generated here would live only in this process until printed: a crash in
        // between would leave every secret under a key nobody has.
        (None, MasterKeySource::Env(_)) => {
            return Err("the master key comes from SWITCHBOARD_MASTER_KEY: set SWITCHBOARD_NEW_MASTER_KEY to the new key (e.g. `openssl rand -base64 32`, kept where you keep the current one) and run again".into());
        }
    };
    // With the key file, the new key is on disk before the database commits, so a crash in
    // between leaves a key that opens the database (start-up promotes it).
    if let MasterKeySource::File { dir } = &source {
        crate::vault::write_new_key_file(dir, &new_key)
            .map_err(|e| format!("cannot write the new key file in {}: {e}", dir.display()))?;
    }
    let mut rotated = crate::vault::rotate_master_key(&store, &current, &new_key)
        .await
        .map(Some);
    // An error may have come after the commit: the new key is removed only once the database is
    // seen still to use the current one.
    if let Err(error) = &rotated {
        use crate::vault::RotationOutcome;
        match crate::vault::rotation_outcome(&store, &current, &new_key).await {
            RotationOutcome::RolledBack => {
                if let MasterKeySource::File { dir } = &source {
                    let _ = std::fs::remove_file(dir.join(crate::vault::NEW_KEY_FILE));
                }
            }
            RotationOutcome::Committed => {
                eprintln!(
                    "The database reported an error ({error}), but it committed the rotation: it uses the new key."
                );
                rotated = Ok(None);
            }
            RotationOutcome::Unknown => {
                let kept = match &source {
                    MasterKeySource::File { dir } => format!(
                        "{} is kept: start a server, which uses it if the database does",
                        dir.join(crate::vault::NEW_KEY_FILE).display()
                    ),
                    MasterKeySource::Env(_) => "keep SWITCHBOARD_NEW_MASTER_KEY's value: start a server with the current key, and if it cannot open the vault, with the new one".into(),
                };
                store.close().await;
                return Err(format!(
                    "the rotation failed ({error}), and whether it committed cannot be told now; {kept}"
                ));
            }
        }
    }
    if let Ok(rotation) = &rotated {
        let entry = crate::storage::NewAuditEntry {
            actor: "cli".into(),
            action: "vault.rotate".into(),
            target: Some(match rotation {
                Some(rotation) => format!("data key v{}", rotation.version),
                None => "data key (committed; the database reported an error)".into(),
            }),
            detail: Some(match rotation {
                Some(rotation) => serde_json::json!({ "secrets": rotation.secrets }),
                None => serde_json::json!({ "committed_after_error": true }),
            }),
            ip: Some("local".into()),
        };
        if let Err(e) = store.append_audit(&entry).await {
            tracing::warn!(error = %e, "the rotation is done but could not be audited");
        }
    }
    store.close().await;
    if let Some(rotation) = rotated? {
        eprintln!(
            "Re-encrypted {} secret(s) under data key v{}.",
            rotation.secrets, rotation.version
        );
    }
    match &source {
        MasterKeySource::File { dir } => {
            crate::vault::promote_new_key_file(dir)
                .map_err(|e| format!("the database uses the new key, but {} could not replace the key file: {e}; rename it by hand", crate::vault::NEW_KEY_FILE))?;
            eprintln!(
                "The key file {} holds the new master key: back it up, then start the servers.",
                dir.join(crate::vault::KEY_FILE).display()
            );
        }
        MasterKeySource::Env(_) => eprintln!(
            "Set SWITCHBOARD_MASTER_KEY to the value of SWITCHBOARD_NEW_MASTER_KEY on every server, then start them."
        ),
    }
    Ok(())
}

async fn api_key(storage: &StorageArgs, command: ApiKeyCommand) -> Result<(), String> {
    let store = open_store(storage).await?;
    let access = Access::new(store.clone(), false);
    let result = match command {
        ApiKeyCommand::Create {
            name,
            role,
            expires_in_days,
        } => access
            .issue_api_key("cli", &name, role, expires_in_days, "local")
            .await
            .map(|created| {
                eprintln!(
                    "Created API key {} ({}). It is shown only now: store it safely.",
                    created.view.prefix,
                    created.view.role.label()
                );
                println!("{}", created.key);
            }),
        ApiKeyCommand::Revoke { prefix } => access
            .revoke_key("cli", &prefix, "local")
            .await
            .map(|key| println!("Revoked API key {}.", key.prefix)),
    };
    store.close().await;
    result.map_err(|e| e.to_string())
}
