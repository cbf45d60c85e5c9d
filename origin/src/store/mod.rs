//! The database: one `Store` over SQLite (the embedded default) or PostgreSQL (to scale out).
//!
//! Queries are runtime `sqlx` queries written once in portable SQL (`$1` placeholders, `ON CONFLICT`,
//! `RETURNING`, which both backends accept) and run on either pool through [`on_db!`]: the macro
//! expands the same code once per backend, so each arm is type-checked against its own driver
//! without a generic-bounds maze and without `sqlx::Any`. Schema differences live only in the two
//! migration folders (`origin/migrations/{sqlite,postgres}`), which keep the same versions.

mod api;
pub mod options;
mod sessions;
mod sites;
mod users;
pub mod visits;

use std::{str::FromStr, sync::Arc, time::Duration};

use anyhow::Context;
use sqlx::{
    postgres::{PgPoolOptions, Postgres},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    PgPool, Sqlite, SqlitePool, Transaction,
};

pub use api::ANONYMOUS;
pub use options::GlobalSettings;
pub use sessions::LoginSession;
pub use sites::{CustomDimension, Goal, NewGoal, NewSite, Site, CUSTOM_DIMENSION_SLOTS};
pub use users::{datetime_now, Access, Token, TokenOwner, User};

/// Runs `$body` with `$c` bound to the inner pool or transaction of either backend.
macro_rules! on_db {
    ($value:expr, $c:ident => $body:expr) => {
        match $value {
            $crate::store::Db::Sqlite($c) => $body,
            $crate::store::Db::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_db;

/// A value that exists once per backend: a pool, a transaction.
#[derive(Debug, Clone)]
pub enum Db<S, P> {
    Sqlite(S),
    Postgres(P),
}

/// A handle to the database, cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: Db<SqlitePool, PgPool>,
    /// Decoded archives already read (see `archive::cache`).
    pub(crate) archives: Arc<crate::archive::cache::ArchiveCache>,
    /// Rendered report answers (see `api::cache`).
    pub(crate) answers: Arc<crate::api::cache::AnswerCache>,
    /// Recently verified API tokens (see `api::cache`).
    pub(crate) tokens: Arc<crate::api::cache::TokenCache>,
}

/// One database transaction on either backend.
pub type Tx = Db<Transaction<'static, Sqlite>, Transaction<'static, Postgres>>;

/// Errors of the storage layer; callers turn them into answers (a 500 for `Db`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `sqlite://PATH` or `postgres://...`. For SQLite the file and its folder are
    /// created; the journal is WAL with `synchronous=FULL`, so a commit is on disk before the
    /// tracker acknowledges a request.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            Db::Postgres(pool)
        } else {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("invalid SQLite URL {url:?}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            if let Some(dir) = options.get_filename().parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!("creating the database folder {}", dir.display())
                    })?;
                }
            }
            // SQLite has one writer: a few connections serve the readers, the ingest writer
            // serialises the writes (see `tracker::writer`).
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .with_context(|| format!("opening the SQLite database {url}"))?;
            Db::Sqlite(pool)
        };
        Ok(Self {
            db,
            archives: Arc::default(),
            answers: Arc::default(),
            tokens: Arc::default(),
        })
    }

    /// Applies the embedded migrations of the backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.db {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        }
        .context("running the database migrations")
    }

    /// The versions of this binary's migrations the database has not applied (successfully).
    /// Versions applied by a newer binary are not reported: an older binary still runs during
    /// an upgrade.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let (migrator, applied): (&sqlx::migrate::Migrator, Vec<i64>) = match &self.db {
            Db::Sqlite(pool) => (
                &SQLITE_MIGRATIONS,
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(pool)
                    .await?,
            ),
            Db::Postgres(pool) => (
                &POSTGRES_MIGRATIONS,
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(pool)
                    .await?,
            ),
        };
        Ok(migrator
            .iter()
            .map(|migration| migration.version)
            .filter(|version| !applied.contains(version))
            .collect())
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.db {
            Db::Sqlite(pool) => Db::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Db::Postgres(pool.begin().await?),
        })
    }

    /// Which backend this is, for logs.
    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection (at shutdown, so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        on_db!(&self.db, pool => pool.close().await);
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        on_db!(self, tx => tx.commit().await?);
        Ok(())
    }
}

/// The current time as UNIX seconds; the one clock read of the storage layer's callers.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    /// The migration file names of one backend folder, sorted.
    fn migration_versions(dir: &Path) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        Ok(names)
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let sqlite = migration_versions(&root.join("sqlite")).unwrap();
        let postgres = migration_versions(&root.join("postgres")).unwrap();
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
    }
}
