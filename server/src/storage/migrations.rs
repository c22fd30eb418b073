//! The migrations, compiled into the binary.
//!
//! `sqlx::migrate!` would do this, but it is a proc macro that links all of sqlx, rustls, ring
//! and a second SQLite into the compiler: about 130 more crates built for the host in a release
//! build. `include_str!` embeds the same files; the test below checks that the result is what
//! sqlx itself reads from `migrations/<backend>/` (versions, descriptions, checksums), so a
//! database migrated by either agrees, and that no file there is left out of the list.

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use super::{Backend, StoreError};

/// `SQLITE` and `POSTGRES`: `(file name, contents)` for each file of `migrations/sqlite/` and
/// `migrations/postgres/`, in version order. Both folders hold the same versions under the same
/// names (the dialects differ inside the files), so one list names them.
macro_rules! embed {
    ($($file:literal),* $(,)?) => {
        const SQLITE: &[(&str, &str)] =
            &[$(($file, include_str!(concat!("../../../migrations/sqlite/", $file)))),*];
        const POSTGRES: &[(&str, &str)] =
            &[$(($file, include_str!(concat!("../../../migrations/postgres/", $file)))),*];
    };
}

embed!(
    "0001_accounts_sessions_audit.sql",
    "0002_api_keys_sign_in_throttle.sql",
    "0003_connectors_vault.sql",
    "0004_workflows.sql",
    "0005_runs.sql",
    "0006_triggers.sql",
    "0007_connector_secret_headers.sql",
);

/// The embedded files of one backend, as a source sqlx's `Migrator` resolves.
#[derive(Debug, Clone, Copy)]
struct Embedded(&'static [(&'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move { self.0.iter().map(|(file, sql)| parse(file, sql)).collect() })
    }
}

/// A file name and its SQL as sqlx's directory source reads them: `<version>_<words>.sql`,
/// the words' underscores read as spaces; `-- no-transaction` on the first line runs it
/// outside a transaction.
fn parse(file: &str, sql: &'static str) -> Result<Migration, BoxDynError> {
    let (version, rest) = file
        .split_once('_')
        .filter(|(_, rest)| rest.ends_with(".sql"))
        .ok_or_else(|| {
            format!("migration file {file:?} is not named <version>_<description>.sql")
        })?;
    let version: i64 = version
        .parse()
        .map_err(|_| format!("migration file {file:?} does not start with a version number"))?;
    let migration_type = MigrationType::from_filename(file);
    let description = rest
        .trim_end_matches(migration_type.suffix())
        .replace('_', " ");
    Ok(Migration::new(
        version,
        Cow::Owned(description),
        migration_type,
        Cow::Borrowed(sql),
        sql.starts_with("-- no-transaction"),
    ))
}

pub(super) async fn migrator(backend: Backend) -> Result<Migrator, StoreError> {
    let files = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    Ok(Migrator::new(Embedded(files)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    async fn from_directory(name: &str) -> Migrator {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../migrations")
            .join(name);
        Migrator::new(dir).await.expect("sqlx reads the directory")
    }

    #[tokio::test]
    async fn the_embedded_migrations_are_the_ones_sqlx_reads_from_the_directory() {
        for (backend, name) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
            let embedded = migrator(backend).await.unwrap();
            let directory = from_directory(name).await;
            let summary = |m: &Migrator| {
                m.iter()
                    .map(|m| {
                        (
                            m.version,
                            m.description.to_string(),
                            m.migration_type,
                            m.checksum.to_vec(),
                            m.no_tx,
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert!(
                !summary(&directory).is_empty(),
                "{name}: no migrations found"
            );
            assert_eq!(
                summary(&embedded),
                summary(&directory),
                "{name}: the list in storage/migrations.rs differs from migrations/{name}/"
            );
        }
    }

    #[test]
    fn file_names_are_read_as_sqlx_reads_them() {
        let m = parse("0042_add_a_table.sql", "-- no-transaction\nSELECT 1").unwrap();
        assert_eq!(
            (m.version, m.description.as_ref(), m.no_tx),
            (42, "add a table", true)
        );
        assert_eq!(m.migration_type, MigrationType::Simple);
        assert!(!parse("0043_x.sql", "SELECT 1").unwrap().no_tx);
        assert!(parse("add_a_table.sql", "").is_err());
        assert!(parse("0044.sql", "").is_err());
        assert!(parse("0045_notes.txt", "").is_err());
    }
}
