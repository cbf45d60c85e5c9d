//! Fresh databases for each measurement (a temporary SQLite file, or a new database on a
//! PostgreSQL server), the sites, user, token and goals the traffic needs, an in-process origin
//! serving them, and the SQL that copies one day of logs onto other days.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use origin::{
    config::Config,
    startup::App,
    store::{NewGoal, NewSite, Store},
};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    ConnectOptions, Connection,
};

use crate::traffic::{site_url, SITES};

/// The super user's token in every bench database (the data is throw-away).
pub const TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// The `/ingest` secret of every bench origin.
pub const SECRET: &str = "bench-ingest-secret-0123456789";

/// Which database a measurement runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// A database made for one measurement, removed on [`FreshDb::drop_db`] (SQLite: with its folder).
pub struct FreshDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl FreshDb {
    /// A new, empty database. `pg_server` is the URL of a server (any database on it) where the
    /// bench may `CREATE DATABASE`.
    pub async fn create(
        backend: Backend,
        pg_server: Option<&str>,
        tag: &str,
    ) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("edgemeter-bench-")
                    .tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
                Ok(Self {
                    url,
                    _dir: Some(dir),
                    pg: None,
                })
            }
            Backend::Postgres => {
                let server = pg_server.context(
                    "no PostgreSQL server: pass --postgres-url or run through scripts/bench, which starts one",
                )?;
                let name = format!("bench_{tag}_{}", std::process::id());
                let mut conn = sqlx::PgConnection::connect(server).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut conn)
                    .await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                let url = with_database(server, &name);
                Ok(Self {
                    url,
                    _dir: None,
                    pg: Some((server.to_owned(), name)),
                })
            }
        }
    }

    /// Removes the database (SQLite files go with the temporary folder when `self` drops).
    pub async fn drop_db(self) -> anyhow::Result<()> {
        if let Some((server, name)) = &self.pg {
            let mut conn = sqlx::PgConnection::connect(server).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }
}

/// `postgres://u@h:p/db?x` with `db` replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Migrates and adds the sites 1..=SITES (UTC), the super user `bench` with [`TOKEN`], and two
/// goals per site: 1 manual (the `idgoal=1` requests), 2 "URL contains /pricing/".
pub async fn prepare(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    for idsite in 1..=SITES as u32 {
        store
            .add_site(&NewSite {
                name: format!("Site {idsite}"),
                urls: vec![site_url(idsite)],
                ts_created: Some("2020-01-01 00:00:00".to_owned()),
                sitesearch: true,
                creator_login: "bench".to_owned(),
                ..NewSite::default()
            })
            .await?;
        for (name, attribute, pattern) in
            [("Signup", "manually", ""), ("Pricing", "url", "/pricing/")]
        {
            store
                .add_goal(&NewGoal {
                    idsite: i64::from(idsite),
                    name: name.to_owned(),
                    match_attribute: attribute.to_owned(),
                    pattern: pattern.to_owned(),
                    pattern_type: "contains".to_owned(),
                    revenue: 5.0,
                    ..NewGoal::default()
                })
                .await?;
        }
    }
    let hash = origin::auth::hash_password("bench-password")?;
    store.add_user("bench", &hash, true).await?;
    store
        .add_token("bench", &origin::auth::token_digest(TOKEN), "bench")
        .await?;
    Ok(store)
}

/// An origin serving `store` on 127.0.0.1:0, in this process; stop it with [`Running::stop`].
pub struct Running {
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub async fn start(store: Store, url: &str) -> anyhow::Result<Self> {
        let mut config = Config {
            listen: ([127, 0, 0, 1], 0).into(),
            database_url: url.to_owned(),
            ingest_secret: Some(SECRET.to_owned()),
            ingest_window_secs: 3_600,
            fingerprint_key: Some("bench-fingerprint-key".to_owned()),
            max_body_bytes: 16 * 1024 * 1024,
            ..Config::default()
        };
        // Reports read what the bench archived; nothing archives behind its back.
        config.archiving.scheduler = false;
        config.archiving.browser_trigger = false;
        let app = App::with_store(config, store).await?;
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Ok(Self { base, stop, task })
    }

    /// Stops serving and waits until the writer has committed everything queued.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("the origin task panicked")?
    }
}

/// A plain connection with the origin's SQLite settings (WAL, synchronous=FULL), for the
/// ceiling and the scan baseline.
pub async fn sqlite_conn(url: &str) -> anyhow::Result<sqlx::SqliteConnection> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await?)
}

/// Copies the logs (one day of traffic) onto the `copies` following days (each
/// copy shifted by whole days, visit ids by a multiple of the largest one), so a month of
/// realistic traffic costs one day of ingestion. SQLite only.
pub async fn replicate_day(url: &str, copies: i64) -> anyhow::Result<()> {
    let mut conn = sqlite_conn(url).await?;
    let max_visit: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(idvisit), 0) FROM log_visit")
        .fetch_one(&mut conn)
        .await?;
    let tables = ["log_visit", "log_link_visit_action", "log_conversion"];
    let mut statements = Vec::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(&mut conn)
                .await?;
        let mut insert_cols = Vec::new();
        let mut select_cols = Vec::new();
        for column in columns {
            match column.as_str() {
                "idlink_va" if table == "log_link_visit_action" => continue,
                "idvisit" => select_cols.push("idvisit + ?1".to_owned()),
                "visit_first_action_time" | "visit_last_action_time" | "server_time" => {
                    select_cols.push(format!("{column} + ?2"));
                }
                // Conversions point at an action of the source day; the copies need no link.
                "idlink_va" => select_cols.push("NULL".to_owned()),
                _ => select_cols.push(column.clone()),
            }
            insert_cols.push(format!("\"{column}\""));
        }
        statements.push(format!(
            "INSERT INTO {table} ({}) SELECT {} FROM {table} WHERE idvisit <= ?3",
            insert_cols.join(", "),
            select_cols.join(", ")
        ));
    }
    for k in 1..=copies {
        let mut tx = conn.begin().await?;
        for sql in &statements {
            sqlx::query(sql)
                .bind(k * max_visit)
                .bind(k * 86_400)
                .bind(max_visit)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("copying the day: {sql}"))?;
        }
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_of_a_postgres_url_is_replaced() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5432/postgres", "bench_x"),
            "postgres://u@127.0.0.1:5432/bench_x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "b"),
            "postgres://u@h/b?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "b"), "postgres://u@h/b");
    }
}
