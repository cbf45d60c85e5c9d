//! The HTTP server loop: accepts connections under a cap and serves each with hyper's HTTP/1,
//! with a header-read timeout and an idle timeout, so connections that never finish their
//! headers (slow-loris) or sit idle cannot use up the process's file descriptors.
//!
//! `axum::serve` has neither timeout nor a cap (it never gives hyper a timer, so hyper's own
//! header timeout is off), hence this loop. Its rules:
//! - **Header read** (`http.header_read_timeout_secs`): hyper's timer, armed whenever the
//!   connection waits for a request head (right after connect, and after each answer on a kept-
//!   alive connection) and stopped when the head is complete; on expiry the connection is closed.
//! - **Idle** (`http.idle_timeout_secs`): a connection on which no byte was read or written for
//!   that long is shut down gracefully: closed at once when no request is in flight, else right
//!   after that request's answer (so a slow report is never cut off).
//! - **Cap** (`http.max_connections`): beyond it a new connection is closed as soon as it is
//!   accepted (so the kernel's backlog never fills), counted, and logged once each time the cap
//!   is reached. Keep it below the descriptor limit (`ulimit -n`), leaving room for the database.
//! - **Shutdown**: the listener closes, every connection finishes its request in flight and
//!   closes, and the loop returns when the last one has.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{extract::ConnectInfo, Router};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tower_http::add_extension::AddExtension;

use crate::{config::HttpConfig, metrics::Metrics};

/// Serves `router` on `listener` until `stop` completes, then drains the open connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpConfig,
    metrics: Arc<Metrics>,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (shutdown, shutting_down) = watch::channel(false);
    let mut at_limit = false;
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, or the peer left before accept: wait a little rather
                    // than spin on an error that repeats at once.
                    tracing::error!(error = %err, "accepting a connection failed; retrying in 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            Metrics::add(&metrics.connections_over_limit_total, 1);
            if !at_limit {
                at_limit = true;
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached: new connections are closed at once until open ones end \
                     (raise http.max_connections, and the descriptor limit with it, if this is legitimate traffic)"
                );
            }
            drop(stream);
            continue;
        };
        if at_limit {
            at_limit = false;
            tracing::info!("below the connection limit again: accepting connections");
        }
        let service =
            TowerToHyperService::new(AddExtension::new(router.clone(), ConnectInfo(peer)));
        tokio::spawn(serve_connection(
            stream,
            peer,
            service,
            limits.clone(),
            Arc::clone(&metrics),
            shutting_down.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = shutdown.send(true);
    // Every connection holds a permit until it ends: all of them back means all are closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

type Service = TowerToHyperService<AddExtension<Router, ConnectInfo<SocketAddr>>>;

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    service: Service,
    limits: HttpConfig,
    metrics: Arc<Metrics>,
    mut shutting_down: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let started = Instant::now();
    let last_activity = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Watched {
        inner: stream,
        started,
        last_activity: Arc::clone(&last_activity),
    });
    let idle = Duration::from_secs(limits.idle_timeout_secs);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs));
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        let idle_deadline =
            started + Duration::from_millis(last_activity.load(Ordering::Relaxed)) + idle;
        tokio::select! {
            result = connection.as_mut() => {
                match result {
                    Ok(()) => {}
                    Err(err) if err.is_timeout() => {
                        Metrics::add(&metrics.header_read_timeouts_total, 1);
                        tracing::debug!(%peer, "connection closed: request headers not complete in time");
                    }
                    Err(err) => tracing::debug!(%peer, error = %err, "connection ended with an error"),
                }
                return;
            }
            _ = shutting_down.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = tokio::time::sleep_until(idle_deadline), if !closing => {
                // Activity since the deadline was computed moves it: look again.
                let idle_for = started.elapsed().saturating_sub(Duration::from_millis(last_activity.load(Ordering::Relaxed)));
                if idle_for >= idle {
                    Metrics::add(&metrics.idle_timeouts_total, 1);
                    tracing::debug!(%peer, "closing an idle connection");
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// A TCP stream that remembers when a byte last went in or out (milliseconds since `started`).
struct Watched {
    inner: TcpStream,
    started: Instant,
    last_activity: Arc<AtomicU64>,
}

impl Watched {
    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_activity.store(now, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
