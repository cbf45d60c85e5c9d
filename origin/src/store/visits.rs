//! The log tables written by the tracker: visits, actions, the action dictionary, conversions,
//! the request ids of edge batches and the days to re-archive.
//!
//! Every function takes the caller's transaction: the tracker's writer decides the boundaries
//! (one transaction per group of requests, committed before any of them is acknowledged). Rows
//! are written many at a time (multi-row statements, see [`upsert_visits`] and
//! [`insert_actions`]): the writer keeps a group's rows in memory and writes them at its end,
//! because one statement per row costs a round trip to the database each (sqlx's SQLite worker
//! thread or PostgreSQL's socket), which capped ingest at about 2,500 requests/s.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use sqlx::{query_builder::Separated, Postgres, QueryBuilder, Sqlite};

use super::{on_db, Result, Tx};

/// Matomo's `log_action.type` values (core/Tracker/Action.php).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum ActionType {
    PageUrl = 1,
    Outlink = 2,
    Download = 3,
    PageTitle = 4,
    SiteSearch = 8,
    EventCategory = 10,
    EventAction = 11,
    EventName = 12,
    ContentName = 13,
    ContentPiece = 14,
    ContentTarget = 15,
    ContentInteraction = 16,
}

/// `log_action.hash`: the first 8 bytes of SHA-256 of the name (see migrations/README.md).
pub fn action_hash(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Binds a row's columns, in [`LogRow::COLUMNS`] order, to one row of a multi-row statement.
pub trait BindRow<'a, DB: sqlx::Database> {
    fn bind_to(&'a self, row: &mut Separated<'_, 'a, DB, &'static str>);
}

/// A row of a log table written many at a time.
pub trait LogRow: for<'a> BindRow<'a, Sqlite> + for<'a> BindRow<'a, Postgres> {
    /// Its columns, in the order [`BindRow::bind_to`] binds them.
    const COLUMNS: &'static [&'static str];
}

/// Declares a struct whose fields are its table's columns (names and order) and implements
/// [`LogRow`] for it: the column list of a statement and its binds come from one list, so they
/// cannot drift apart.
macro_rules! log_row {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $name { $($(#[$fmeta])* pub $field: $ty,)* }

        impl LogRow for $name {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        log_row!(@bind $name Sqlite $($field)*);
        log_row!(@bind $name Postgres $($field)*);
    };
    (@bind $name:ident $db:ident $($field:ident)*) => {
        impl<'a> BindRow<'a, $db> for $name {
            fn bind_to(&'a self, row: &mut Separated<'_, 'a, $db, &'static str>) {
                $(row.push_bind(&self.$field);)*
            }
        }
    };
}

log_row! {
    /// A whole `log_visit` row (Matomo's columns, spec/MATOMO.md 2.7): what the tracker reads
    /// when a request arrives and writes back at the end of its group.
    #[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
    pub struct Visit {
        pub idvisit: i64,
        pub idsite: i64,
        pub idvisitor: Vec<u8>,
        pub config_id: Vec<u8>,
        pub location_ip: Option<Vec<u8>>,
        pub user_id: Option<String>,
        pub visit_first_action_time: i64,
        pub visit_last_action_time: i64,
        pub visit_goal_buyer: i64,
        pub visit_goal_converted: i64,
        pub visitor_returning: i64,
        pub visitor_count_visits: i64,
        pub visitor_seconds_since_first: Option<i64>,
        pub visitor_seconds_since_order: Option<i64>,
        pub visitor_seconds_since_last: Option<i64>,
        pub visit_entry_idaction_name: Option<i64>,
        pub visit_entry_idaction_url: Option<i64>,
        pub visit_exit_idaction_name: Option<i64>,
        pub visit_exit_idaction_url: Option<i64>,
        pub visit_total_actions: i64,
        pub visit_total_interactions: i64,
        pub visit_total_searches: i64,
        pub visit_total_events: i64,
        pub visit_total_time: i64,
        pub visitor_localtime: Option<String>,
        pub referer_type: Option<i64>,
        pub referer_name: Option<String>,
        pub referer_keyword: Option<String>,
        pub referer_url: Option<String>,
        pub config_os: Option<String>,
        pub config_os_version: Option<String>,
        pub config_browser_name: Option<String>,
        pub config_browser_version: Option<String>,
        pub config_browser_engine: Option<String>,
        pub config_client_type: Option<i64>,
        pub config_device_type: Option<i64>,
        pub config_device_brand: Option<String>,
        pub config_device_model: Option<String>,
        pub config_resolution: Option<String>,
        pub config_cookie: i64,
        pub config_flash: i64,
        pub config_java: i64,
        pub config_pdf: i64,
        pub config_quicktime: i64,
        pub config_realplayer: i64,
        pub config_silverlight: i64,
        pub config_windowsmedia: i64,
        pub location_browser_lang: Option<String>,
        pub location_country: Option<String>,
        pub location_region: Option<String>,
        pub location_city: Option<String>,
        pub location_latitude: Option<f64>,
        pub location_longitude: Option<f64>,
        pub profilable: i64,
        pub campaign_name: Option<String>,
        pub campaign_keyword: Option<String>,
        pub custom_dimension_1: Option<String>,
        pub custom_dimension_2: Option<String>,
        pub custom_dimension_3: Option<String>,
        pub custom_dimension_4: Option<String>,
        pub custom_dimension_5: Option<String>,
        /// The visit's latest action by (server_time, idlink_va), whose time spent the next
        /// action sets; NULL in rows written before it was kept (then [`last_action`] finds it).
        pub last_idlink_va: Option<i64>,
        pub last_idlink_va_time: Option<i64>,
    }
}

/// `set_custom_dimensions` for the rows with Matomo's five `custom_dimension_N` columns.
macro_rules! custom_dimension_columns {
    ($($row:ident),*) => {$(
        impl $row {
            /// Sets the custom dimension columns `custom_dimension_1..5` of this row's scope.
            pub fn set_custom_dimensions(&mut self, [d1, d2, d3, d4, d5]: [Option<String>; 5]) {
                self.custom_dimension_1 = d1;
                self.custom_dimension_2 = d2;
                self.custom_dimension_3 = d3;
                self.custom_dimension_4 = d4;
                self.custom_dimension_5 = d5;
            }
        }
    )*};
}

custom_dimension_columns!(Visit, NewAction);

impl Visit {
    /// Applies what an action of this visit changes. The last action time never moves
    /// backwards, the entry URL is only set while the visit has none, and custom dimensions and
    /// the user id keep their old value unless the request sets one.
    pub fn apply(&mut self, u: &VisitUpdate) {
        self.idvisitor.clone_from(&u.idvisitor);
        if u.user_id.is_some() {
            self.user_id.clone_from(&u.user_id);
        }
        self.visit_last_action_time = self.visit_last_action_time.max(u.visit_last_action_time);
        self.visit_total_time = u.visit_total_time;
        self.visit_total_actions += u.add_actions;
        self.visit_total_interactions += u.add_interactions;
        self.visit_total_searches += u.add_searches;
        self.visit_total_events += u.add_events;
        if self.visit_entry_idaction_url.is_none() {
            self.visit_entry_idaction_url = u.entry_idaction_url;
        }
        if let Some((url, name)) = u.exit {
            self.visit_exit_idaction_url = url;
            self.visit_exit_idaction_name = name;
        }
        if let Some(r) = &u.referrer {
            self.referer_type = Some(r.kind);
            self.referer_name.clone_from(&r.name);
            self.referer_keyword.clone_from(&r.keyword);
            self.referer_url.clone_from(&r.url);
        }
        let columns = [
            &mut self.custom_dimension_1,
            &mut self.custom_dimension_2,
            &mut self.custom_dimension_3,
            &mut self.custom_dimension_4,
            &mut self.custom_dimension_5,
        ];
        for (column, value) in columns.into_iter().zip(&u.custom_dimensions) {
            if value.is_some() {
                column.clone_from(value);
            }
        }
        if let Some((id, at)) = u.last_action {
            self.last_idlink_va = Some(id);
            self.last_idlink_va_time = Some(at);
        }
    }
}

/// What an action of an existing visit changes on the visit row (see [`Visit::apply`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisitUpdate {
    pub idvisitor: Vec<u8>,
    pub user_id: Option<String>,
    pub visit_last_action_time: i64,
    pub visit_total_time: i64,
    pub add_actions: i64,
    pub add_interactions: i64,
    pub add_searches: i64,
    pub add_events: i64,
    /// The entry URL, taken only while the visit has none (Matomo's `EntryPageUrl::onExistingVisit`;
    /// the entry title is set when the visit starts and never after, `EntryPageTitle`).
    pub entry_idaction_url: Option<i64>,
    /// The new exit page (URL, title), when the action moves it.
    pub exit: Option<(Option<i64>, Option<i64>)>,
    /// A new referrer, when the request's referrer replaces a direct entry.
    pub referrer: Option<StoredReferrer>,
    pub custom_dimensions: [Option<String>; 5],
    /// The visit's new latest action (idlink_va, server_time), when this request recorded one.
    pub last_action: Option<(i64, i64)>,
}

/// The referrer columns of a visit (`referer_type`, `referer_name`, `referer_keyword`, `referer_url`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredReferrer {
    pub kind: i64,
    pub name: Option<String>,
    pub keyword: Option<String>,
    pub url: Option<String>,
}

log_row! {
    /// One row of `log_link_visit_action`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct NewAction {
        pub idlink_va: i64,
        pub idsite: i64,
        pub idvisitor: Vec<u8>,
        pub idvisit: i64,
        pub server_time: i64,
        pub idaction_url: Option<i64>,
        pub idaction_name: Option<i64>,
        pub idaction_url_ref: Option<i64>,
        pub idaction_name_ref: Option<i64>,
        pub idpageview: Option<String>,
        pub pageview_position: Option<i64>,
        pub time_spent_ref_action: Option<i64>,
        /// Set when the visit's next action arrives.
        pub time_spent: Option<i64>,
        pub search_cat: Option<String>,
        pub search_count: Option<i64>,
        pub custom_float: Option<f64>,
        pub idaction_event_category: Option<i64>,
        pub idaction_event_action: Option<i64>,
        pub idaction_content_name: Option<i64>,
        pub idaction_content_piece: Option<i64>,
        pub idaction_content_target: Option<i64>,
        pub idaction_content_interaction: Option<i64>,
        pub time_network: Option<i64>,
        pub time_server: Option<i64>,
        pub time_transfer: Option<i64>,
        pub time_dom_processing: Option<i64>,
        pub time_dom_completion: Option<i64>,
        pub time_on_load: Option<i64>,
        pub custom_dimension_1: Option<String>,
        pub custom_dimension_2: Option<String>,
        pub custom_dimension_3: Option<String>,
        pub custom_dimension_4: Option<String>,
        pub custom_dimension_5: Option<String>,
    }
}

/// The last action of a visit: the one whose `time_spent` the next action sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct LastAction {
    pub idlink_va: i64,
    pub server_time: i64,
}

log_row! {
    /// One row of `log_conversion`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct NewConversion {
        pub idvisit: i64,
        pub idsite: i64,
        pub idvisitor: Vec<u8>,
        pub server_time: i64,
        pub idaction_url: Option<i64>,
        pub idlink_va: Option<i64>,
        pub idgoal: i64,
        pub buster: i64,
        pub url: String,
        pub revenue: Option<f64>,
        pub visitor_returning: i64,
        pub visitor_count_visits: i64,
        pub referer_type: Option<i64>,
        pub referer_name: Option<String>,
        pub referer_keyword: Option<String>,
        pub pageviews_before: i64,
    }
}

/// Bound parameters per statement at most: SQLite allows 32,766 and PostgreSQL 65,535.
const MAX_PARAMS: usize = 30_000;

/// Rows per multi-row statement. Only these sizes are used, so the few distinct statements stay
/// prepared in the connection's cache; preparing a new text for every group's row count cost
/// more than a few extra statements.
const CHUNK_SIZES: [usize; 5] = [256, 64, 16, 4, 1];

/// Splits `rows` into chunks of [`CHUNK_SIZES`] (largest first) with at most `max_params`
/// parameters of `columns` each.
fn chunks<T>(rows: &[T], columns: usize) -> impl Iterator<Item = &[T]> {
    let max_rows = (MAX_PARAMS / columns).max(1);
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = CHUNK_SIZES
            .into_iter()
            .find(|size| *size <= rest.len() && *size <= max_rows)
            .unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

/// `INSERT INTO table (columns) VALUES (...), (...) suffix`, in as few statements as the
/// parameter limit allows.
async fn insert_rows<R: LogRow>(tx: &mut Tx, table: &str, rows: &[R], suffix: &str) -> Result<()> {
    let head = format!("INSERT INTO {table} ({}) ", R::COLUMNS.join(", "));
    for chunk in chunks(rows, R::COLUMNS.len()) {
        on_db!(tx, tx => {
            let mut query = QueryBuilder::new(&head);
            query.push_values(chunk, |mut row, value| value.bind_to(&mut row));
            query.push(suffix);
            query.build().execute(&mut **tx).await?;
        });
    }
    Ok(())
}

/// Writes visits, new ones and changed ones alike, as whole rows (an upsert on `idvisit`).
pub async fn upsert_visits(tx: &mut Tx, visits: &[Visit]) -> Result<()> {
    let updates = Visit::COLUMNS
        .iter()
        .filter(|column| **column != "idvisit")
        .map(|column| format!("{column} = excluded.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let suffix = format!(" ON CONFLICT (idvisit) DO UPDATE SET {updates}");
    insert_rows(tx, "log_visit", visits, &suffix).await
}

/// Inserts actions (their ids are chosen by the writer, see [`next_ids`]).
pub async fn insert_actions(tx: &mut Tx, actions: &[NewAction]) -> Result<()> {
    insert_rows(tx, "log_link_visit_action", actions, "").await
}

/// Inserts conversions; a duplicate (same visit, goal and buster) is ignored.
pub async fn insert_conversions(tx: &mut Tx, conversions: &[NewConversion]) -> Result<()> {
    insert_rows(tx, "log_conversion", conversions, " ON CONFLICT DO NOTHING").await
}

/// Sets the time spent on actions written by earlier groups, `(idlink_va, seconds)`.
pub async fn set_times_spent(tx: &mut Tx, times: &[(i64, i64)]) -> Result<()> {
    for chunk in chunks(times, 2) {
        on_db!(tx, tx => {
            // `VALUES` names its columns column1, column2 on both backends.
            let mut query = QueryBuilder::new(
                "UPDATE log_link_visit_action SET time_spent = v.column2 FROM (",
            );
            query.push_values(chunk, |mut row, (id, seconds)| {
                row.push_bind(*id).push_bind(*seconds);
            });
            query.push(") AS v WHERE log_link_visit_action.idlink_va = v.column1");
            query.build().execute(&mut **tx).await?;
        });
    }
    Ok(())
}
/// Looks up the id of an action name, inserting it when new.
pub async fn action_id(
    tx: &mut Tx,
    kind: ActionType,
    name: &str,
    url_prefix: Option<i64>,
) -> Result<i64> {
    let hash = action_hash(name);
    Ok(on_db!(tx, tx => {
        sqlx::query(
            "INSERT INTO log_action (name, hash, type, url_prefix) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (type, hash) DO NOTHING",
        )
        .bind(name)
        .bind(hash)
        .bind(kind as i64)
        .bind(url_prefix)
        .execute(&mut **tx)
        .await?;
        sqlx::query_scalar("SELECT idaction FROM log_action WHERE type = $1 AND hash = $2")
            .bind(kind as i64)
            .bind(hash)
            .fetch_one(&mut **tx)
            .await?
    }))
}

/// The ids of many dictionary names, inserting those that are new, in a few statements;
/// returns `(type, hash, idaction)` for each distinct (type, hash).
pub async fn action_ids(
    tx: &mut Tx,
    names: &[(ActionType, String, Option<i64>)],
) -> Result<Vec<(ActionType, i64, i64)>> {
    let mut wanted: HashMap<(i64, i64), (ActionType, &str, Option<i64>)> = HashMap::new();
    for (kind, name, prefix) in names {
        wanted
            .entry((*kind as i64, action_hash(name)))
            .or_insert((*kind, name, *prefix));
    }
    let keys: Vec<(i64, i64)> = wanted.keys().copied().collect();
    let mut found: Vec<(i64, i64, i64)> = Vec::with_capacity(keys.len());
    for chunk in chunks(&keys, 2) {
        let rows: Vec<(i64, i64, i64)> = on_db!(tx, tx => {
            let mut query = QueryBuilder::new(
                "SELECT type, hash, idaction FROM log_action WHERE (type, hash) IN (",
            );
            query.push_values(chunk, |mut row, (kind, hash)| {
                row.push_bind(*kind).push_bind(*hash);
            });
            query.push(")");
            query.build_query_as().fetch_all(&mut **tx).await?
        });
        found.extend(rows);
    }
    for (kind, hash, _) in &found {
        wanted.remove(&(*kind, *hash));
    }
    let new: Vec<(i64, i64, &str, Option<i64>)> = wanted
        .iter()
        .map(|((kind, hash), (_, name, prefix))| (*kind, *hash, *name, *prefix))
        .collect();
    for chunk in chunks(&new, 4) {
        let rows: Vec<(i64, i64, i64)> = on_db!(tx, tx => {
            let mut query = QueryBuilder::new("INSERT INTO log_action (type, hash, name, url_prefix) ");
            query.push_values(chunk, |mut row, (kind, hash, name, prefix)| {
                row.push_bind(*kind).push_bind(*hash).push_bind(*name).push_bind(*prefix);
            });
            query.push(" ON CONFLICT (type, hash) DO NOTHING RETURNING type, hash, idaction");
            query.build_query_as().fetch_all(&mut **tx).await?
        });
        found.extend(rows);
    }
    let kinds: HashMap<i64, ActionType> = names.iter().map(|(k, _, _)| (*k as i64, *k)).collect();
    Ok(found
        .into_iter()
        .filter_map(|(kind, hash, id)| Some((*kinds.get(&kind)?, hash, id)))
        .collect())
}

/// Which column a visit lookup matches: the visitor id, or the fingerprint (`config_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VisitKey {
    Visitor,
    Config,
}

impl VisitKey {
    fn column(self) -> &'static str {
        match self {
            Self::Visitor => "idvisitor",
            Self::Config => "config_id",
        }
    }

    /// The visit's value of this column.
    pub fn of(self, visit: &Visit) -> &[u8] {
        match self {
            Self::Visitor => &visit.idvisitor,
            Self::Config => &visit.config_id,
        }
    }
}

/// The most recent visit (by last action time, then id) of a visitor or fingerprint: with
/// `window`, the latest whose last action is in `[from, until]`; with `user_id`, only visits of
/// no user or of that user (Matomo's rule for a user id login).
pub async fn latest_visit(
    tx: &mut Tx,
    idsite: i64,
    key: VisitKey,
    value: &[u8],
    window: Option<(i64, i64)>,
    user_id: Option<&str>,
) -> Result<Option<Visit>> {
    let mut sql = format!(
        "SELECT {} FROM log_visit WHERE idsite = $1 AND {} = $2",
        Visit::COLUMNS.join(", "),
        key.column()
    );
    let mut next = 3;
    if window.is_some() {
        sql.push_str(" AND visit_last_action_time >= $3 AND visit_last_action_time <= $4");
        next = 5;
    }
    if user_id.is_some() {
        sql.push_str(&format!(" AND (user_id IS NULL OR user_id = ${next})"));
    }
    sql.push_str(" ORDER BY visit_last_action_time DESC, idvisit DESC LIMIT 1");
    Ok(on_db!(tx, tx => {
        let mut query = sqlx::query_as(&sql).bind(idsite).bind(value);
        if let Some((from, until)) = window {
            query = query.bind(from).bind(until);
        }
        if let Some(user_id) = user_id {
            query = query.bind(user_id);
        }
        query.fetch_optional(&mut **tx).await?
    }))
}

/// The most recent visit (by last action time, then id) of each of many visitors or
/// fingerprints, in one statement per chunk of keys; keys without a visit have no row.
pub async fn latest_visits(
    tx: &mut Tx,
    key: VisitKey,
    keys: &[(i64, Vec<u8>)],
) -> Result<Vec<Visit>> {
    let column = key.column();
    let head = format!(
        "SELECT {} FROM log_visit WHERE idvisit IN (SELECT (SELECT l.idvisit FROM log_visit l \
         WHERE l.idsite = k.column1 AND l.{column} = k.column2 \
         ORDER BY l.visit_last_action_time DESC, l.idvisit DESC LIMIT 1) FROM (",
        Visit::COLUMNS.join(", ")
    );
    let mut visits = Vec::new();
    for chunk in chunks(keys, 2) {
        let rows: Vec<Visit> = on_db!(tx, tx => {
            let mut query = QueryBuilder::new(&head);
            query.push_values(chunk, |mut row, (idsite, key)| {
                row.push_bind(*idsite).push_bind(key);
            });
            query.push(") AS k)");
            query.build_query_as().fetch_all(&mut **tx).await?
        });
        visits.extend(rows);
    }
    Ok(visits)
}

/// The latest action of a visit, by time (for rows that do not keep it, see [`Visit`]).
pub async fn last_action(tx: &mut Tx, idvisit: i64) -> Result<Option<LastAction>> {
    Ok(on_db!(tx, tx => {
        sqlx::query_as(
            "SELECT idlink_va, server_time FROM log_link_visit_action \
             WHERE idvisit = $1 ORDER BY server_time DESC, idlink_va DESC LIMIT 1",
        )
        .bind(idvisit)
        .fetch_optional(&mut **tx)
        .await?
    }))
}

/// Whether the visit already converted this goal (for goals that allow one conversion per visit).
pub async fn has_conversion(tx: &mut Tx, idvisit: i64, idgoal: i64) -> Result<bool> {
    let count: i64 = on_db!(tx, tx => {
        sqlx::query_scalar("SELECT COUNT(*) FROM log_conversion WHERE idvisit = $1 AND idgoal = $2")
            .bind(idvisit)
            .bind(idgoal)
            .fetch_one(&mut **tx)
            .await?
    });
    Ok(count > 0)
}

/// Records edge request ids; returns those that were new (the others belong to a retried batch
/// and are already stored).
pub async fn claim_request_ids(tx: &mut Tx, ids: &[([u8; 16], i64)]) -> Result<HashSet<[u8; 16]>> {
    let mut claimed = HashSet::with_capacity(ids.len());
    for chunk in chunks(ids, 2) {
        let rows: Vec<Vec<u8>> = on_db!(tx, tx => {
            let mut query = QueryBuilder::new("INSERT INTO ingested_request (request_id, received_at) ");
            query.push_values(chunk, |mut row, (id, at)| {
                row.push_bind(id.to_vec()).push_bind(*at);
            });
            query.push(" ON CONFLICT DO NOTHING RETURNING request_id");
            query.build_query_scalar().fetch_all(&mut **tx).await?
        });
        claimed.extend(
            rows.iter()
                .filter_map(|id| <[u8; 16]>::try_from(id.as_slice()).ok()),
        );
    }
    Ok(claimed)
}

/// Marks past days of sites for re-archiving (Matomo's `report_to_invalidate_*`, spec 5.4).
pub async fn invalidate_days(tx: &mut Tx, days: &[(i64, String)], now: i64) -> Result<()> {
    for chunk in chunks(days, 3) {
        on_db!(tx, tx => {
            let mut query =
                QueryBuilder::new("INSERT INTO archive_invalidation (idsite, date, ts_invalidated) ");
            query.push_values(chunk, |mut row, (idsite, date)| {
                row.push_bind(*idsite).push_bind(date).push_bind(now);
            });
            query.push(
                " ON CONFLICT (idsite, date) DO UPDATE SET ts_invalidated = excluded.ts_invalidated",
            );
            query.build().execute(&mut **tx).await?;
        });
    }
    Ok(())
}

/// Starts a writer's group: takes the tracker's write lock (the row lock of `tracker_writer`,
/// held until the transaction ends, so writers of several origin processes take turns) and
/// returns the new generation. A generation other than the previous one plus one means another
/// writer committed in between, and what the writer remembers of the log tables is stale.
pub async fn next_generation(tx: &mut Tx) -> Result<i64> {
    Ok(on_db!(tx, tx => {
        sqlx::query_scalar(
            "UPDATE tracker_writer SET generation = generation + 1 WHERE id = 1 RETURNING generation",
        )
        .fetch_one(&mut **tx)
        .await?
    }))
}

/// The highest `idvisit` and `idlink_va` stored: the writer numbers its new rows after them
/// (under the lock of [`next_generation`], so no other writer numbers rows meanwhile).
pub async fn max_ids(tx: &mut Tx) -> Result<(i64, i64)> {
    Ok(on_db!(tx, tx => {
        sqlx::query_as(
            "SELECT (SELECT COALESCE(MAX(idvisit), 0) FROM log_visit), \
             (SELECT COALESCE(MAX(idlink_va), 0) FROM log_link_visit_action)",
        )
        .fetch_one(&mut **tx)
        .await?
    }))
}

/// After rows were numbered by the writer, moves PostgreSQL's identity sequences past them so
/// an insert that takes the default id cannot collide (SQLite's AUTOINCREMENT follows explicit
/// ids by itself).
pub async fn sync_id_sequences(tx: &mut Tx, max_idvisit: i64, max_idlink_va: i64) -> Result<()> {
    if let super::Db::Postgres(tx) = tx {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('log_visit', 'idvisit'), \
             GREATEST($1, nextval(pg_get_serial_sequence('log_visit', 'idvisit')))), \
             setval(pg_get_serial_sequence('log_link_visit_action', 'idlink_va'), \
             GREATEST($2, nextval(pg_get_serial_sequence('log_link_visit_action', 'idlink_va'))))",
        )
        .bind(max_idvisit)
        .bind(max_idlink_va)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_written_in_chunks_of_a_few_fixed_sizes() {
        let rows: Vec<u32> = (0..345).collect();
        let sizes: Vec<usize> = chunks(&rows, 2).map(<[u32]>::len).collect();
        assert_eq!(sizes, [256, 64, 16, 4, 4, 1]);
        let all: Vec<u32> = chunks(&rows, 2).flatten().copied().collect();
        assert_eq!(all, rows);
    }

    #[test]
    fn chunks_respect_the_parameter_limit() {
        let rows = vec![0u8; 300];
        // 200 columns: at most 150 rows per statement, so 64-row chunks.
        assert!(chunks(&rows, 200).all(|chunk| chunk.len() <= 64));
        assert_eq!(chunks(&rows, 200).map(<[u8]>::len).sum::<usize>(), 300);
    }

    /// Every column of the tables is a field: a column missing from the struct would be lost
    /// when the writer upserts whole rows.
    #[tokio::test]
    async fn the_row_structs_cover_every_column_of_their_tables() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
        let store = crate::store::Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let super::super::Db::Sqlite(pool) = &store.db else {
            unreachable!("connected to SQLite")
        };
        for (table, columns) in [
            ("log_visit", Visit::COLUMNS),
            ("log_link_visit_action", NewAction::COLUMNS),
        ] {
            let mut stored: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(pool)
                    .await
                    .unwrap();
            let mut ours: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
            stored.sort();
            ours.sort();
            assert_eq!(ours, stored, "{table}");
        }
    }
}
