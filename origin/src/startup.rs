//! Builds the application from its configuration and runs it until a shutdown signal.
//!
//! `App::build` binds the listener (port 0 picks a free port, which tests use) and starts the
//! tracking writer; `run_until_stopped` serves until SIGINT/SIGTERM, then lets the writer finish
//! the queued requests, stops the archiving scheduler (abandoning a running pass) and closes the
//! database.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    config::Config,
    http::{self, AppState},
    metrics::Metrics,
    store::Store,
    tracker::{SiteCache, WriterHandle},
};

/// A bound, ready-to-serve origin.
pub struct App {
    listener: TcpListener,
    state: AppState,
    writer_task: tokio::task::JoinHandle<()>,
    /// The archiving scheduler and the switch that stops it.
    scheduler: Option<(
        tokio::task::JoinHandle<()>,
        tokio::sync::watch::Sender<bool>,
    )>,
}

impl App {
    /// Connects and migrates the database, starts the writer and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        Self::with_store(config, store).await
    }

    /// Like [`App::build`] with an already migrated store.
    pub async fn with_store(config: Config, store: Store) -> anyhow::Result<Self> {
        // Parse the embedded referrer lists and user-agent rules now, off the async threads, so
        // the first tracking request does not wait for them.
        tokio::task::spawn_blocking(crate::enrich::warm_up)
            .await
            .context("loading the referrer and device lists")?;
        let sites = Arc::new(SiteCache::default());
        let fingerprint_key = match &config.fingerprint_key {
            Some(key) => key.as_bytes().to_vec(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        let metrics = Arc::new(Metrics::default());
        let (writer, writer_task) = WriterHandle::spawn(
            store.clone(),
            Arc::clone(&sites),
            config.tracker.clone(),
            fingerprint_key,
            config.ip_anonymisation_bytes,
            Arc::clone(&metrics),
        );
        let scheduler = config.archiving.scheduler.then(|| {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let task = crate::archive::spawn_scheduler(
                store.clone(),
                std::time::Duration::from_secs(config.archiving.scheduler_interval_secs.max(1)),
                crate::archive::Settings::from(&config.archiving),
                stopped,
                {
                    let metrics = Arc::clone(&metrics);
                    move |idsite, at| metrics.archives.succeeded(idsite, at)
                },
            );
            (task, stop)
        });
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let brute_force = Arc::new(crate::brute_force::BruteForce::new(
            config.brute_force.max_failed_logins,
            std::time::Duration::from_secs(config.brute_force.window_secs),
        ));
        let switches = Arc::new(crate::switches::Switches::new(
            config.tracker.record_statistics,
        ));
        let state = AppState {
            config: Arc::new(config),
            store,
            writer,
            sites,
            metrics,
            brute_force,
            switches,
        };
        Ok(Self {
            listener,
            state,
            writer_task,
            scheduler,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.config.listen)
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then drains the writer and closes the database.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            state,
            writer_task,
            scheduler,
        } = self;
        let store = state.store.clone();
        tracing::info!(address = %listener.local_addr()?, backend = store.backend(), "edgemeter origin listening");
        let limits = state.config.http.clone();
        let metrics = Arc::clone(&state.metrics);
        let router = http::router(state);
        http::serve::serve(listener, router, limits, metrics, stop).await;
        // The router (and with it the last writer handle) is gone: the writer ends after the
        // queued jobs.
        writer_task.await.context("the tracking writer crashed")?;
        if let Some((task, stop)) = scheduler {
            let _ = stop.send(true);
            task.await.context("the archiving scheduler crashed")?;
        }
        store.close().await;
        tracing::info!("edgemeter origin stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
