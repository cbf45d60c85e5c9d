//! The Actions part of a day archive: `Actions.get` metrics, page URLs and titles, outlinks,
//! downloads and site-search keywords, with the page-level goal metrics Matomo 5 attaches to page
//! URLs and titles, from `log_link_visit_action`, `log_visit` and `log_conversion`.
//!
//! Matomo builds these tables action by action (plugins/Actions/RecordBuilders/ActionReports.php):
//! one query per dictionary column (`idaction_url`, `idaction_name`) groups the day's non-event
//! actions by `idaction` and creates the report rows; the entry, exit, time-spent and goal queries
//! that follow only add columns to rows the first query created (`ArchivingHelper::
//! getCachedActionRow`: "an entry page ID that was only seen yesterday" is dropped). Rows of
//! different `idaction`s that share a label are summed, and a folder row is the sum of its
//! children. This module keeps that structure: metrics per `idaction` first, then the trees. The
//! per-`idaction` sums and distinct counts are computed in SQL ([`load`], see `day` for why), so
//! only one row per dictionary entry crosses the driver.

use std::collections::{BTreeMap, HashMap};

use super::{
    data::{ArchiveData, Rec, Table},
    day,
    records::RowLimits,
};
use crate::{
    enrich::url,
    store::{on_db, Result, Store},
};

/// `Actions.getPageUrls` (hierarchical by URL path).
pub const RECORD_PAGE_URLS: &str = "Actions_actions_url";
/// `Actions.getPageTitles`.
pub const RECORD_PAGE_TITLES: &str = "Actions_actions";
/// `Actions.getOutlinks` (domains, subtables of URLs).
pub const RECORD_OUTLINKS: &str = "Actions_outlink";
/// `Actions.getDownloads`.
pub const RECORD_DOWNLOADS: &str = "Actions_downloads";
/// `Actions.getSiteSearchKeywords`.
pub const RECORD_SITE_SEARCH: &str = "Actions_sitesearch";

/// Matomo's `log_action.type` values the Actions reports read (core/Tracker/Action.php).
const TYPE_PAGE_URL: i64 = 1;
const TYPE_OUTLINK: i64 = 2;
const TYPE_DOWNLOAD: i64 = 3;
const TYPE_PAGE_TITLE: i64 = 4;
const TYPE_SITE_SEARCH: i64 = 8;

/// The row key of pageviews without a title. Matomo keys such rows by `-type`
/// (`ArchivingHelper::updateActionsTableWithRowQuery`: "so we don't mix 'page url not defined'
/// with 'page title not defined'"); our tracker stores no title action for them.
pub(crate) const TITLE_NOT_DEFINED: i64 = -TYPE_PAGE_TITLE;

/// The numeric record of a goal's conversions in the period (`Goal_{idgoal}_nb_conversions`,
/// plugins/Goals/Archiver.php::getRecordName), which the page conversion rate divides by.
pub fn goal_conversions_record(idgoal: i64) -> String {
    format!("Goal_{idgoal}_nb_conversions")
}

/// The day's non-event, non-content actions of one dictionary entry (`idaction`), grouped in SQL,
/// with the entry's type, name and URL prefix. Grouped by `idaction_url`, the group also carries
/// the `Actions.get` counts of its actions; grouped by `idaction_name`, those are 0.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub(crate) struct ActionGroup {
    /// The `idaction` ([`TITLE_NOT_DEFINED`] for pageviews without a title, `None` for actions
    /// without one).
    pub id: Option<i64>,
    /// `log_action.type` of `id`.
    pub kind: Option<i64>,
    pub name: Option<String>,
    pub url_prefix: Option<i64>,
    /// Non-event, non-content actions, their distinct visits and visitors.
    pub hits: i64,
    pub visits: i64,
    pub visitors: i64,
    /// Hits whose previous page was a site search.
    pub following_search: i64,
    /// Of the hits, site searches (`idaction_name` of type 8) and the others, with the others'
    /// distinct visits (the `nb_uniq_*` counts).
    pub searches: i64,
    pub views: i64,
    pub uniq_views: i64,
    /// Events and content interactions (not in `hits`), which `Actions.get`'s `hits` counts.
    pub events: i64,
    pub interactions: i64,
}

/// Time spent on an `idaction`: the sum of `time_spent_ref_action` of the actions that referenced
/// it.
#[derive(Debug, Clone)]
pub(crate) struct TimeSpent {
    pub id: i64,
    pub time: i64,
}

/// The day's visits that entered (`side` 0) or left (`side` 1) on one `idaction`.
#[derive(Debug, Clone, Default)]
pub(crate) struct EntryExit {
    pub side: i64,
    pub id: Option<i64>,
    pub visits: i64,
    pub uniq_visitors: i64,
    pub actions: i64,
    pub visit_length: i64,
    pub bounces: i64,
}

/// A conversion of the day with what the page goal metrics need.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct GoalConversion {
    pub idvisit: i64,
    pub idgoal: i64,
    pub server_time: i64,
    pub revenue: Option<f64>,
    pub pageviews_before: Option<i64>,
    pub visit_entry_idaction_url: Option<i64>,
    pub visit_entry_idaction_name: Option<i64>,
}

/// A non-event action, of any day, of a visit that converted on the day. Events carry their
/// page's URL but Matomo's answers do not count them before a conversion (golden-seed1: a page
/// viewed twice and then the subject of an event counts twice). Its page's and title's types are
/// those of the day's rows (an action whose page has no row that day adds nothing).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct VisitAction {
    pub idvisit: i64,
    pub server_time: i64,
    pub idaction_url: Option<i64>,
    pub idaction_name: Option<i64>,
}

/// Everything the Actions archive of a day reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct DayActions {
    /// The day's actions grouped by `idaction_url`.
    pub by_url: Vec<ActionGroup>,
    /// The day's non-event, non-content actions grouped by `idaction_name` (or
    /// [`TITLE_NOT_DEFINED`]).
    pub by_name: Vec<ActionGroup>,
    /// Time spent per referenced `idaction_url_ref` and `idaction_name_ref`.
    pub time: Vec<TimeSpent>,
    /// The day's visits grouped by entry and exit page URL and title.
    pub entry_exit: Vec<EntryExit>,
    /// The day's conversions (`idgoal >= 0`) with their visit's entry page.
    pub conversions: Vec<GoalConversion>,
    /// Every action of the visits in `conversions`, in visit order.
    pub converting_visit_actions: Vec<VisitAction>,
}

/// One row of [`actions_sql`]: an [`ActionGroup`] (parts 0 and 1) or time spent (part 2), its
/// counts packed into one text column ([`day::packed`], in [`ActionGroup`]'s order from `hits`).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub(crate) struct ActionSqlRow {
    pub part: i64,
    pub id: Option<i64>,
    /// Part 2: the `idaction_name_ref` (with `id` the `idaction_url_ref`).
    pub id2: Option<i64>,
    pub kind: Option<i64>,
    pub name: Option<String>,
    pub url_prefix: Option<i64>,
    pub metrics: String,
}

impl ActionSqlRow {
    fn into_group(self) -> Result<ActionGroup> {
        let [hits, visits, visitors, following_search, searches, views, uniq_views, events, interactions] =
            day::unpack(&self.metrics)?;
        Ok(ActionGroup {
            id: self.id,
            kind: self.kind,
            name: self.name,
            url_prefix: self.url_prefix,
            hits,
            visits,
            visitors,
            following_search,
            searches,
            views,
            uniq_views,
            events,
            interactions,
        })
    }
}

/// Every grouping of the day's actions in one statement, so the actions are read once (a
/// materialized CTE, which SQLite and PostgreSQL both support); each group's `idaction` is then
/// resolved to its dictionary entry once.
///
/// - Part 0 groups by `idaction_url`: the non-event, non-content actions (`archiveDayActions`,
///   `WHERE idaction_event_category IS NULL`; content actions have their own reports), their
///   distinct visits and visitors, those that followed a site search
///   (`updateQuerySelectFromForSiteSearch`), and the `Actions.get` counts (site searches, their
///   name of type 8, are not pageviews; events and content interactions are hits).
/// - Part 1 groups the same actions by `idaction_name`; a pageview without a name counts on
///   [`TITLE_NOT_DEFINED`].
/// - Part 2 is the time spent on a page: `time_spent_ref_action` of the non-event actions that
///   followed it, by `idaction_url_ref` and `idaction_name_ref` (`archiveDayActionsTime`).
fn actions_sql() -> String {
    let search = |column: &str| {
        format!(
            "CASE WHEN a.{column} IN (SELECT s.idaction FROM log_action s \
             WHERE s.type = {TYPE_SITE_SEARCH}) THEN 1 ELSE 0 END"
        )
    };
    let zero = "CAST(0 AS BIGINT)";
    format!(
        "WITH d AS MATERIALIZED (SELECT a.idvisit, a.idvisitor, a.idaction_url, \
         a.idaction_url_ref, a.idaction_name_ref, a.time_spent_ref_action AS time_spent, \
         CASE WHEN a.idaction_event_category IS NULL AND a.idaction_content_name IS NULL \
         THEN 1 ELSE 0 END AS plain, \
         CASE WHEN a.idaction_event_category IS NOT NULL THEN 1 ELSE 0 END AS event, \
         CASE WHEN a.idaction_event_category IS NULL AND a.idaction_content_name IS NOT NULL \
         AND a.idaction_content_interaction IS NOT NULL THEN 1 ELSE 0 END AS interaction, \
         {search_name} AS search, {after_search} AS after_search, \
         CASE WHEN a.idaction_name IS NOT NULL THEN a.idaction_name \
         WHEN a.idaction_url IN (SELECT p.idaction FROM log_action p \
         WHERE p.type = {TYPE_PAGE_URL}) THEN {TITLE_NOT_DEFINED} END AS name_key \
         FROM log_link_visit_action a \
         WHERE a.idsite = $1 AND a.server_time >= $2 AND a.server_time < $3) \
         SELECT g.part, g.id, g.id2, l.type AS kind, l.name, l.url_prefix, {metrics} AS metrics \
         FROM (\
         SELECT CAST(0 AS BIGINT) AS part, d.idaction_url AS id, CAST(NULL AS BIGINT) AS id2, \
         CAST(SUM(d.plain) AS BIGINT) AS hits, \
         COUNT(DISTINCT CASE WHEN d.plain = 1 THEN d.idvisit END) AS visits, \
         COUNT(DISTINCT CASE WHEN d.plain = 1 THEN d.idvisitor END) AS visitors, \
         CAST(SUM(d.plain * d.after_search) AS BIGINT) AS following_search, \
         CAST(SUM(d.plain * d.search) AS BIGINT) AS searches, \
         CAST(SUM(d.plain * (1 - d.search)) AS BIGINT) AS views, \
         COUNT(DISTINCT CASE WHEN d.plain = 1 AND d.search = 0 THEN d.idvisit END) \
         AS uniq_views, \
         CAST(SUM(d.event) AS BIGINT) AS events, \
         CAST(SUM(d.interaction) AS BIGINT) AS interactions \
         FROM d GROUP BY d.idaction_url \
         UNION ALL \
         SELECT CAST(1 AS BIGINT), CAST(d.name_key AS BIGINT), CAST(NULL AS BIGINT), \
         COUNT(*), COUNT(DISTINCT d.idvisit), COUNT(DISTINCT d.idvisitor), \
         CAST(SUM(d.after_search) AS BIGINT), {zero}, {zero}, {zero}, {zero}, {zero} \
         FROM d WHERE d.plain = 1 AND d.name_key IS NOT NULL GROUP BY d.name_key \
         UNION ALL \
         SELECT CAST(2 AS BIGINT), d.idaction_url_ref, d.idaction_name_ref, \
         CAST(SUM(d.time_spent) AS BIGINT), {zero}, {zero}, {zero}, {zero}, {zero}, {zero}, \
         {zero}, {zero} \
         FROM d WHERE d.event = 0 AND d.time_spent > 0 \
         GROUP BY d.idaction_url_ref, d.idaction_name_ref\
         ) g LEFT JOIN log_action l ON l.idaction = g.id",
        metrics = day::packed(&[
            "g.hits",
            "g.visits",
            "g.visitors",
            "g.following_search",
            "g.searches",
            "g.views",
            "g.uniq_views",
            "g.events",
            "g.interactions",
        ]),
        search_name = search("idaction_name"),
        after_search = search("idaction_name_ref"),
    )
}

/// Reads the day `[from, to)` of a site (entry and exit groups come with the visits).
pub(crate) async fn load(store: &Store, idsite: i64, from: i64, to: i64) -> Result<DayActions> {
    let sql = actions_sql();
    let rows: Vec<ActionSqlRow> = on_db!(&store.db, pool => {
        sqlx::query_as(&sql).bind(idsite).bind(from).bind(to).fetch_all(pool).await?
    });
    let (mut by_url, mut by_name, mut time) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        let (part, id2) = (row.part, row.id2);
        let group = row.into_group()?;
        match part {
            0 => by_url.push(group),
            1 => by_name.push(group),
            _ => {
                // Time goes to the referenced URL and to the referenced name.
                let spent = group.hits;
                for id in [group.id, id2].into_iter().flatten() {
                    if id > 0 {
                        time.push(TimeSpent { id, time: spent });
                    }
                }
            }
        }
    }
    let conversions = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT c.idvisit, c.idgoal, c.server_time, c.revenue, c.pageviews_before, \
             v.visit_entry_idaction_url, v.visit_entry_idaction_name \
             FROM log_conversion c LEFT JOIN log_visit v ON v.idvisit = c.idvisit \
             WHERE c.idsite = $1 AND c.server_time >= $2 AND c.server_time < $3 \
             AND c.idgoal >= 0 ORDER BY c.idvisit, c.server_time, c.idgoal",
        )
        .bind(idsite)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
    });
    // One row per converting visit, its actions packed in order (see [`day::packed`]: 28,000
    // rows of 4 values per day of 50,000 actions became 4,000 of 2).
    let packed_visits: Vec<(i64, String)> = on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT a.idvisit, string_agg(CAST(a.server_time AS TEXT) || ',' || \
             COALESCE(CAST(a.idaction_url AS TEXT), '') || ',' || \
             COALESCE(CAST(a.idaction_name AS TEXT), ''), ';' \
             ORDER BY a.server_time, a.idlink_va) \
             FROM log_link_visit_action a \
             WHERE a.idaction_event_category IS NULL \
             AND a.idvisit IN (SELECT c.idvisit FROM log_conversion c WHERE c.idsite = $1 \
             AND c.server_time >= $2 AND c.server_time < $3 AND c.idgoal >= 0) \
             GROUP BY a.idvisit ORDER BY a.idvisit",
        )
        .bind(idsite)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
    });
    let mut converting_visit_actions = Vec::new();
    for (idvisit, packed) in &packed_visits {
        unpack_visit_actions(*idvisit, packed, &mut converting_visit_actions)?;
    }
    Ok(DayActions {
        by_url,
        by_name,
        time,
        entry_exit: Vec::new(),
        conversions,
        converting_visit_actions,
    })
}

/// Reads a visit's actions packed as `server_time,idaction_url,idaction_name` joined by `;`
/// (an empty id is NULL).
fn unpack_visit_actions(idvisit: i64, packed: &str, into: &mut Vec<VisitAction>) -> Result<()> {
    let bad = || {
        crate::store::StoreError::Db(sqlx::Error::Decode(
            format!("packed actions of visit {idvisit} are damaged: {packed:?}").into(),
        ))
    };
    let id = |text: &str| -> Result<Option<i64>> {
        if text.is_empty() {
            Ok(None)
        } else {
            text.parse().map(Some).map_err(|_| bad())
        }
    };
    for action in packed.split(';') {
        let mut fields = action.split(',');
        let (Some(time), Some(url), Some(name), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        into.push(VisitAction {
            idvisit,
            server_time: time.parse().map_err(|_| bad())?,
            idaction_url: id(url)?,
            idaction_name: id(name)?,
        });
    }
    Ok(())
}

/// The report an action type's rows go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    Pages,
    Titles,
    Outlinks,
    Downloads,
    Search,
}

impl Report {
    fn of_url_type(kind: i64) -> Option<Self> {
        match kind {
            TYPE_PAGE_URL => Some(Self::Pages),
            TYPE_OUTLINK => Some(Self::Outlinks),
            TYPE_DOWNLOAD => Some(Self::Downloads),
            _ => None,
        }
    }

    fn of_name_type(kind: i64) -> Option<Self> {
        match kind {
            TYPE_PAGE_TITLE => Some(Self::Titles),
            TYPE_SITE_SEARCH => Some(Self::Search),
            _ => None,
        }
    }

    /// Whether the report keeps unique visitor counts (Matomo deletes them from site search,
    /// `deleteUnusedColumnsFromKeywordsDataTable`, and outlinks and downloads never show them).
    fn keeps_uniques(self) -> bool {
        matches!(self, Self::Pages | Self::Titles)
    }
}

/// The labels of an outlink or download: its host as written (`www.` kept), then `/` + path,
/// query and `#fragment` (`ArchivingHelper::parseNameFromPageUrl` with no URL prefix, regex
/// `@^http[s]?://([^/]+)[/]?([^#]*)[#]?(.*)$@i`). A link without an http(s) scheme is split on
/// `/` like a page URL.
fn link_path(link: &str) -> Vec<String> {
    let lower = link
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower.starts_with("https://") {
        link.get(8..)
    } else if lower.starts_with("http://") {
        link.get(7..)
    } else {
        None
    };
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {
            let (host, after) = rest.split_once('/').unwrap_or((rest, ""));
            // `[^/]+` stops at the first slash; the host may still hold a `#`.
            let (path, fragment) = after.split_once('#').unwrap_or((after, ""));
            let mut leaf = format!("/{}", url::php_trim(path));
            if !fragment.is_empty() {
                leaf.push('#');
                leaf.push_str(fragment);
            }
            vec![url::php_trim(host).to_owned(), leaf]
        }
        _ => {
            let mut parts: Vec<String> = link
                .split('/')
                .map(url::php_trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            match parts.last_mut() {
                Some(last) => last.insert(0, '/'),
                None => parts.push(url::PAGE_URL_NOT_DEFINED.to_owned()),
            }
            parts
        }
    }
}

/// The hierarchical path of a page URL (`url_path_segments`).
fn url_path(name: &str) -> Vec<String> {
    let segments = url::url_path_segments(name);
    if segments.is_empty() {
        vec!["/index".to_owned()]
    } else {
        segments
    }
}

/// A page title's label: Matomo 5 does not split titles (`action_title_category_delimiter` is
/// empty), prefixes them with a space and names an empty one "Page Name not defined"
/// (`ArchivingHelper::getActionExplodedNames`).
fn title_label(title: &str) -> String {
    let title = url::php_trim(title);
    if title.is_empty() {
        " Page Name not defined".to_owned()
    } else {
        format!(" {title}")
    }
}

/// The metrics of one `idaction` of the day (integers, as SQL counted them).
#[derive(Debug, Default)]
struct Acc {
    hits: i64,
    visits: i64,
    visitors: i64,
    time: i64,
    following_search: i64,
    entry_visits: i64,
    entry_visitors: i64,
    entry_actions: i64,
    entry_length: i64,
    entry_bounces: i64,
    exit_visits: i64,
    exit_visitors: i64,
    goals: BTreeMap<i64, BTreeMap<String, f64>>,
}

/// A report row in the making: one dictionary entry and its metrics.
#[derive(Debug)]
struct ActionRow {
    report: Report,
    name: String,
    prefix: Option<i64>,
    acc: Acc,
}

impl ActionRow {
    fn path(&self) -> Vec<String> {
        match self.report {
            Report::Pages => url_path(&self.name),
            Report::Titles => vec![title_label(&self.name)],
            Report::Search => vec![self.name.clone()],
            Report::Outlinks | Report::Downloads => link_path(&self.name),
        }
    }

    /// The leaf row with its metrics; a page's and a link's full URL as `url` metadata.
    fn leaf(&self) -> Rec {
        let acc = &self.acc;
        let mut rec = Rec::new(String::new());
        let mut put = |name: &str, value: i64| {
            rec.m.insert(name.to_owned(), value as f64);
        };
        let uniques = self.report.keeps_uniques();
        put("nb_visits", acc.visits);
        if uniques {
            put("nb_uniq_visitors", acc.visitors);
        }
        put("nb_hits", acc.hits);
        put("sum_time_spent", acc.time);
        if acc.entry_visits > 0 {
            if uniques {
                put("entry_nb_uniq_visitors", acc.entry_visitors);
            }
            put("entry_nb_visits", acc.entry_visits);
            put("entry_nb_actions", acc.entry_actions);
            put("entry_sum_visit_length", acc.entry_length);
            put("entry_bounce_count", acc.entry_bounces);
        }
        if acc.exit_visits > 0 {
            if uniques {
                put("exit_nb_uniq_visitors", acc.exit_visitors);
            }
            put("exit_nb_visits", acc.exit_visits);
        }
        if acc.following_search > 0 {
            put("nb_hits_following_search", acc.following_search);
        }
        rec.goals.clone_from(&acc.goals);
        match self.report {
            Report::Pages => {
                let prefix = self.prefix.and_then(|p| u8::try_from(p).ok());
                rec.meta
                    .insert("url".to_owned(), url::join_prefix(prefix, &self.name));
            }
            Report::Outlinks | Report::Downloads => {
                rec.meta.insert("url".to_owned(), self.name.clone());
            }
            Report::Titles | Report::Search => {}
        }
        rec
    }
}

/// A report tree: rows by label, each the sum of the leaves below it.
#[derive(Debug, Default)]
struct Tree {
    rows: HashMap<String, (Rec, Option<Tree>)>,
}

impl Tree {
    /// Adds a leaf at `path`: its metrics and goals to every row on the way (a folder is the
    /// sum of its pages), its metadata to the leaf only, first leaf first.
    fn add(&mut self, path: &[String], leaf: &Rec) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let (rec, sub) = self
            .rows
            .entry(first.clone())
            .or_insert_with(|| (Rec::new(first.clone()), None));
        if rest.is_empty() {
            rec.merge(leaf, false);
        } else {
            let mut folder = leaf.clone();
            folder.meta.clear();
            rec.merge(&folder, false);
            sub.get_or_insert_with(Tree::default).add(rest, leaf);
        }
    }

    fn finish(self) -> Table {
        Table {
            rows: self
                .rows
                .into_values()
                .map(|(mut rec, sub)| {
                    rec.sub = sub.map(Tree::finish);
                    rec
                })
                .collect(),
        }
    }
}

fn bump(into: &mut BTreeMap<String, f64>, name: &str, by: f64) {
    *into.entry(name.to_owned()).or_default() += by;
}

/// `ROUND(x, 2)` of the goal queries.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `Piwik::getQuotientSafe($a, $b, 3)`.
fn quotient3(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        (a / b * 1000.0).round() / 1000.0
    }
}

/// Fills the Actions metrics and tables of a day archive.
pub(crate) fn archive(day: &DayActions, data: &mut ArchiveData) {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    let mut hits = 0;
    let mut rows: HashMap<i64, ActionRow> = HashMap::new();

    // The `Actions.get` counts, then the rows: every non-event, non-content action counts on the
    // row of its URL and on the row of its name (`archiveDayActions`, once per dictionary column,
    // `WHERE idaction_event_category IS NULL`). Content actions have their own reports. A site
    // search (its name of type 8) is not a pageview; events and content interactions are hits.
    for group in &day.by_url {
        hits += group.events + group.interactions + group.searches;
        *counts.entry("nb_searches").or_default() += group.searches;
        let report = group.kind.and_then(Report::of_url_type);
        let (count, uniq) = match report {
            Some(Report::Pages) => ("nb_pageviews", "nb_uniq_pageviews"),
            Some(Report::Outlinks) => ("nb_outlinks", "nb_uniq_outlinks"),
            Some(Report::Downloads) => ("nb_downloads", "nb_uniq_downloads"),
            _ => continue,
        };
        hits += group.views;
        *counts.entry(count).or_default() += group.views;
        *counts.entry(uniq).or_default() += group.uniq_views;
    }
    let url_rows = day
        .by_url
        .iter()
        .filter_map(|g| Some((g, g.kind.and_then(Report::of_url_type)?)));
    let name_rows = day.by_name.iter().filter_map(|g| {
        if g.id == Some(TITLE_NOT_DEFINED) {
            Some((g, Report::Titles))
        } else {
            Some((g, g.kind.and_then(Report::of_name_type)?))
        }
    });
    for (group, report) in url_rows.chain(name_rows) {
        let Some(id) = group.id.filter(|_| group.hits > 0) else {
            continue;
        };
        let row = rows.entry(id).or_insert_with(|| ActionRow {
            report,
            name: group.name.clone().unwrap_or_default(),
            prefix: group.url_prefix,
            acc: Acc::default(),
        });
        let acc = &mut row.acc;
        acc.hits += group.hits;
        acc.visits += group.visits;
        acc.visitors += group.visitors;
        acc.following_search += group.following_search;
    }

    // Time on a page: the time of the actions that followed it. The reference is the visit's
    // last page or search, so outlinks and downloads get no time.
    for spent in &day.time {
        if let Some(row) = rows.get_mut(&spent.id) {
            row.acc.time += spent.time;
        }
    }

    // Entry and exit metrics from the day's visits, on rows the day's actions created.
    for group in &day.entry_exit {
        let Some(row) = group.id.and_then(|id| rows.get_mut(&id)) else {
            continue;
        };
        let acc = &mut row.acc;
        if group.side == 0 {
            acc.entry_visits += group.visits;
            acc.entry_visitors += group.uniq_visitors;
            acc.entry_actions += group.actions;
            acc.entry_length += group.visit_length;
            // `sum(case visit_total_actions when 1 then 1 when 0 then 1 else 0 end)`.
            acc.entry_bounces += group.bounces;
        } else {
            acc.exit_visits += group.visits;
            acc.exit_visitors += group.uniq_visitors;
        }
    }

    page_goals(day, &mut rows);
    entry_goals(day, &mut rows);
    for conversion in &day.conversions {
        *data
            .numeric
            .entry(goal_conversions_record(conversion.idgoal))
            .or_default() += 1.0;
    }

    for name in [
        "nb_pageviews",
        "nb_uniq_pageviews",
        "nb_downloads",
        "nb_uniq_downloads",
        "nb_outlinks",
        "nb_uniq_outlinks",
        "nb_searches",
    ] {
        data.numeric.insert(
            name.to_owned(),
            counts.get(name).copied().unwrap_or(0) as f64,
        );
    }
    data.numeric.insert("hits".to_owned(), hits as f64);

    // Rows sharing a label are summed; the leaf's `url` is the one of the entry with the most
    // hits, ties to the first name (`updateActionsTableWithRowQuery` reads rows by
    // `nb_hits DESC, name ASC` and only a strictly larger count replaces the URL).
    let mut ordered: Vec<(i64, ActionRow)> = rows.into_iter().collect();
    ordered.sort_by(|(ida, a), (idb, b)| {
        b.acc
            .hits
            .cmp(&a.acc.hits)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| ida.cmp(idb))
    });
    let mut trees: BTreeMap<&str, Tree> = BTreeMap::new();
    for (_, row) in &ordered {
        let record = match row.report {
            Report::Pages => RECORD_PAGE_URLS,
            Report::Titles => RECORD_PAGE_TITLES,
            Report::Outlinks => RECORD_OUTLINKS,
            Report::Downloads => RECORD_DOWNLOADS,
            Report::Search => RECORD_SITE_SEARCH,
        };
        trees
            .entry(record)
            .or_default()
            .add(&row.path(), &row.leaf());
    }
    for record in [
        RECORD_PAGE_URLS,
        RECORD_PAGE_TITLES,
        RECORD_OUTLINKS,
        RECORD_DOWNLOADS,
        RECORD_SITE_SEARCH,
    ] {
        let mut table = trees.remove(record).unwrap_or_default().finish();
        let limits = RowLimits::ACTIONS;
        table.truncate(limits.rows, limits.subtable_rows, "nb_visits");
        data.blobs.insert(record.to_owned(), table);
    }
}

/// What one (visit, page) pair of a goal adds to the page's goal metrics.
#[derive(Debug, Default)]
struct PageGroup {
    count: f64,
    revenue: Option<f64>,
    pages_before: f64,
    attrib: Option<f64>,
    revenue_attrib: Option<f64>,
}

fn add_opt(into: &mut Option<f64>, value: Option<f64>) {
    if let Some(value) = value {
        *into = Some(into.unwrap_or(0.0) + value);
    }
}

/// The goal metrics of the pages viewed before a conversion (`LogAggregator::
/// queryConversionsByPageView`, per goal): each conversion of the day joins every action of its
/// visit at or before it (events aside, see [`VisitAction`]) whose URL is a page (`idaction_url`,
/// type 1) or whose name is a title (type 4), grouped by visit and page. Per group:
/// `nb_conversions` and `nb_conversions_page_uniq` are `COUNT(*)`, `revenue` is
/// `ROUND(SUM(revenue), 2)`, `nb_conversions_attrib` is `SUM(ROUND(1 / pageviews_before, 4))`,
/// `revenue_attrib` is `ROUND(SUM(1 / pageviews_before * revenue), 2)`, `nb_conv_pages_before`
/// is the (first conversion's) `pageviews_before` and `nb_conversions_page_rate` starts at 0 (the
/// API computes it). Groups are summed into the page's row when the day has that row
/// (`ArchivingHelper::updateActionsTableRowWithGoals`), except `nb_conv_pages_before`: Matomo
/// 5.3.1's answers hold the largest of the visits' values there, not their sum (golden-seed1:
/// visits converting after 3 and 5 pageviews give 5, while the attribution is 1/3 + 1/5).
fn page_goals(day: &DayActions, rows: &mut HashMap<i64, ActionRow>) {
    let mut by_visit: HashMap<i64, Vec<&VisitAction>> = HashMap::new();
    for action in &day.converting_visit_actions {
        by_visit.entry(action.idvisit).or_default().push(action);
    }
    // The URL must be a page (type 1), the name a title (type 4): the row's report says so.
    let is = |id: &i64, report: Report| rows.get(id).is_some_and(|row| row.report == report);
    let mut groups: BTreeMap<(i64, i64, i64), PageGroup> = BTreeMap::new();
    for conversion in &day.conversions {
        let Some(actions) = by_visit.get(&conversion.idvisit) else {
            continue;
        };
        for action in actions
            .iter()
            .filter(|a| a.server_time <= conversion.server_time)
        {
            let pages = [
                action.idaction_url.filter(|id| is(id, Report::Pages)),
                action
                    .idaction_name
                    .filter(|id| *id != TITLE_NOT_DEFINED && is(id, Report::Titles)),
            ];
            for idaction in pages.into_iter().flatten() {
                let group = groups
                    .entry((conversion.idgoal, idaction, conversion.idvisit))
                    .or_default();
                if group.count == 0.0 {
                    group.pages_before = conversion.pageviews_before.unwrap_or(0) as f64;
                }
                group.count += 1.0;
                add_opt(&mut group.revenue, conversion.revenue);
                // MySQL's `1 / 0` is NULL, which SUM skips.
                if let Some(before) = conversion.pageviews_before.filter(|b| *b > 0) {
                    // MySQL divides integers into a DECIMAL of 4 places
                    // (`div_precision_increment`), so `1 / 3` is 0.3333 in both sums.
                    let share = (10_000.0 / before as f64).round() / 10_000.0;
                    add_opt(&mut group.attrib, Some(share));
                    add_opt(
                        &mut group.revenue_attrib,
                        conversion.revenue.map(|r| share * r),
                    );
                }
            }
        }
    }
    for ((idgoal, idaction, _), group) in groups {
        let Some(row) = rows.get_mut(&idaction) else {
            continue;
        };
        let goal = row.acc.goals.entry(idgoal).or_default();
        bump(goal, "nb_conversions", group.count);
        if let Some(revenue) = group.revenue {
            bump(goal, "revenue", round2(revenue));
        }
        let before = goal.entry("nb_conv_pages_before".to_owned()).or_default();
        *before = before.max(group.pages_before);
        if let Some(attrib) = group.attrib {
            bump(goal, "nb_conversions_attrib", attrib);
            bump(goal, "nb_conversions_page_rate", 0.0);
        }
        bump(goal, "nb_conversions_page_uniq", group.count);
        if let Some(revenue) = group.revenue_attrib {
            bump(goal, "revenue_attrib", round2(revenue));
        }
    }
}

/// The goal metrics of entry pages (`LogAggregator::queryConversionsByEntryPageView`): the day's
/// conversions grouped by their visit's entry page URL, and again by entry title, and goal:
/// `revenue_entry` is `ROUND(SUM(revenue), 2)`, `nb_conversions_entry` is `COUNT(*)`; when the
/// row has entries that day, `nb_conversions_entry_rate` and `revenue_per_entry` divide them by
/// `entry_nb_visits`, 3 decimals (`GoalManager::REVENUE_PRECISION + 1`,
/// `ArchivingHelper::updateActionsTableRowWithGoals`).
fn entry_goals(day: &DayActions, rows: &mut HashMap<i64, ActionRow>) {
    let mut groups: BTreeMap<(i64, i64), (f64, Option<f64>)> = BTreeMap::new();
    for conversion in &day.conversions {
        for idaction in [
            conversion.visit_entry_idaction_url,
            conversion.visit_entry_idaction_name,
        ]
        .into_iter()
        .flatten()
        {
            let group = groups.entry((idaction, conversion.idgoal)).or_default();
            group.0 += 1.0;
            add_opt(&mut group.1, conversion.revenue);
        }
    }
    for ((idaction, idgoal), (count, revenue)) in groups {
        let Some(row) = rows.get_mut(&idaction) else {
            continue;
        };
        let entries = row.acc.entry_visits as f64;
        let goal = row.acc.goals.entry(idgoal).or_default();
        let revenue = revenue.map(round2);
        if let Some(revenue) = revenue {
            bump(goal, "revenue_entry", revenue);
        }
        if entries > 0.0 {
            bump(goal, "nb_conversions_entry_rate", quotient3(count, entries));
            if let Some(revenue) = revenue {
                bump(goal, "revenue_per_entry", quotient3(revenue, entries));
            }
        }
        bump(goal, "nb_conversions_entry", count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_visit_actions_unpack_in_order_with_missing_ids_as_none() {
        let mut actions = Vec::new();
        unpack_visit_actions(7, "100,3,4;105,,9;110,5,", &mut actions).unwrap();
        let got: Vec<(i64, i64, Option<i64>, Option<i64>)> = actions
            .iter()
            .map(|a| (a.idvisit, a.server_time, a.idaction_url, a.idaction_name))
            .collect();
        assert_eq!(
            got,
            [
                (7, 100, Some(3), Some(4)),
                (7, 105, None, Some(9)),
                (7, 110, Some(5), None)
            ]
        );
        assert!(unpack_visit_actions(7, "100,3", &mut actions).is_err());
        assert!(unpack_visit_actions(7, "x,3,4", &mut actions).is_err());
    }

    #[test]
    fn outlink_hosts_keep_www_and_leaves_are_the_path() {
        assert_eq!(
            link_path("https://www.Wikipedia.org/wiki/X?a=1#top"),
            ["www.Wikipedia.org", "/wiki/X?a=1#top"]
        );
        assert_eq!(link_path("http://a.example"), ["a.example", "/"]);
        assert_eq!(link_path("ftp://files/x.zip"), ["ftp:", "files", "/x.zip"]);
    }

    /// A dictionary entry's group: `hits` actions in as many visits of as many visitors.
    fn group(id: i64, kind: i64, name: &str, hits: i64) -> ActionGroup {
        ActionGroup {
            id: Some(id),
            kind: Some(kind),
            name: Some(name.to_owned()),
            url_prefix: (kind == TYPE_PAGE_URL).then_some(2),
            hits,
            visits: hits,
            visitors: hits,
            views: if kind == TYPE_PAGE_URL { hits } else { 0 },
            uniq_views: if kind == TYPE_PAGE_URL { hits } else { 0 },
            ..ActionGroup::default()
        }
    }

    fn entry_exit(side: i64, id: i64, visits: i64) -> EntryExit {
        EntryExit {
            side,
            id: Some(id),
            visits,
            uniq_visitors: visits,
            actions: 2 * visits,
            visit_length: 100 * visits,
            bounces: 0,
        }
    }

    fn find<'a>(table: &'a Table, label: &str) -> &'a Rec {
        table
            .rows
            .iter()
            .find(|r| r.label == label)
            .unwrap_or_else(|| panic!("no row {label}"))
    }

    /// Two visits view `/p/a` (id 1, title 10) then `/p/b` (id 2, title 20), 30 s on `/p/a` in
    /// the first, and convert goal 1 after 1 and 3 pageviews; the second visit's event on `/p/a`
    /// does not count.
    fn day() -> DayActions {
        let mut a = group(1, TYPE_PAGE_URL, "example.com/p/a", 2);
        a.events = 1;
        let by_url = vec![a, group(2, TYPE_PAGE_URL, "example.com/p/b", 2)];
        let by_name = vec![
            group(10, TYPE_PAGE_TITLE, "title 10", 2),
            group(20, TYPE_PAGE_TITLE, "title 20", 2),
        ];
        let time = vec![
            TimeSpent { id: 1, time: 30 },
            TimeSpent { id: 10, time: 30 },
        ];
        let entry_exit = vec![entry_exit(0, 1, 2), entry_exit(1, 2, 2)];
        let converting = |idvisit: i64, idaction_url: i64, server_time: i64, event: bool| {
            (!event).then_some(VisitAction {
                idvisit,
                server_time,
                idaction_url: Some(idaction_url),
                idaction_name: None,
            })
        };
        DayActions {
            by_url,
            by_name,
            time,
            entry_exit,
            conversions: vec![
                GoalConversion {
                    idvisit: 10,
                    idgoal: 1,
                    server_time: 5,
                    revenue: Some(10.0),
                    pageviews_before: Some(1),
                    visit_entry_idaction_url: Some(1),
                    visit_entry_idaction_name: None,
                },
                GoalConversion {
                    idvisit: 11,
                    idgoal: 1,
                    server_time: 50,
                    revenue: Some(10.0),
                    pageviews_before: Some(3),
                    visit_entry_idaction_url: Some(1),
                    visit_entry_idaction_name: None,
                },
            ],
            converting_visit_actions: [
                converting(10, 1, 1, false),
                converting(10, 2, 9, false),
                converting(11, 1, 10, false),
                converting(11, 1, 20, true),
                converting(11, 2, 30, false),
            ]
            .into_iter()
            .flatten()
            .collect(),
        }
    }

    #[test]
    fn folders_sum_their_pages_and_time_goes_to_the_referenced_page() {
        let mut data = ArchiveData::default();
        archive(&day(), &mut data);
        let pages = &data.blobs[RECORD_PAGE_URLS];
        let folder = find(pages, "p");
        // Two pages seen in two visits each: the folder sums them, it does not count visits.
        assert_eq!(folder.get("nb_visits"), 4.0);
        let sub = folder.sub.as_ref().expect("subtable");
        let a = find(sub, "/a");
        // 30 s from the page that followed.
        assert_eq!(a.get("sum_time_spent"), 30.0);
        assert_eq!(a.get("nb_hits"), 2.0);
        assert_eq!(a.get("entry_nb_visits"), 2.0);
        assert_eq!(a.meta["url"], "https://example.com/p/a");
        assert_eq!(find(sub, "/b").get("exit_nb_visits"), 2.0);
        assert_eq!(data.numeric[&goal_conversions_record(1)], 2.0);
        // Four pageviews in two visits on two URLs, plus the event.
        assert_eq!(data.numeric["nb_pageviews"], 4.0);
        assert_eq!(data.numeric["nb_uniq_pageviews"], 4.0);
        assert_eq!(data.numeric["hits"], 5.0);
        let titles = &data.blobs[RECORD_PAGE_TITLES];
        assert_eq!(find(titles, " title 10").get("sum_time_spent"), 30.0);
    }

    #[test]
    fn pages_before_a_conversion_share_it_and_keep_the_largest_page_count() {
        let mut data = ArchiveData::default();
        archive(&day(), &mut data);
        let pages = &data.blobs[RECORD_PAGE_URLS];
        let folder = find(pages, "p");
        let a = &find(folder.sub.as_ref().expect("subtable"), "/a").goals[&1];
        // Visit 10 converted after `/a` only, visit 11 after `/a` (once: the event is not
        // counted) and `/b`.
        assert_eq!(a["nb_conversions"], 2.0);
        assert_eq!(a["nb_conv_pages_before"], 3.0);
        assert_eq!(a["nb_conversions_attrib"], 1.0 + 0.3333);
        assert_eq!(a["revenue_attrib"], 10.0 + 3.33);
        assert_eq!(a["revenue_entry"], 20.0);
        assert_eq!(a["nb_conversions_entry_rate"], 1.0);
        assert_eq!(a["revenue_per_entry"], 10.0);
        let b = &find(folder.sub.as_ref().expect("subtable"), "/b").goals[&1];
        assert_eq!(b["nb_conversions"], 1.0);
        assert!(!b.contains_key("revenue_entry"));
    }
}
