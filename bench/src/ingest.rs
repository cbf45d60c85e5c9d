//! Ingest: tracking requests per second stored with visit building, through `/ingest` (signed
//! batches of 100, as the edge sends them) and `/matomo.php` bulk (100 per body), beside the raw
//! insert rate of the same rows into the same kind of fresh database with no logic (the ceiling).

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};

use anyhow::{bail, Context};
use shared::batch::{self, Batch, EdgeFacts, EdgeRequest, HintHeaders};
use sqlx::{Connection, QueryBuilder};

use crate::{
    db::{self, Backend, FreshDb, Running, SECRET, TOKEN},
    traffic::{self, Hit, LANGUAGES, USER_AGENTS},
};

/// Requests per `/ingest` batch and per bulk body.
pub const BATCH: usize = 100;

/// How the requests reach the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `POST /ingest`, signed `shared::batch` bodies.
    Ingest,
    /// `POST /matomo.php` with a bulk JSON body.
    Bulk,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ingest => "/ingest (signed batches of 100)",
            Self::Bulk => "/matomo.php bulk (100 per body)",
        }
    }
}

/// A request body ready to send.
struct Body {
    bytes: Vec<u8>,
    hits: usize,
}

fn edge_batch(hits: &[Hit], first_index: usize) -> Vec<u8> {
    let items = hits
        .iter()
        .enumerate()
        .map(|(i, hit)| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&((first_index + i) as u64).to_be_bytes());
            id[8..].copy_from_slice(&hit.visitor);
            EdgeRequest {
                id,
                received_at_ms: hit.ts * 1000,
                query: traffic::with_time_and_token(hit, TOKEN),
                facts: EdgeFacts {
                    // The edge forwards the IP already anonymised (2 bytes).
                    ip: Some(IpAddr::V4(Ipv4Addr::new(hit.ip[0], hit.ip[1], 0, 0))),
                    fingerprint: hit.visitor,
                    country: Some(["us", "fr", "de", "es"][hit.lang].to_owned()),
                    region: None,
                    city: None,
                    latitude: None,
                    longitude: None,
                    user_agent: Some(USER_AGENTS[hit.ua].to_owned()),
                    accept_language: Some(LANGUAGES[hit.lang].to_owned()),
                    client_hints: HintHeaders::default(),
                    dnt: false,
                },
            }
        })
        .collect();
    batch::encode(&Batch { items })
}

fn bulk_body(hits: &[Hit]) -> Vec<u8> {
    let requests: Vec<String> = hits
        .iter()
        .map(|h| format!("?{}", traffic::for_bulk(h, TOKEN)))
        .collect();
    serde_json::to_vec(&serde_json::json!({ "requests": requests, "token_auth": TOKEN }))
        .unwrap_or_default()
}

fn bodies(hits: &[Hit], transport: Transport) -> Vec<Body> {
    hits.chunks(BATCH)
        .enumerate()
        .map(|(n, chunk)| Body {
            bytes: match transport {
                Transport::Ingest => edge_batch(chunk, n * BATCH),
                Transport::Bulk => bulk_body(chunk),
            },
            hits: chunk.len(),
        })
        .collect()
}

/// Sends every hit to a running origin with `clients` concurrent connections; returns the
/// requests per second from the first send to the last acknowledgement (each acknowledged only
/// after its commit). Fails when the origin does not report every request as tracked.
pub async fn send(
    base: &str,
    hits: &[Hit],
    transport: Transport,
    clients: usize,
) -> anyhow::Result<f64> {
    let bodies = Arc::new(bodies(hits, transport));
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let url = match transport {
        Transport::Ingest => format!("{base}/ingest"),
        Transport::Bulk => format!("{base}/matomo.php"),
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (bodies, next, client, url) = (
            Arc::clone(&bodies),
            Arc::clone(&next),
            client.clone(),
            url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tracked = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let mut request = client.post(&url).body(body.bytes.clone());
                request = match transport {
                    Transport::Ingest => {
                        let ts = chrono::Utc::now().timestamp();
                        request
                            .header("content-type", "application/octet-stream")
                            .header(batch::TIMESTAMP_HEADER, ts.to_string())
                            .header(
                                batch::SIGNATURE_HEADER,
                                batch::sign(SECRET.as_bytes(), ts, &body.bytes),
                            )
                    }
                    Transport::Bulk => request.header("content-type", "application/json"),
                };
                let response = request.send().await?;
                let status = response.status();
                let text = response.text().await?;
                if !status.is_success() {
                    bail!("{url} answered {status}: {text}");
                }
                let answer: serde_json::Value = serde_json::from_str(&text)
                    .with_context(|| format!("{url} answered {text:?}"))?;
                let n = answer["tracked"].as_u64().unwrap_or(0);
                if n != body.hits as u64 {
                    bail!("{url} tracked {n} of {} requests: {text}", body.hits);
                }
                tracked += n;
            }
            anyhow::Ok(tracked)
        }));
    }
    let mut tracked = 0;
    for task in tasks {
        tracked += task.await??;
    }
    let seconds = start.elapsed().as_secs_f64();
    if tracked != hits.len() as u64 {
        bail!("{tracked} of {} requests tracked", hits.len());
    }
    Ok(hits.len() as f64 / seconds)
}

/// One ingest run on a fresh database: requests per second.
pub async fn run(
    backend: Backend,
    pg: Option<&str>,
    hits: &[Hit],
    transport: Transport,
    clients: usize,
) -> anyhow::Result<f64> {
    let fresh = FreshDb::create(backend, pg, "ingest").await?;
    let store = db::prepare(&fresh.url).await?;
    let origin = Running::start(store, &fresh.url).await?;
    let rate = send(&origin.base, hits, transport, clients).await;
    origin.stop().await?;
    fresh.drop_db().await?;
    rate
}

/// The ceiling: the same hits as rows (one `log_visit` row per visit at its first hit, one
/// `log_link_visit_action` row per hit) in multi-row INSERTs, one transaction per batch of 100,
/// one connection, into a fresh migrated database of the backend. No parsing, no lookups.
pub async fn ceiling(backend: Backend, pg: Option<&str>, hits: &[Hit]) -> anyhow::Result<f64> {
    let fresh = FreshDb::create(backend, pg, "ceiling").await?;
    db::prepare(&fresh.url).await?.close().await;
    let start;
    match backend {
        Backend::Sqlite => {
            let mut conn = db::sqlite_conn(&fresh.url).await?;
            start = Instant::now();
            for chunk in hits.chunks(BATCH) {
                let mut tx = conn.begin().await?;
                if let Some(mut q) = visit_rows::<sqlx::Sqlite>(chunk) {
                    q.build().execute(&mut *tx).await?;
                }
                action_rows::<sqlx::Sqlite>(chunk)
                    .build()
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&fresh.url).await?;
            start = Instant::now();
            for chunk in hits.chunks(BATCH) {
                let mut tx = conn.begin().await?;
                if let Some(mut q) = visit_rows::<sqlx::Postgres>(chunk) {
                    q.build().execute(&mut *tx).await?;
                }
                action_rows::<sqlx::Postgres>(chunk)
                    .build()
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    fresh.drop_db().await?;
    Ok(hits.len() as f64 / seconds)
}

/// A stand-in for an action id: the same URL always maps to the same number.
fn url_id(url: &str) -> i64 {
    url.bytes()
        .fold(1_469_598_103_934_665_603u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211)
        })
        .wrapping_shr(40) as i64
}

fn visit_rows<'a, DB>(chunk: &'a [Hit]) -> Option<QueryBuilder<'a, DB>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Vec<u8>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let first: Vec<&Hit> = chunk.iter().filter(|h| h.first_of_visit).collect();
    if first.is_empty() {
        return None;
    }
    let mut q = QueryBuilder::new(
        "INSERT INTO log_visit (idvisit, idsite, idvisitor, config_id, location_ip, \
         visit_first_action_time, visit_last_action_time, visit_total_actions, \
         visit_entry_idaction_url, visit_exit_idaction_url, referer_type, referer_url, \
         config_browser_name, config_os, config_resolution, location_browser_lang, \
         location_country) ",
    );
    q.push_values(first, |mut row, h| {
        row.push_bind(i64::from(h.visit) + 1)
            .push_bind(i64::from(h.idsite))
            .push_bind(h.visitor.to_vec())
            .push_bind(h.visitor.to_vec())
            .push_bind(vec![h.ip[0], h.ip[1], 0, 0])
            .push_bind(h.ts)
            .push_bind(h.ts)
            .push_bind(1i64)
            .push_bind(url_id(&h.url))
            .push_bind(url_id(&h.url))
            .push_bind(1i64)
            .push_bind("")
            .push_bind(["CH", "FF", "SF", "CM", "PS", "SF"][h.ua])
            .push_bind(["WIN", "LIN", "IOS", "AND", "WIN", "MAC"][h.ua])
            .push_bind("1920x1080")
            .push_bind(LANGUAGES[h.lang])
            .push_bind(["us", "fr", "de", "es"][h.lang]);
    });
    Some(q)
}

fn action_rows<'a, DB>(chunk: &'a [Hit]) -> QueryBuilder<'a, DB>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Vec<u8>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO log_link_visit_action (idsite, idvisitor, idvisit, server_time, idaction_url, \
         idaction_name, idpageview, pageview_position, time_spent_ref_action) ",
    );
    q.push_values(chunk, |mut row, h| {
        row.push_bind(i64::from(h.idsite))
            .push_bind(h.visitor.to_vec())
            .push_bind(i64::from(h.visit) + 1)
            .push_bind(h.ts)
            .push_bind(url_id(&h.url))
            .push_bind(url_id(&h.url) + 1)
            .push_bind("abcdef")
            .push_bind(i64::from(h.position))
            .push_bind(30i64);
    });
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::{generate, Spec};

    #[test]
    fn an_edge_batch_decodes_to_every_hit_with_time_and_token() {
        let hits = generate(Spec {
            requests: 150,
            day_start: 1_712_707_200,
        });
        let body = edge_batch(&hits[..BATCH], 0);
        let decoded = batch::decode(&body).unwrap();
        assert_eq!(decoded.items.len(), BATCH);
        assert_eq!(decoded.items[3].received_at_ms, hits[3].ts * 1000);
        assert!(decoded.items[3].query.contains("token_auth="));
        let ids: std::collections::BTreeSet<_> = decoded.items.iter().map(|i| i.id).collect();
        assert_eq!(ids.len(), BATCH, "request ids are unique");
    }

    #[test]
    fn a_bulk_body_lists_every_hit_with_the_token() {
        let hits = generate(Spec {
            requests: 50,
            day_start: 1_712_707_200,
        });
        let body: serde_json::Value = serde_json::from_slice(&bulk_body(&hits)).unwrap();
        assert_eq!(body["requests"].as_array().unwrap().len(), hits.len());
        assert_eq!(body["token_auth"], TOKEN);
    }

    #[test]
    fn the_same_url_maps_to_the_same_stand_in_id() {
        assert_eq!(url_id("https://a/b"), url_id("https://a/b"));
        assert_ne!(url_id("https://a/b"), url_id("https://a/c"));
    }
}
