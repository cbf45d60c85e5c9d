//! Archives one site-local day from the log tables: VisitsSummary metrics, the Referrers tables
//! and the Actions metrics and tables.
//!
//! Visits belong to the day of their `visit_last_action_time`, actions and conversions to the day
//! of their `server_time` (spec/MATOMO.md 2.4).
//!
//! Design (performance): sums and counts are aggregated in SQL (`GROUP BY`, as Matomo's
//! `LogAggregator` does), so only grouped rows cross the driver; only conversions, which need
//! per-row logic, are read row by row. The queries are portable SQLite + PostgreSQL (integer
//! aggregates are cast to `BIGINT`: PostgreSQL's `SUM(bigint)` is `numeric`). Reading every visit
//! and action into Rust cost 2.25 s per day of 50,000 actions (45 s per 1M, `bench archive
//! --scale 0.05`, SQLite, 24x the grouped scan), most of it in sqlx's per-row hand-over and
//! per-row allocations. Each day's visits and actions are now read once (one statement each over
//! a materialized CTE, all groupings `UNION ALL`ed): 1.7 to 2.1 s per day on the shared 2-core
//! machine (11x to 15x the grouped scan of the same run), the month 56 to 78 s (was 72 s, 25x).
//! A profile then showed a third of the time in sqlx's per-value hand-over (every column value of
//! every row copied on the connection's thread, freed on the caller's, contending on the
//! allocator's locks): grouped rows now carry their counts packed in one text column ([`packed`])
//! and the converting visits' actions come one row per visit, ~700,000 values per day down to
//! ~300,000: the day of `bench archive --scale 0.05` (20 sites), same database, old and new builds
//! alternated 7 times, went from 1.05-1.38 s (median 1.26 s, 1.6 s CPU) to 0.81-1.17 s (median 1.09
//! s, 1.3 s CPU), ~22 s per 1M actions, 13x the grouped scan. What is left is SQLite's own work
//! (half of the samples: b-tree lookups from the time index into the table, the CTEs' temporary
//! tables, `DISTINCT` and `GROUP BY` sorts; the same statements take 0.5 to 0.6 s per day in the
//! `sqlite3` shell) and the per-row Rust work. Measured and left out: a 64 MB page cache, 256 MB
//! `mmap_size` and `temp_store=MEMORY` changed nothing measurable (the OS page cache already holds
//! the database, so SQLite's ~150k `pread`s per day are cheap) and would cost up to 64 MB per
//! pooled connection; a covering index for the day scans would copy most of `log_link_visit_action`
//! (one more wide index write per tracked action) to save the table lookups, ~6% of the samples.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{
    actions,
    data::{ArchiveData, Rec, Table},
    dimensions::{Grouping, Hours, VisitDimension, VISIT_DIMENSIONS},
    records::RowLimits,
};
use crate::{
    enrich::referrer::{self, KEYWORD_NOT_DEFINED},
    store::{on_db, Result, Store},
    tracker::SiteTz,
};

/// The visits of one group with their summed metrics: the day's totals (`VisitsSummary.get`),
/// or a referrer group: type (a missing or 0 type is a direct entry,
/// `makeReferrerTypeNonEmpty`), name, keyword and URL.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub(crate) struct VisitGroup {
    /// `None` outside the referrer groups.
    pub kind: Option<i64>,
    pub referer_name: Option<String>,
    pub referer_keyword: Option<String>,
    pub referer_url: Option<String>,
    pub visits: i64,
    pub uniq_visitors: i64,
    pub users: i64,
    pub actions: i64,
    pub max_actions: i64,
    pub visit_length: i64,
    pub bounces: i64,
    pub converted: i64,
}

/// The conversion columns the day archive reads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ConversionLog {
    pub idvisit: i64,
    pub idgoal: i64,
    pub revenue: Option<f64>,
    pub referer_type: Option<i64>,
    pub referer_name: Option<String>,
    pub referer_keyword: Option<String>,
}

/// One row of [`load_visits`]: which grouping it belongs to (`part`, see [`visits_sql`]), the
/// group key and the summed metrics of its visits, packed into one text column (see [`packed`]).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub(crate) struct VisitRow {
    pub part: i64,
    pub id: Option<i64>,
    pub kind: Option<i64>,
    pub referer_name: Option<String>,
    pub referer_keyword: Option<String>,
    pub referer_url: Option<String>,
    /// The group's value in a visit-dimension part.
    pub label: Option<String>,
    pub metrics: String,
}

impl VisitRow {
    /// The row's group, its metrics unpacked in [`VISIT_METRICS`]' order.
    fn into_group(self) -> Result<VisitGroup> {
        let [visits, uniq_visitors, users, actions, max_actions, visit_length, bounces, converted] =
            unpack(&self.metrics)?;
        Ok(VisitGroup {
            kind: self.kind,
            referer_name: self.referer_name,
            referer_keyword: self.referer_keyword,
            referer_url: self.referer_url,
            visits,
            uniq_visitors,
            users,
            actions,
            max_actions,
            visit_length,
            bounces,
            converted,
        })
    }
}

/// Packs integer aggregates into one comma-separated text column (`CAST(.. AS TEXT) || ','`,
/// portable SQLite + PostgreSQL). sqlx copies every column value of every row from its worker
/// thread to the caller (an allocation on one thread freed on another, under glibc's arena lock):
/// ~700,000 values per day of 50,000 actions, a third of a day's archiving in the profile. Packed,
/// a grouped row crosses as 7 values instead of 15. Every expression must be non-NULL (`||` with
/// a NULL is NULL): they are counts or `COALESCE`d sums.
pub(crate) fn packed(expressions: &[&str]) -> String {
    let texts: Vec<String> = expressions
        .iter()
        .map(|e| format!("CAST({e} AS TEXT)"))
        .collect();
    texts.join(" || ',' || ")
}

/// Reads a column written by [`packed`] with any number of expressions.
pub(crate) fn unpack_all(text: &str) -> Result<Vec<i64>> {
    text.split(',')
        .map(|part| {
            part.parse().map_err(|_| {
                crate::store::StoreError::Db(sqlx::Error::Decode(
                    format!("packed metrics {text:?} are not integers").into(),
                ))
            })
        })
        .collect()
}

/// Reads a column written by [`packed`] with `N` expressions.
pub(crate) fn unpack<const N: usize>(text: &str) -> Result<[i64; N]> {
    let bad = || {
        crate::store::StoreError::Db(sqlx::Error::Decode(
            format!("packed metrics {text:?} are not {N} integers").into(),
        ))
    };
    let mut out = [0; N];
    let mut parts = text.split(',');
    for slot in &mut out {
        *slot = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(out)
}

/// The visit metrics every grouping computes, in [`VisitGroup`]'s order, for [`packed`]. A bounce
/// is a visit of one action or none (`LogAggregator`, spec/MATOMO.md 2.4).
const VISIT_METRICS: [&str; 8] = [
    "COUNT(*)",
    "COUNT(DISTINCT idvisitor)",
    "COUNT(DISTINCT user_id)",
    "CAST(COALESCE(SUM(visit_total_actions), 0) AS BIGINT)",
    "CAST(COALESCE(MAX(visit_total_actions), 0) AS BIGINT)",
    "CAST(COALESCE(SUM(visit_total_time), 0) AS BIGINT)",
    "CAST(COALESCE(SUM(CASE WHEN visit_total_actions <= 1 THEN 1 ELSE 0 END), 0) AS BIGINT)",
    "CAST(COALESCE(SUM(CASE WHEN visit_goal_converted <> 0 THEN 1 ELSE 0 END), 0) AS BIGINT)",
];

/// Every grouping of the day's visits in one statement, so the visits are read once (a
/// materialized CTE, which SQLite and PostgreSQL both support): part 0 the totals, part 1 the
/// referrer groups (see [`VisitTree`]), parts 2 to 5 the visits by entry page URL, entry title,
/// exit page URL and exit title (`archiveDayEntryActions`, `archiveDayExitActions`; a visit's title
/// key is its `idaction_name`, or `actions::TITLE_NOT_DEFINED` when its page had no title).
fn visits_sql() -> String {
    let metrics = format!("{} AS metrics", packed(&VISIT_METRICS));
    let no_id = "CAST(NULL AS BIGINT)";
    let no_referrer = "CAST(NULL AS BIGINT) AS kind, CAST(NULL AS TEXT) AS referer_name, \
         CAST(NULL AS TEXT) AS referer_keyword, CAST(NULL AS TEXT) AS referer_url";
    let no_label = "CAST(NULL AS TEXT) AS label";
    let url = |column: &str| format!("CASE WHEN {column} > 0 THEN {column} END");
    let title = |name: &str, url: &str| {
        format!(
            "CASE WHEN {name} > 0 THEN {name} WHEN {name} IS NULL AND {url} > 0 THEN {} END",
            actions::TITLE_NOT_DEFINED
        )
    };
    let keyed = |part: i64, key: String| {
        format!(
            "SELECT CAST({part} AS BIGINT) AS part, CAST({key} AS BIGINT) AS id, {no_referrer}, \
             {no_label}, {metrics} FROM v GROUP BY 2"
        )
    };
    let dimension = |(i, dimension): (usize, &VisitDimension)| {
        let part = DIMENSION_PARTS + i as i64;
        let head = format!("SELECT CAST({part} AS BIGINT) AS part, {no_id} AS id, {no_referrer}");
        match &dimension.grouping {
            Grouping::Values { visits, .. } => {
                format!("{head}, CAST({visits} AS TEXT) AS label, {metrics} FROM v GROUP BY 7")
            }
            Grouping::Ranges { .. } => {
                let counts = dimension.grouping.range_counts_sql().unwrap_or_default();
                let counts: Vec<&str> = counts.iter().map(String::as_str).collect();
                format!("{head}, {no_label}, {} AS metrics FROM v", packed(&counts))
            }
        }
    };
    [
        format!(
            "WITH v AS MATERIALIZED (SELECT idvisitor, user_id, visit_total_actions, \
             visit_total_time, visit_goal_converted, referer_type, referer_name, \
             referer_keyword, referer_url, visit_entry_idaction_url, visit_entry_idaction_name, \
             visit_exit_idaction_url, visit_exit_idaction_name, visit_first_action_time, \
             visitor_localtime, visitor_count_visits, visitor_seconds_since_last, \
             visitor_returning, config_device_type, config_browser_name, config_browser_engine, \
             config_os, \
             config_resolution, location_browser_lang, location_country FROM log_visit \
             WHERE idsite = $1 AND visit_last_action_time >= $2 AND visit_last_action_time < $3) \
             SELECT CAST(0 AS BIGINT) AS part, {no_id} AS id, {no_referrer}, {no_label}, \
             {metrics} FROM v"
        ),
        // A missing or 0 referrer type is a direct entry (`makeReferrerTypeNonEmpty`).
        format!(
            "SELECT CAST(1 AS BIGINT) AS part, {no_id} AS id, \
             CAST(CASE WHEN referer_type IS NULL OR referer_type = 0 THEN 1 \
             ELSE referer_type END AS BIGINT) AS kind, referer_name, referer_keyword, referer_url, \
             {no_label}, {metrics} FROM v GROUP BY 3, 4, 5, 6"
        ),
        keyed(2, url("visit_entry_idaction_url")),
        keyed(
            3,
            title("visit_entry_idaction_name", "visit_entry_idaction_url"),
        ),
        keyed(4, url("visit_exit_idaction_url")),
        keyed(
            5,
            title("visit_exit_idaction_name", "visit_exit_idaction_url"),
        ),
    ]
    .into_iter()
    .chain(VISIT_DIMENSIONS.iter().enumerate().map(dimension))
    .collect::<Vec<_>>()
    .join(" UNION ALL ")
}

/// The first part of [`visits_sql`] that groups by a visit dimension: part
/// `DIMENSION_PARTS + i` is `VISIT_DIMENSIONS[i]`.
const DIMENSION_PARTS: i64 = 6;

/// The day's visits grouped by one visit dimension, as [`load_visits`] reads them.
#[derive(Debug, Default)]
pub(crate) struct DimensionRows {
    /// Per label of a grouped dimension, its visits.
    pub groups: Vec<(String, VisitGroup)>,
    /// A ranged dimension's visit counts, in `Grouping::range_labels` order.
    pub counts: Vec<i64>,
    /// Per label and goal, the conversions (see [`load_dimension_conversions`]).
    pub conversions: Vec<DimensionConversion>,
}

/// The conversions of one goal in one group of a visit dimension.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub(crate) struct DimensionConversion {
    pub part: i64,
    pub label: Option<String>,
    pub idgoal: i64,
    pub conversions: i64,
    pub converted_visits: i64,
    pub revenue: f64,
}

/// The day's conversions grouped by the `conversions` expression of every visit dimension that
/// has one, in one statement (`part` as in [`visits_sql`]), into `dimensions`.
async fn load_dimension_conversions(
    store: &Store,
    idsite: i64,
    from: i64,
    to: i64,
    dimensions: &mut [DimensionRows],
) -> Result<()> {
    let parts: Vec<String> = VISIT_DIMENSIONS
        .iter()
        .enumerate()
        .filter_map(|(i, dimension)| {
            let Grouping::Values {
                conversions: Some(sql),
                ..
            } = dimension.grouping
            else {
                return None;
            };
            Some(format!(
                "SELECT CAST({} AS BIGINT) AS part, CAST({sql} AS TEXT) AS label, c.idgoal, \
                 CAST(COUNT(*) AS BIGINT) AS conversions, \
                 CAST(COUNT(DISTINCT c.idvisit) AS BIGINT) AS converted_visits, \
                 CAST(COALESCE(SUM(c.revenue), 0) AS DOUBLE PRECISION) AS revenue \
                 FROM log_conversion c JOIN log_visit lv ON lv.idvisit = c.idvisit \
                 WHERE c.idsite = $1 AND c.server_time >= $2 AND c.server_time < $3 \
                 AND c.idgoal >= 0 GROUP BY 2, 3",
                DIMENSION_PARTS + i as i64
            ))
        })
        .collect();
    if parts.is_empty() {
        return Ok(());
    }
    let sql = parts.join(" UNION ALL ");
    let rows: Vec<DimensionConversion> = on_db!(&store.db, pool => {
        sqlx::query_as(&sql)
            .bind(idsite)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
    });
    for row in rows {
        let i = usize::try_from(row.part - DIMENSION_PARTS).unwrap_or(usize::MAX);
        dimensions
            .get_mut(i)
            .ok_or_else(|| bad_part(row.part))?
            .conversions
            .push(row);
    }
    Ok(())
}

/// The day's visits: totals, referrer groups, entry/exit groups and the visit-dimension groups
/// (one [`DimensionRows`] per [`VISIT_DIMENSIONS`] entry, in its order).
async fn load_visits(
    store: &Store,
    idsite: i64,
    from: i64,
    to: i64,
) -> Result<(
    VisitGroup,
    Vec<VisitGroup>,
    Vec<actions::EntryExit>,
    Vec<DimensionRows>,
)> {
    let sql = visits_sql();
    let rows: Vec<VisitRow> = on_db!(&store.db, pool => {
        sqlx::query_as(&sql)
            .bind(idsite)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
    });
    let mut totals = VisitGroup::default();
    let mut groups = Vec::new();
    let mut entry_exit = Vec::new();
    let mut dimensions: Vec<DimensionRows> = VISIT_DIMENSIONS
        .iter()
        .map(|_| DimensionRows::default())
        .collect();
    for row in rows {
        let (part, id) = (row.part, row.id);
        if part >= DIMENSION_PARTS {
            let i = usize::try_from(part - DIMENSION_PARTS).unwrap_or(usize::MAX);
            let (Some(rows), Some(dimension)) = (dimensions.get_mut(i), VISIT_DIMENSIONS.get(i))
            else {
                return Err(bad_part(part));
            };
            if matches!(dimension.grouping, Grouping::Ranges { .. }) {
                rows.counts = unpack_all(&row.metrics)?;
            } else {
                let label = row.label.clone().unwrap_or_default();
                rows.groups.push((label, row.into_group()?));
            }
            continue;
        }
        let g = row.into_group()?;
        match part {
            0 => totals = g,
            1 => groups.push(g),
            2..=5 => entry_exit.push(actions::EntryExit {
                side: i64::from(part >= 4),
                id,
                visits: g.visits,
                uniq_visitors: g.uniq_visitors,
                actions: g.actions,
                visit_length: g.visit_length,
                bounces: g.bounces,
            }),
            part => return Err(bad_part(part)),
        }
    }
    Ok((totals, groups, entry_exit, dimensions))
}

/// A part number [`visits_sql`] does not write.
fn bad_part(part: i64) -> crate::store::StoreError {
    crate::store::StoreError::Db(sqlx::Error::Decode(
        format!("the day's visit scan returned part {part}, which no grouping writes").into(),
    ))
}

async fn load_conversions(
    store: &Store,
    idsite: i64,
    from: i64,
    to: i64,
) -> Result<Vec<ConversionLog>> {
    Ok(on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT idvisit, idgoal, revenue, referer_type, referer_name, referer_keyword \
             FROM log_conversion WHERE idsite = $1 AND server_time >= $2 AND server_time < $3 \
             AND idgoal >= 0 ORDER BY idvisit",
        )
        .bind(idsite)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
    }))
}

/// Computes the archive of the day whose UTC bounds are `[from, to)` in the site's time zone
/// `tz`: VisitsSummary, Referrers, Actions and every visit-dimension record.
pub async fn archive_day(
    store: &Store,
    idsite: i64,
    tz: &SiteTz,
    from: i64,
    to: i64,
) -> Result<ArchiveData> {
    let (totals, groups, entry_exit, mut dimensions) = load_visits(store, idsite, from, to).await?;
    // A day without visits has no visit-dimension rows to attribute conversions to (Matomo
    // archives nothing for it): its conversion query is skipped.
    if totals.visits > 0 {
        load_dimension_conversions(store, idsite, from, to, &mut dimensions).await?;
    }
    let conversions = load_conversions(store, idsite, from, to).await?;
    let mut action_rows = actions::load(store, idsite, from, to).await?;
    action_rows.entry_exit = entry_exit;
    let mut data = ArchiveData::default();
    visits_summary(&totals, &mut data.numeric);
    referrer_tables(&groups, &conversions, &mut data.blobs);
    actions::archive(&action_rows, &mut data);
    let hours = ServerHours::new(tz, from);
    for (dimension, rows) in VISIT_DIMENSIONS.iter().zip(dimensions) {
        let table = dimension_table(dimension, rows, &hours);
        data.blobs.insert(dimension.record.to_owned(), table);
    }
    Ok(data)
}

/// Turns a UTC hour into the site's hour on the archived day, as Matomo's
/// `convertTimeToLocalTimezone` (VisitTime's `ServerTime` record builder): the UTC date of the
/// day's start at that hour, read in the site's time zone.
pub(crate) struct ServerHours {
    local: [u32; 24],
}

impl ServerHours {
    pub(crate) fn new(tz: &SiteTz, day_start: i64) -> Self {
        let midnight = day_start.div_euclid(86_400) * 86_400;
        let mut local = [0; 24];
        for (hour, slot) in local.iter_mut().enumerate() {
            *slot = tz.local_hour(midnight + hour as i64 * 3600);
        }
        Self { local }
    }

    /// The site's hour of the UTC hour `utc`.
    pub(crate) fn local(&self, utc: u32) -> u32 {
        self.local[utc as usize % 24]
    }
}

/// Sets a row's visit metrics (the columns of `LogAggregator::queryVisitsByDimension`).
fn put_visit_metrics(rec: &mut Rec, group: &VisitGroup) {
    for (name, value) in [
        ("nb_uniq_visitors", group.uniq_visitors),
        ("nb_visits", group.visits),
        ("nb_actions", group.actions),
        ("nb_users", group.users),
        ("max_actions", group.max_actions),
        ("sum_visit_length", group.visit_length),
        ("bounce_count", group.bounces),
        ("nb_visits_converted", group.converted),
    ] {
        rec.m.insert(name.to_owned(), value as f64);
    }
}

/// One visit-dimension table from its rows of the day's visit scan.
pub(crate) fn dimension_table(
    dimension: &VisitDimension,
    rows: DimensionRows,
    hours: &ServerHours,
) -> Table {
    let Grouping::Values {
        hours: hour_kind, ..
    } = dimension.grouping
    else {
        let labels = dimension.grouping.range_labels();
        let rows = labels.into_iter().zip(rows.counts).map(|(label, count)| {
            let mut rec = Rec::new(label);
            rec.m.insert("nb_visits".into(), count as f64);
            rec
        });
        return Table {
            rows: rows.collect(),
        };
    };
    let label_of = |label: Option<String>| {
        let label = label.unwrap_or_default();
        match (hour_kind, label.parse::<u32>()) {
            (Hours::FromUtc, Ok(utc)) => hours.local(utc).to_string(),
            _ => label,
        }
    };
    let mut by_label: BTreeMap<String, Rec> = BTreeMap::new();
    for (label, group) in rows.groups {
        let label = label_of(Some(label));
        let mut rec = Rec::new(label.clone());
        put_visit_metrics(&mut rec, &group);
        by_label
            .entry(label.clone())
            .or_insert_with(|| Rec::new(label))
            .merge(&rec, false);
    }
    for conversion in rows.conversions {
        let label = label_of(conversion.label);
        let goal = by_label
            .entry(label.clone())
            .or_insert_with(|| Rec::new(label))
            .goals
            .entry(conversion.idgoal)
            .or_default();
        for (name, value) in [
            ("nb_conversions", conversion.conversions as f64),
            ("nb_visits_converted", conversion.converted_visits as f64),
            ("revenue", conversion.revenue),
        ] {
            *goal.entry(name.to_owned()).or_default() += value;
        }
    }
    if hour_kind != Hours::No {
        for hour in 0..24 {
            by_label.entry(hour.to_string()).or_insert_with(|| {
                let mut rec = Rec::new(hour.to_string());
                put_visit_metrics(&mut rec, &VisitGroup::default());
                rec
            });
        }
    }
    Table {
        rows: by_label.into_values().collect(),
    }
}

/// VisitsSummary's metrics (`VisitsSummary.get`).
fn visits_summary(totals: &VisitGroup, numeric: &mut BTreeMap<String, f64>) {
    let mut put = |name: &str, value: i64| {
        numeric.insert(name.to_owned(), value as f64);
    };
    put("nb_uniq_visitors", totals.uniq_visitors);
    put("nb_users", totals.users);
    put("nb_visits", totals.visits);
    put("nb_actions", totals.actions);
    put("nb_visits_converted", totals.converted);
    put("bounce_count", totals.bounces);
    put("sum_visit_length", totals.visit_length);
    put("max_actions", totals.max_actions);
}

/// Accumulates visit metrics per label path. Unique visitors and users are counted the way
/// Matomo's Referrers archiver counts them: it queries visits grouped by `referer_type`,
/// `referer_name`, `referer_keyword` and `referer_url`, takes `count(distinct idvisitor)` and
/// `count(distinct user_id)` per group, and sums those counts into every row the group belongs to
/// (`plugins/Referrers/RecordBuilders/Referrers.php::aggregateVisitRow`, `sumRowWithLabel`). So a
/// visitor with two visits from different referrer URLs counts twice in its referrer type row.
#[derive(Debug, Default)]
pub(crate) struct VisitTree {
    rows: HashMap<String, VisitNode>,
}

#[derive(Debug, Default)]
struct VisitNode {
    rec: Rec,
    uniq_visitors: usize,
    users: usize,
    converted_visits: BTreeMap<i64, HashSet<i64>>,
    sub: Option<VisitTree>,
}

impl VisitTree {
    fn node(&mut self, path: &[&str]) -> Option<&mut VisitNode> {
        let (first, rest) = path.split_first()?;
        let node = self
            .rows
            .entry((*first).to_owned())
            .or_insert_with(|| VisitNode {
                rec: Rec::new(*first),
                ..VisitNode::default()
            });
        if rest.is_empty() {
            Some(node)
        } else {
            node.sub.get_or_insert_with(VisitTree::default).node(rest)
        }
    }

    /// Adds one group of visits (see [`VisitTree`]) to the row at `path` and every row above it.
    pub(crate) fn add_group(&mut self, path: &[&str], group: &VisitGroup) {
        for depth in 1..=path.len() {
            if let Some(node) = self.node(&path[..depth]) {
                node.uniq_visitors += group.uniq_visitors as usize;
                node.users += group.users as usize;
                let m = &mut node.rec.m;
                let mut add = |name: &str, value: i64| {
                    *m.entry(name.to_owned()).or_default() += value as f64;
                };
                add("nb_visits", group.visits);
                add("nb_actions", group.actions);
                add("sum_visit_length", group.visit_length);
                add("bounce_count", group.bounces);
                add("nb_visits_converted", group.converted);
                let max = m.entry("max_actions".into()).or_default();
                *max = max.max(group.max_actions as f64);
            }
        }
    }

    /// Adds a conversion to the row at `path` and every row above it.
    pub(crate) fn add_conversion(&mut self, path: &[&str], conversion: &ConversionLog) {
        for depth in 1..=path.len() {
            if let Some(node) = self.node(&path[..depth]) {
                add_goal(&mut node.rec, conversion);
                node.converted_visits
                    .entry(conversion.idgoal)
                    .or_default()
                    .insert(conversion.idvisit);
            }
        }
    }

    /// The finished table, unique counts resolved.
    pub(crate) fn finish(self) -> Table {
        let mut rows: Vec<Rec> = self
            .rows
            .into_values()
            .map(|node| {
                let mut rec = node.rec;
                rec.m
                    .insert("nb_uniq_visitors".into(), node.uniq_visitors as f64);
                rec.m.insert("nb_users".into(), node.users as f64);
                for (idgoal, visits) in node.converted_visits {
                    rec.goals
                        .entry(idgoal)
                        .or_default()
                        .insert("nb_visits_converted".into(), visits.len() as f64);
                }
                rec.sub = node.sub.map(VisitTree::finish);
                rec
            })
            .collect();
        rows.sort_by(|a, b| a.label.cmp(&b.label));
        Table { rows }
    }
}

/// Adds one conversion's count and revenue to a row's goal metrics.
pub(crate) fn add_goal(rec: &mut Rec, conversion: &ConversionLog) {
    let goal = rec.goals.entry(conversion.idgoal).or_default();
    *goal.entry("nb_conversions".into()).or_default() += 1.0;
    *goal.entry("revenue".into()).or_default() += conversion.revenue.unwrap_or(0.0);
}

/// Referrer names of a visit or conversion, as the reports label them.
struct Labels<'a> {
    kind: i64,
    name: &'a str,
    keyword: &'a str,
    url: &'a str,
}

impl<'a> Labels<'a> {
    fn new(
        kind: Option<i64>,
        name: &'a Option<String>,
        keyword: &'a Option<String>,
        url: &'a Option<String>,
    ) -> Self {
        Self {
            kind: kind.unwrap_or(referrer::ReferrerType::Direct as i64),
            name: name.as_deref().unwrap_or(""),
            keyword: keyword.as_deref().unwrap_or(""),
            url: url.as_deref().unwrap_or(""),
        }
    }

    fn keyword_label(&self) -> &'a str {
        if self.keyword.is_empty() {
            KEYWORD_NOT_DEFINED
        } else {
            self.keyword
        }
    }

    /// The label paths of every Referrers table this referrer counts in.
    fn paths(&self, with_url: bool) -> Vec<(&'static str, Vec<&'a str>)> {
        let kind = match self.kind {
            2 => "2",
            3 => "3",
            6 => "6",
            7 => "7",
            _ => "1",
        };
        let mut paths = Vec::new();
        let url = if self.url.is_empty() || !with_url {
            None
        } else {
            Some(self.url)
        };
        match self.kind {
            2 => {
                paths.push((RECORD_TYPE, vec![kind, self.name]));
                paths.push((RECORD_SEARCH_ENGINES, vec![self.name, self.keyword_label()]));
                paths.push((RECORD_KEYWORDS, vec![self.keyword_label(), self.name]));
            }
            3 => {
                paths.push((RECORD_TYPE, vec![kind, self.name]));
                let mut p = vec![self.name];
                p.extend(url);
                paths.push((RECORD_WEBSITES, p));
            }
            6 => {
                paths.push((RECORD_TYPE, vec![kind, self.name]));
                let mut p = vec![self.name];
                if !self.keyword.is_empty() {
                    p.push(self.keyword);
                }
                paths.push((RECORD_CAMPAIGNS, p));
            }
            7 => {
                paths.push((RECORD_TYPE, vec![kind, self.name]));
                let mut p = vec![self.name];
                p.extend(url);
                paths.push((RECORD_SOCIALS, p));
            }
            _ => paths.push((RECORD_TYPE, vec![kind])),
        }
        paths
    }
}

/// `Referrers.getReferrerType`: rows by referrer type, subtables by name.
pub const RECORD_TYPE: &str = "Referrers_type";
/// `Referrers.getSearchEngines`: engines, subtables of keywords.
pub const RECORD_SEARCH_ENGINES: &str = "Referrers_keywordBySearchEngine";
/// `Referrers.getKeywords`: keywords, subtables of engines.
pub const RECORD_KEYWORDS: &str = "Referrers_searchEngineByKeyword";
/// `Referrers.getCampaigns`: campaigns, subtables of keywords.
pub const RECORD_CAMPAIGNS: &str = "Referrers_keywordByCampaign";
/// `Referrers.getWebsites`: websites, subtables of URLs.
pub const RECORD_WEBSITES: &str = "Referrers_urlByWebsite";
/// `Referrers.getSocials`: social networks, subtables of URLs.
pub const RECORD_SOCIALS: &str = "Referrers_urlBySocialNetwork";

/// Every Referrers table of the day.
fn referrer_tables(
    groups: &[VisitGroup],
    conversions: &[ConversionLog],
    blobs: &mut BTreeMap<String, Table>,
) {
    let mut trees: BTreeMap<&'static str, VisitTree> = [
        RECORD_TYPE,
        RECORD_SEARCH_ENGINES,
        RECORD_KEYWORDS,
        RECORD_CAMPAIGNS,
        RECORD_WEBSITES,
        RECORD_SOCIALS,
    ]
    .into_iter()
    .map(|name| (name, VisitTree::default()))
    .collect();
    // Matomo's query groups (see `VisitTree`), grouped in SQL.
    for group in groups {
        let labels = Labels::new(
            group.kind,
            &group.referer_name,
            &group.referer_keyword,
            &group.referer_url,
        );
        for (record, path) in labels.paths(true) {
            if let Some(tree) = trees.get_mut(record) {
                tree.add_group(&path, group);
            }
        }
    }
    let none = None;
    for conversion in conversions {
        let labels = Labels::new(
            conversion.referer_type,
            &conversion.referer_name,
            &conversion.referer_keyword,
            &none,
        );
        // Conversions carry no referrer URL: they count on the website or network row only.
        for (record, path) in labels.paths(false) {
            if let Some(tree) = trees.get_mut(record) {
                tree.add_conversion(&path, conversion);
            }
        }
    }
    for (record, tree) in trees {
        let mut table = tree.finish();
        let limits = RowLimits::REFERRERS;
        table.truncate(limits.rows, limits.subtable_rows, "nb_visits");
        blobs.insert(record.to_owned(), table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_metrics_unpack_to_exactly_their_count_of_integers() {
        assert_eq!(
            packed(&["a", "b"]),
            "CAST(a AS TEXT) || ',' || CAST(b AS TEXT)"
        );
        assert_eq!(unpack::<3>("1,-2,30").unwrap(), [1, -2, 30]);
        assert!(unpack::<3>("1,2").is_err());
        assert!(unpack::<2>("1,2,3").is_err());
        assert!(unpack::<1>("1.5").is_err());
    }

    /// A referrer group of `visits` visits by `visitors` visitors (one of them a user when `user`).
    fn group(
        kind: i64,
        name: &str,
        url: &str,
        visits: i64,
        visitors: i64,
        user: bool,
    ) -> VisitGroup {
        VisitGroup {
            kind: Some(kind),
            referer_name: (!name.is_empty()).then(|| name.to_owned()),
            referer_keyword: None,
            referer_url: (!url.is_empty()).then(|| url.to_owned()),
            visits,
            uniq_visitors: visitors,
            users: i64::from(user),
            actions: visits,
            max_actions: 1,
            visit_length: 10 * visits,
            bounces: visits,
            converted: 0,
        }
    }

    fn metric(table: &Table, label: &str, name: &str) -> f64 {
        table
            .rows
            .iter()
            .find(|r| r.label == label)
            .and_then(|r| r.m.get(name).copied())
            .unwrap_or(-1.0)
    }

    #[test]
    fn referrer_unique_counts_are_summed_over_type_name_keyword_and_url_groups() {
        let groups = [
            // One visitor (and user), two direct visits with different referrer URLs.
            group(1, "", "", 1, 1, true),
            group(1, "", "https://shop.example.com/a", 1, 1, true),
            // Two visits of one visitor from one website URL, one from another URL.
            group(
                3,
                "forum.example.net",
                "https://forum.example.net/1",
                2,
                1,
                false,
            ),
            group(
                3,
                "forum.example.net",
                "https://forum.example.net/2",
                1,
                1,
                false,
            ),
        ];
        let mut blobs = BTreeMap::new();
        referrer_tables(&groups, &[], &mut blobs);
        let types = &blobs[RECORD_TYPE];
        assert_eq!(metric(types, "1", "nb_visits"), 2.0);
        assert_eq!(metric(types, "1", "nb_uniq_visitors"), 2.0);
        assert_eq!(metric(types, "1", "nb_users"), 2.0);
        assert_eq!(metric(types, "1", "sum_visit_length"), 20.0);
        assert_eq!(metric(types, "3", "nb_visits"), 3.0);
        assert_eq!(metric(types, "3", "nb_uniq_visitors"), 2.0);
        let websites = &blobs[RECORD_WEBSITES];
        assert_eq!(
            metric(websites, "forum.example.net", "nb_uniq_visitors"),
            2.0
        );
        let urls = websites.rows[0].sub.as_ref().expect("URL subtable");
        assert_eq!(
            metric(urls, "https://forum.example.net/1", "nb_uniq_visitors"),
            1.0
        );
        assert_eq!(
            metric(urls, "https://forum.example.net/1", "nb_visits"),
            2.0
        );
    }
}
