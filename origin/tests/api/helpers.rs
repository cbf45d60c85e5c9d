//! `spawn_app` and the typed helpers the tests use.

use std::{future::Future, net::SocketAddr};

use origin::{config::Config, startup::App, store::Store};
use sqlx::{Connection, Executor};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test scenario on both backends, as two test functions per scenario.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Postgres).await })*
        }
    };
}

/// A running origin with a fresh database, a site, a super user and their token.
pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(crate) database_url: String,
    /// The configuration it started with, for [`TestApp::second_origin`].
    config_for_more: Config,
    pub(crate) store: Store,
    pub(crate) client: reqwest::Client,
    pub(crate) idsite: i64,
    pub(crate) token: String,
    pub(crate) ingest_secret: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// A fresh, empty database URL for the backend.
pub(crate) async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("edgemeter.sqlite").display()),
        Backend::Postgres => {
            let admin = std::env::var("EDGEMETER_TEST_POSTGRES_URL").expect(
                "EDGEMETER_TEST_POSTGRES_URL is not set: run scripts/test-rust (it starts PostgreSQL) \
                 or point it at a server where the user may create databases",
            );
            let name = format!("edgemeter_test_{}", hex::encode(rand::random::<[u8; 8]>()));
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("cannot connect to EDGEMETER_TEST_POSTGRES_URL");
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("cannot create a test database");
            let (base, _) = admin
                .rsplit_once('/')
                .expect("a postgres URL has a database path");
            format!("{base}/{name}")
        }
    }
}

/// Starts the origin on 127.0.0.1:0 with `configure` applied to the default test configuration.
pub(crate) async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(backend, dir.path()).await;
    let ingest_secret = "test-ingest-secret-0123456789".to_owned();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: database_url.clone(),
        ingest_secret: Some(ingest_secret.clone()),
        fingerprint_key: Some("test-fingerprint-key".to_owned()),
        ..Config::default()
    };
    configure(&mut config);
    let config_copy = config.clone();
    let store = Store::connect(&database_url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let idsite = store
        .add_site(&origin::store::NewSite {
            name: "Example".to_owned(),
            urls: vec!["https://example.com".to_owned()],
            sitesearch: true,
            ..Default::default()
        })
        .await
        .expect("site");
    store
        .add_user(
            "admin",
            &origin::auth::hash_password("secret").expect("hash"),
            true,
        )
        .await
        .expect("user");
    let token = origin::auth::new_token();
    store
        .add_token("admin", &origin::auth::token_digest(&token), "tests")
        .await
        .expect("token");
    let (addr, stop, server) = start(config, store.clone()).await;
    TestApp {
        addr,
        database_url,
        config_for_more: config_copy,
        store,
        client: reqwest::Client::new(),
        idsite,
        token,
        ingest_secret,
        stop: Some(stop),
        server: Some(server),
        _dir: dir,
    }
}

type Server = (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

async fn start(config: Config, store: Store) -> Server {
    let app = App::with_store(config, store).await.expect("build app");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GET /matomo.php?QUERY.
    pub(crate) async fn track_get(&self, query: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/matomo.php?{query}")))
            .send()
            .await
            .expect("request")
    }

    /// POST /matomo.php with a body.
    pub(crate) async fn track_post(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url("/matomo.php"))
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// A count from SQL (`SELECT COUNT(*) ...`) on the app's database.
    pub(crate) async fn count(&self, sql: &str) -> i64 {
        self.scalar(sql).await
    }

    /// One integer from SQL on the app's database.
    pub(crate) async fn scalar(&self, sql: &str) -> i64 {
        on_connection(&self.database_url, sql).await
    }

    /// One text value from SQL on the app's database.
    pub(crate) async fn text(&self, sql: &str) -> String {
        if self.database_url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                .await
                .expect("sqlite");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect(sql)
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.database_url)
                .await
                .expect("postgres");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect(sql)
        }
    }

    /// A second origin on the same database, as several origin processes share one PostgreSQL
    /// (each with its own writer, store and caches); same site and token.
    pub(crate) async fn second_origin(&self) -> TestApp {
        let store = Store::connect(&self.database_url).await.expect("connect");
        let (addr, stop, server) = start(self.config_for_more.clone(), store.clone()).await;
        TestApp {
            addr,
            database_url: self.database_url.clone(),
            config_for_more: self.config_for_more.clone(),
            store,
            client: reqwest::Client::new(),
            idsite: self.idsite,
            token: self.token.clone(),
            ingest_secret: self.ingest_secret.clone(),
            stop: Some(stop),
            server: Some(server),
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Stops the server and waits for it (the writer drains, the database closes).
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }
}

/// One integer from SQL on the database at `url`.
pub(crate) async fn on_connection(url: &str, sql: &str) -> i64 {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .expect(sql)
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .expect(sql)
    }
}

/// Awaits a future with a generous timeout, so a hung server fails the test instead of CI.
pub(crate) async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(30), future)
        .await
        .expect("timed out")
}
