//! Archives one site-local day from the log tables: VisitsSummary metrics, the Referrers tables
//! and the Actions metrics and tables.
//!
//! Visits belong to the day of their `visit_last_action_time`, actions and conversions to the day
//! of their `server_time` (spec/MATOMO.md 2.4). The day's rows are read once and aggregated in
//! Rust, so the same code runs on both backends.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{
    actions,
    data::{ArchiveData, Rec, Table},
    limits,
};
use crate::{
    enrich::referrer::{self, KEYWORD_NOT_DEFINED},
    store::{on_db, Result, Store},
};

/// The visit columns the day archive reads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct VisitLog {
    pub idvisitor: Vec<u8>,
    pub user_id: Option<String>,
    pub visit_total_actions: i64,
    pub visit_total_time: i64,
    pub visit_goal_converted: i64,
    pub referer_type: Option<i64>,
    pub referer_name: Option<String>,
    pub referer_keyword: Option<String>,
    pub referer_url: Option<String>,
    pub visit_entry_idaction_url: Option<i64>,
    pub visit_entry_idaction_name: Option<i64>,
    pub visit_exit_idaction_url: Option<i64>,
    pub visit_exit_idaction_name: Option<i64>,
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

async fn load_visits(store: &Store, idsite: i64, from: i64, to: i64) -> Result<Vec<VisitLog>> {
    Ok(on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT idvisit, idvisitor, user_id, visit_total_actions, visit_total_time, \
             visit_goal_converted, referer_type, referer_name, referer_keyword, referer_url, \
             visit_entry_idaction_url, visit_entry_idaction_name, visit_exit_idaction_url, \
             visit_exit_idaction_name FROM log_visit WHERE idsite = $1 \
             AND visit_last_action_time >= $2 AND visit_last_action_time < $3 ORDER BY idvisit",
        )
        .bind(idsite)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
    }))
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

/// Computes the archive of the day whose UTC bounds are `[from, to)`.
pub async fn archive_day(store: &Store, idsite: i64, from: i64, to: i64) -> Result<ArchiveData> {
    let visits = load_visits(store, idsite, from, to).await?;
    let conversions = load_conversions(store, idsite, from, to).await?;
    let action_rows = actions::load(store, idsite, from, to).await?;
    let mut data = ArchiveData::default();
    visits_summary(&visits, &mut data.numeric);
    referrer_tables(&visits, &conversions, &mut data.blobs);
    actions::archive(&visits, &action_rows, &conversions, &mut data);
    Ok(data)
}

/// Whether a visit bounced: one action or none (`LogAggregator`, spec/MATOMO.md 2.4).
pub(crate) fn bounced(visit: &VisitLog) -> bool {
    visit.visit_total_actions <= 1
}

/// VisitsSummary's metrics (`VisitsSummary.get`).
fn visits_summary(visits: &[VisitLog], numeric: &mut BTreeMap<String, f64>) {
    let visitors: HashSet<&[u8]> = visits.iter().map(|v| v.idvisitor.as_slice()).collect();
    let users: HashSet<&str> = visits.iter().filter_map(|v| v.user_id.as_deref()).collect();
    let mut put = |name: &str, value: f64| {
        numeric.insert(name.to_owned(), value);
    };
    put("nb_uniq_visitors", visitors.len() as f64);
    put("nb_users", users.len() as f64);
    put("nb_visits", visits.len() as f64);
    put(
        "nb_actions",
        visits.iter().map(|v| v.visit_total_actions as f64).sum(),
    );
    put(
        "nb_visits_converted",
        visits
            .iter()
            .filter(|v| v.visit_goal_converted != 0)
            .count() as f64,
    );
    put(
        "bounce_count",
        visits.iter().filter(|v| bounced(v)).count() as f64,
    );
    put(
        "sum_visit_length",
        visits.iter().map(|v| v.visit_total_time as f64).sum(),
    );
    put(
        "max_actions",
        visits
            .iter()
            .map(|v| v.visit_total_actions as f64)
            .fold(0.0, f64::max),
    );
}

/// Accumulates visit metrics per label path, with the distinct sets unique counts need.
#[derive(Debug, Default)]
pub(crate) struct VisitTree {
    rows: HashMap<String, VisitNode>,
}

#[derive(Debug, Default)]
struct VisitNode {
    rec: Rec,
    visitors: HashSet<Vec<u8>>,
    users: HashSet<String>,
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

    /// Adds a visit to the row at `path` and to every row above it.
    pub(crate) fn add_visit(&mut self, path: &[&str], visit: &VisitLog) {
        for depth in 1..=path.len() {
            if let Some(node) = self.node(&path[..depth]) {
                node.visitors.insert(visit.idvisitor.clone());
                if let Some(user) = &visit.user_id {
                    node.users.insert(user.clone());
                }
                let m = &mut node.rec.m;
                *m.entry("nb_visits".into()).or_default() += 1.0;
                *m.entry("nb_actions".into()).or_default() += visit.visit_total_actions as f64;
                let max = m.entry("max_actions".into()).or_default();
                *max = max.max(visit.visit_total_actions as f64);
                *m.entry("sum_visit_length".into()).or_default() += visit.visit_total_time as f64;
                *m.entry("bounce_count".into()).or_default() += f64::from(u8::from(bounced(visit)));
                *m.entry("nb_visits_converted".into()).or_default() +=
                    f64::from(u8::from(visit.visit_goal_converted != 0));
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
                    .insert("nb_uniq_visitors".into(), node.visitors.len() as f64);
                rec.m.insert("nb_users".into(), node.users.len() as f64);
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
    visits: &[VisitLog],
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
    for visit in visits {
        let labels = Labels::new(
            visit.referer_type,
            &visit.referer_name,
            &visit.referer_keyword,
            &visit.referer_url,
        );
        for (record, path) in labels.paths(true) {
            if let Some(tree) = trees.get_mut(record) {
                tree.add_visit(&path, visit);
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
        table.truncate(limits::REFERRERS, limits::SUBTABLE_REFERRERS, "nb_visits");
        blobs.insert(record.to_owned(), table);
    }
}
