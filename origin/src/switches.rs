//! Run-time switches every origin process on one database obeys within a few seconds, without a
//! restart: maintenance mode (Matomo's `[General] maintenance_mode`) and recording (Matomo's
//! `[Tracker] record_statistics`). They live in the `option` table (`edgemeter maintenance on|off`,
//! `edgemeter recording on|off` set them); each process re-reads them at most every
//! [`REFRESH`] when a request asks, so an idle process costs no query.
//!
//! While maintenance is on, the Reporting API answers Matomo's maintenance page with 503 and
//! `/ingest` answers 503 so the edge keeps its batches; direct tracking goes on unless recording
//! is off (then Matomo's 503 tracking answer). A switch never set follows the configuration
//! (`tracker.record_statistics`; maintenance off).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use crate::store::{Result, Store};

/// How stale a process's view of the switches may be.
pub const REFRESH: Duration = Duration::from_secs(2);

/// The `option` names of the switches.
const MAINTENANCE: &str = "edgemeter_maintenance_mode";
const RECORDING: &str = "edgemeter_record_statistics";

/// One switch, as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    Maintenance,
    Recording,
}

impl Switch {
    fn option(self) -> &'static str {
        match self {
            Self::Maintenance => MAINTENANCE,
            Self::Recording => RECORDING,
        }
    }
}

/// Stores a switch for every process on the database.
pub async fn set(store: &Store, switch: Switch, on: bool) -> Result<()> {
    store
        .set_option(switch.option(), if on { "1" } else { "0" })
        .await
}

/// This process's view of the switches; cheap to read on every request.
#[derive(Debug)]
pub struct Switches {
    maintenance: AtomicBool,
    recording: AtomicBool,
    /// The configured `record_statistics`, for a database that never set it.
    recording_default: bool,
    /// When the switches were last read; `None` before the first read.
    read_at: Mutex<Option<Instant>>,
}

impl Switches {
    pub fn new(recording_default: bool) -> Self {
        Self {
            maintenance: AtomicBool::new(false),
            recording: AtomicBool::new(recording_default),
            recording_default,
            read_at: Mutex::new(None),
        }
    }

    /// Whether maintenance mode is on, re-read from the database when older than [`REFRESH`].
    pub async fn maintenance(&self, store: &Store) -> bool {
        self.refresh(store).await;
        self.maintenance.load(Ordering::Relaxed)
    }

    /// Whether tracking requests are stored, re-read like [`Switches::maintenance`].
    pub async fn recording(&self, store: &Store) -> bool {
        self.refresh(store).await;
        self.recording.load(Ordering::Relaxed)
    }

    /// Re-reads the switches when stale. One caller reads; the others meanwhile use the values
    /// they have. A failed read keeps the last values (and retries on the next request): an
    /// unavailable database must not flip maintenance off.
    async fn refresh(&self, store: &Store) {
        {
            let mut read_at = self
                .read_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if read_at.is_some_and(|at| at.elapsed() < REFRESH) {
                return;
            }
            // Claimed: other requests see it fresh until this read ends or REFRESH passes.
            *read_at = Some(Instant::now());
        }
        match self.read(store).await {
            Ok((maintenance, recording)) => {
                self.maintenance.store(maintenance, Ordering::Relaxed);
                self.recording.store(recording, Ordering::Relaxed);
            }
            Err(err) => {
                tracing::warn!(error = %err, "reading the maintenance and recording switches failed");
                *self
                    .read_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
            }
        }
    }

    async fn read(&self, store: &Store) -> Result<(bool, bool)> {
        let maintenance = store.option(MAINTENANCE).await?;
        let recording = store.option(RECORDING).await?;
        Ok((
            maintenance.is_some_and(|value| value == "1"),
            recording.map_or(self.recording_default, |value| value == "1"),
        ))
    }
}

/// Matomo's maintenance page (`plugins/Morpheus/templates/maintenance.tpl` with the message of
/// `core/FrontController.php::handleMaintenanceMode`), without its logo, favicon and stylesheet,
/// which this server does not serve.
pub fn maintenance_page(recording: bool) -> String {
    let track_message = if recording {
        "Your analytics data will continue to be tracked as normal."
    } else {
        "While the maintenance mode is active, data tracking is disabled."
    };
    format!(
        "<!DOCTYPE html>
<html>
<head>
\t<meta charset=\"utf-8\">
\t<meta name=\"robots\" content=\"noindex,nofollow\">
\t<title>Matomo is undergoing maintenance</title>
</head>
<body id=\"simple\">

<div class=\"box\">

\t<div class=\"header\">
\t\t<h1>Matomo is undergoing maintenance</h1>
\t</div>

\t<div class=\"content\">
        <p>
            We will be back up and running again soon, so please try again later. {track_message} Thank you for your patience.
        </p>
\t</div>

\t<div class=\"footer\">
\t</div>

</div>

</body>
</html>
"
    )
}
