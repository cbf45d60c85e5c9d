//! The Actions part of a day archive: `Actions.get` metrics, page URLs and titles, outlinks,
//! downloads and site-search keywords, from `log_link_visit_action` joined with `log_action`.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{
    data::{ArchiveData, Rec, Table},
    day::{ConversionLog, VisitLog},
    limits,
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

/// One action of the day with the names of its dictionary entries.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ActionLog {
    pub idvisit: i64,
    pub idvisitor: Vec<u8>,
    pub idaction_url: Option<i64>,
    pub idaction_name: Option<i64>,
    pub time_spent_ref_action: Option<i64>,
    pub idaction_event_category: Option<i64>,
    pub idaction_content_name: Option<i64>,
    pub idaction_content_interaction: Option<i64>,
    pub url_type: Option<i64>,
    pub url_name: Option<String>,
    pub url_prefix: Option<i64>,
    pub name_type: Option<i64>,
    pub name_name: Option<String>,
    pub ref_name_type: Option<i64>,
}

/// The day's actions in visit order.
pub(crate) async fn load(store: &Store, idsite: i64, from: i64, to: i64) -> Result<Vec<ActionLog>> {
    Ok(on_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT a.idvisit, a.idvisitor, a.idaction_url, a.idaction_name, \
             a.time_spent_ref_action, a.idaction_event_category, a.idaction_content_name, \
             a.idaction_content_interaction, u.type AS url_type, u.name AS url_name, \
             u.url_prefix AS url_prefix, n.type AS name_type, n.name AS name_name, \
             r.type AS ref_name_type \
             FROM log_link_visit_action a \
             LEFT JOIN log_action u ON u.idaction = a.idaction_url \
             LEFT JOIN log_action n ON n.idaction = a.idaction_name \
             LEFT JOIN log_action r ON r.idaction = a.idaction_name_ref \
             WHERE a.idsite = $1 AND a.server_time >= $2 AND a.server_time < $3 \
             ORDER BY a.idvisit, a.server_time, a.idlink_va",
        )
        .bind(idsite)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
    }))
}

/// What an action is, as the Actions reports count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pageview,
    Search,
    Outlink,
    Download,
    Event,
    /// A content interaction counts as an action; an impression does not.
    Content {
        interaction: bool,
    },
    Other,
}

fn kind(action: &ActionLog) -> Kind {
    if action.idaction_event_category.is_some() {
        Kind::Event
    } else if action.idaction_content_name.is_some() {
        Kind::Content {
            interaction: action.idaction_content_interaction.is_some(),
        }
    } else if action.name_type == Some(8) {
        Kind::Search
    } else {
        match action.url_type {
            Some(1) => Kind::Pageview,
            Some(2) => Kind::Outlink,
            Some(3) => Kind::Download,
            _ => Kind::Other,
        }
    }
}

/// The host of a URL without `www.`: the first level of the outlink and download reports.
fn link_domain(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.strip_prefix("www.").unwrap_or(host).to_lowercase()
}

/// Per-row accumulator of action metrics with the distinct visit/visitor sets.
#[derive(Debug, Default)]
struct Node {
    rec: Rec,
    visits: HashSet<i64>,
    visitors: HashSet<Vec<u8>>,
    entry_visitors: HashSet<Vec<u8>>,
    exit_visitors: HashSet<Vec<u8>>,
    sub: Option<Tree>,
}

#[derive(Debug, Default)]
struct Tree {
    rows: HashMap<String, Node>,
}

impl Tree {
    fn node(&mut self, path: &[String]) -> Option<&mut Node> {
        let (first, rest) = path.split_first()?;
        let node = self.rows.entry(first.clone()).or_insert_with(|| Node {
            rec: Rec::new(first.clone()),
            ..Node::default()
        });
        if rest.is_empty() {
            Some(node)
        } else {
            node.sub.get_or_insert_with(Tree::default).node(rest)
        }
    }

    /// Applies `f` to the node at every depth of `path`.
    fn each(&mut self, path: &[String], mut f: impl FnMut(&mut Node)) {
        for depth in 1..=path.len() {
            if let Some(node) = self.node(&path[..depth]) {
                f(node);
            }
        }
    }

    fn finish(self, uniques: bool) -> Table {
        let rows = self
            .rows
            .into_values()
            .map(|node| {
                let mut rec = node.rec;
                rec.m.insert("nb_visits".into(), node.visits.len() as f64);
                if uniques {
                    rec.m
                        .insert("nb_uniq_visitors".into(), node.visitors.len() as f64);
                    if !node.entry_visitors.is_empty() {
                        rec.m.insert(
                            "entry_nb_uniq_visitors".into(),
                            node.entry_visitors.len() as f64,
                        );
                    }
                    if !node.exit_visitors.is_empty() {
                        rec.m.insert(
                            "exit_nb_uniq_visitors".into(),
                            node.exit_visitors.len() as f64,
                        );
                    }
                }
                rec.sub = node.sub.map(|sub| sub.finish(uniques));
                rec
            })
            .collect();
        Table { rows }
    }
}

fn bump(rec: &mut Rec, name: &str, by: f64) {
    *rec.m.entry(name.to_owned()).or_default() += by;
}

/// The hierarchical path of a page URL (`url_path_segments`), or of a title (one level).
fn url_path(name: &str) -> Vec<String> {
    let segments = url::url_path_segments(name);
    if segments.is_empty() {
        vec!["/index".to_owned()]
    } else {
        segments
    }
}

/// Fills the Actions metrics and tables of a day archive.
pub(crate) fn archive(
    visits: &[VisitLog],
    actions: &[ActionLog],
    _conversions: &[ConversionLog],
    data: &mut ArchiveData,
) {
    let visit_by_id: HashMap<i64, &VisitLog> = visits.iter().map(|v| (v.idvisit, v)).collect();
    let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
    let mut uniq: BTreeMap<&str, HashSet<(i64, Option<i64>)>> = BTreeMap::new();
    let mut pages = Tree::default();
    let mut titles = Tree::default();
    let mut outlinks = Tree::default();
    let mut downloads = Tree::default();
    let mut searches = Tree::default();
    let mut hits = 0.0;

    // Actions come ordered by visit then time: the next action of the same visit tells how long
    // this one lasted (its `time_spent_ref_action`) and whether this one was the visit's exit.
    for (i, action) in actions.iter().enumerate() {
        let next = actions.get(i + 1).filter(|n| n.idvisit == action.idvisit);
        let time_spent = next.and_then(|n| n.time_spent_ref_action).unwrap_or(0) as f64;
        let is_last = next.is_none();
        let following_search = action.ref_name_type == Some(8);
        let kind = kind(action);
        if !matches!(kind, Kind::Content { interaction: false } | Kind::Other) {
            hits += 1.0;
        }
        let add = |tree: &mut Tree, path: &[String]| {
            tree.each(path, |node| {
                node.visits.insert(action.idvisit);
                node.visitors.insert(action.idvisitor.clone());
                bump(&mut node.rec, "nb_hits", 1.0);
                bump(&mut node.rec, "sum_time_spent", time_spent);
                if following_search {
                    bump(&mut node.rec, "nb_hits_following_search", 1.0);
                }
            });
        };
        match kind {
            Kind::Pageview => {
                *counts.entry("nb_pageviews").or_default() += 1.0;
                uniq.entry("nb_uniq_pageviews")
                    .or_default()
                    .insert((action.idvisit, action.idaction_url));
                if let Some(name) = &action.url_name {
                    let path = url_path(name);
                    add(&mut pages, &path);
                    if let Some(leaf) = pages.node(&path) {
                        let prefix = action.url_prefix.and_then(|p| u8::try_from(p).ok());
                        leaf.rec
                            .meta
                            .entry("url".to_owned())
                            .or_insert_with(|| url::join_prefix(prefix, name));
                    }
                }
                let title = action
                    .name_name
                    .as_deref()
                    .filter(|_| action.name_type == Some(4))
                    .unwrap_or("");
                add(&mut titles, &[title_label(title)]);
            }
            Kind::Search => {
                *counts.entry("nb_searches").or_default() += 1.0;
                if let Some(keyword) = &action.name_name {
                    let path = [keyword.clone()];
                    add(&mut searches, &path);
                    if is_last {
                        searches.each(&path, |node| bump(&mut node.rec, "exit_nb_visits", 1.0));
                    }
                }
            }
            Kind::Outlink | Kind::Download => {
                let (count, uniq_name, tree) = if kind == Kind::Outlink {
                    ("nb_outlinks", "nb_uniq_outlinks", &mut outlinks)
                } else {
                    ("nb_downloads", "nb_uniq_downloads", &mut downloads)
                };
                *counts.entry(count).or_default() += 1.0;
                uniq.entry(uniq_name)
                    .or_default()
                    .insert((action.idvisit, action.idaction_url));
                if let Some(link) = &action.url_name {
                    add(tree, &[link_domain(link), link.clone()]);
                }
            }
            _ => {}
        }
    }

    // Entry and exit metrics come from the visits' entry and exit pages.
    let names: HashMap<i64, (&str, Option<i64>)> = actions
        .iter()
        .filter_map(|a| Some((a.idaction_url?, (a.url_name.as_deref()?, a.url_prefix))))
        .collect();
    let title_names: HashMap<i64, &str> = actions
        .iter()
        .filter(|a| a.name_type == Some(4))
        .filter_map(|a| Some((a.idaction_name?, a.name_name.as_deref()?)))
        .collect();
    for visit in visit_by_id.values() {
        let entry_exit = |tree: &mut Tree, path: Option<Vec<String>>, entry: bool| {
            let Some(path) = path else { return };
            tree.each(&path, |node| {
                if entry {
                    node.entry_visitors.insert(visit.idvisitor.clone());
                    bump(&mut node.rec, "entry_nb_visits", 1.0);
                    bump(
                        &mut node.rec,
                        "entry_nb_actions",
                        visit.visit_total_actions as f64,
                    );
                    bump(
                        &mut node.rec,
                        "entry_sum_visit_length",
                        visit.visit_total_time as f64,
                    );
                    bump(
                        &mut node.rec,
                        "entry_bounce_count",
                        f64::from(u8::from(super::day::bounced(visit))),
                    );
                } else {
                    node.exit_visitors.insert(visit.idvisitor.clone());
                    bump(&mut node.rec, "exit_nb_visits", 1.0);
                }
            });
        };
        let url_of = |id: Option<i64>| {
            id.and_then(|id| names.get(&id))
                .map(|(name, _)| url_path(name))
        };
        let title_of = |id: Option<i64>, url: Option<i64>| {
            url?;
            Some(vec![title_label(
                id.and_then(|id| title_names.get(&id))
                    .copied()
                    .unwrap_or(""),
            )])
        };
        entry_exit(&mut pages, url_of(visit.visit_entry_idaction_url), true);
        entry_exit(&mut pages, url_of(visit.visit_exit_idaction_url), false);
        entry_exit(
            &mut titles,
            title_of(
                visit.visit_entry_idaction_name,
                visit.visit_entry_idaction_url,
            ),
            true,
        );
        entry_exit(
            &mut titles,
            title_of(
                visit.visit_exit_idaction_name,
                visit.visit_exit_idaction_url,
            ),
            false,
        );
    }

    for (name, set) in uniq {
        counts.insert(name, set.len() as f64);
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
        data.numeric
            .insert(name.to_owned(), counts.get(name).copied().unwrap_or(0.0));
    }
    data.numeric.insert("hits".to_owned(), hits);

    let mut put = |name: &str, tree: Tree, uniques: bool, limit: usize, sub_limit: usize| {
        let mut table = tree.finish(uniques);
        table.truncate(limit, sub_limit, "nb_visits");
        data.blobs.insert(name.to_owned(), table);
    };
    put(
        RECORD_PAGE_URLS,
        pages,
        true,
        limits::ACTIONS,
        limits::SUBTABLE_ACTIONS,
    );
    put(
        RECORD_PAGE_TITLES,
        titles,
        true,
        limits::ACTIONS,
        limits::SUBTABLE_ACTIONS,
    );
    put(
        RECORD_OUTLINKS,
        outlinks,
        false,
        limits::ACTIONS,
        limits::SUBTABLE_ACTIONS,
    );
    put(
        RECORD_DOWNLOADS,
        downloads,
        false,
        limits::ACTIONS,
        limits::SUBTABLE_ACTIONS,
    );
    put(
        RECORD_SITE_SEARCH,
        searches,
        false,
        limits::ACTIONS,
        limits::SUBTABLE_ACTIONS,
    );
}

/// A page title's label: Matomo 5 does not split titles, and its flat title labels start with a
/// space (conformance README); a page without title is "Page Name not defined".
fn title_label(title: &str) -> String {
    let title = title.trim();
    if title.is_empty() {
        "Page Name not defined".to_owned()
    } else {
        format!(" {title}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlink_domains_drop_the_scheme_and_www() {
        assert_eq!(link_domain("https://www.Example.com/a?b"), "example.com");
        assert_eq!(link_domain("docs.example.io/x"), "docs.example.io");
    }
}
