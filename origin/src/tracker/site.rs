//! A site's settings as the tracker needs them, parsed once and cached.
//!
//! Sites change rarely and are read on every request, so they live in memory. An unknown id is
//! looked up in the database at once (a site created a second ago tracks at once); settings changed
//! by another process are picked up within [`TTL`].

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use chrono::{FixedOffset, NaiveDate, Offset};

use crate::{
    enrich::{
        exclusion::{split_list, SiteExclusions},
        goal::{GoalDef, MatchAttribute, PatternType},
    },
    store::{CustomDimension, GlobalSettings, Goal, Site, Store, StoreError},
};

/// How long a cached site is trusted before it is read again.
const TTL: Duration = Duration::from_secs(60);

/// Matomo's default site-search keyword parameters (`plugins/SitesManager/API.php`).
const DEFAULT_SEARCH_KEYWORD_PARAMETERS: &[&str] = &[
    "q",
    "query",
    "s",
    "search",
    "searchword",
    "k",
    "keyword",
    "keywords",
];

/// A site's time zone: a tz database name, or Matomo's `UTC+5.5` style fixed offsets.
#[derive(Debug, Clone, Copy)]
pub enum SiteTz {
    Named(chrono_tz::Tz),
    Fixed(FixedOffset),
}

impl SiteTz {
    /// Parses `Europe/Paris`, `UTC`, `UTC+5.5` or `UTC-3`; unknown names fall back to UTC.
    pub fn parse(name: &str) -> Self {
        if let Ok(tz) = name.parse::<chrono_tz::Tz>() {
            return Self::Named(tz);
        }
        let offset = name
            .strip_prefix("UTC")
            .and_then(|hours| hours.parse::<f64>().ok())
            .and_then(|hours| FixedOffset::east_opt((hours * 3600.0).round() as i32));
        Self::Fixed(offset.unwrap_or_else(|| chrono::Utc.fix()))
    }

    /// The site-local hour (0 to 23) of a UNIX time.
    pub fn local_hour(&self, unix: i64) -> u32 {
        use chrono::Timelike;
        let utc = chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default();
        match self {
            Self::Named(tz) => utc.with_timezone(tz).hour(),
            Self::Fixed(offset) => utc.with_timezone(offset).hour(),
        }
    }

    /// The site-local calendar day of a UNIX time.
    pub fn local_date(&self, unix: i64) -> NaiveDate {
        let utc = chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default();
        match self {
            Self::Named(tz) => utc.with_timezone(tz).date_naive(),
            Self::Fixed(offset) => utc.with_timezone(offset).date_naive(),
        }
    }
}

/// Everything the visit rules read about a site.
#[derive(Debug)]
pub struct SiteInfo {
    pub site: Site,
    pub tz: SiteTz,
    pub goals: Vec<GoalDef>,
    pub exclusions: SiteExclusions,
    /// Keyword and category parameters when site search is enabled.
    pub site_search: Option<(Vec<String>, Vec<String>)>,
    pub keep_url_fragment: bool,
    /// Active custom dimensions, by idcustomdimension.
    pub dimensions: Vec<CustomDimension>,
}

impl SiteInfo {
    /// The site's settings with the global ones applied (see [`GlobalSettings`]).
    pub fn new(
        site: Site,
        goals: &[Goal],
        dimensions: Vec<CustomDimension>,
        globals: &GlobalSettings,
    ) -> Self {
        let list = |value: &str| -> Vec<String> { split_list(value).map(str::to_owned).collect() };
        let both = |own: &str, global: &str| format!("{own},{global}");
        let site_search = (site.sitesearch != 0).then(|| {
            let mut keywords = list(&site.sitesearch_keyword_parameters);
            if keywords.is_empty() {
                keywords = match &globals.search_keyword_parameters {
                    Some(global) => list(global),
                    None => DEFAULT_SEARCH_KEYWORD_PARAMETERS
                        .iter()
                        .map(|p| (*p).to_owned())
                        .collect(),
                };
            }
            let mut categories = list(&site.sitesearch_category_parameters);
            if categories.is_empty() {
                categories = list(&globals.search_category_parameters);
            }
            (keywords, categories)
        });
        Self {
            tz: SiteTz::parse(&site.timezone),
            goals: goals.iter().filter_map(goal_def).collect(),
            exclusions: SiteExclusions::from_settings(
                &both(&site.excluded_ips, &globals.excluded_ips),
                &both(&site.excluded_user_agents, &globals.excluded_user_agents),
                &both(
                    &site.excluded_parameters,
                    &globals.excluded_query_parameters,
                ),
                &both(&site.excluded_referrers, &globals.excluded_referrers),
                site.exclude_unknown_urls != 0,
            ),
            site_search,
            // 1 keeps fragments, 2 removes them, 0 follows the global setting (off by default).
            keep_url_fragment: match site.keep_url_fragment {
                0 => globals.keep_url_fragments,
                value => value == 1,
            },
            dimensions: dimensions.into_iter().filter(|d| d.active != 0).collect(),
            site,
        }
    }
}

/// A stored goal as the matcher sees it; `None` for match attributes we do not evaluate
/// per action (visit-based goals), which therefore never convert.
fn goal_def(goal: &Goal) -> Option<GoalDef> {
    Some(GoalDef {
        idgoal: goal.idgoal,
        match_attribute: MatchAttribute::parse(&goal.match_attribute)?,
        pattern: goal.pattern.clone(),
        pattern_type: PatternType::parse(&goal.pattern_type)?,
        case_sensitive: goal.case_sensitive != 0,
        allow_multiple: goal.allow_multiple != 0,
        revenue: goal.revenue,
    })
}

/// Sites by id, read through from the store.
#[derive(Debug, Default)]
pub struct SiteCache {
    entries: RwLock<HashMap<i64, (Arc<SiteInfo>, Instant)>>,
}

impl SiteCache {
    /// The site, or `None` when no site has this id.
    pub async fn get(
        &self,
        store: &Store,
        idsite: i64,
    ) -> Result<Option<Arc<SiteInfo>>, StoreError> {
        if let Some((info, loaded)) = self.read().get(&idsite) {
            if loaded.elapsed() < TTL {
                return Ok(Some(Arc::clone(info)));
            }
        }
        let Some(site) = store.site(idsite).await? else {
            return Ok(None);
        };
        let goals = store.goals(idsite).await?;
        let dimensions = store.custom_dimensions(idsite).await?;
        let globals = store.global_settings().await?;
        let info = Arc::new(SiteInfo::new(site, &goals, dimensions, &globals));
        self.write()
            .insert(idsite, (Arc::clone(&info), Instant::now()));
        Ok(Some(info))
    }

    /// Forgets a site after its settings or goals changed in this process.
    pub fn invalidate(&self, idsite: i64) {
        self.write().remove(&idsite);
    }

    /// Forgets every site (after a global setting changed in this process).
    pub fn clear(&self) {
        self.write().clear();
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i64, (Arc<SiteInfo>, Instant)>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<i64, (Arc<SiteInfo>, Instant)>> {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_york_evening_is_still_the_same_local_day() {
        let tz = SiteTz::parse("America/New_York");
        // 2026-10-01 02:00 UTC is 2026-09-30 22:00 in New York.
        assert_eq!(tz.local_date(1_790_820_000).to_string(), "2026-09-30");
    }

    #[test]
    fn matomo_fixed_offsets_are_understood() {
        let tz = SiteTz::parse("UTC+5.5");
        // 2026-09-30 20:00 UTC is 2026-10-01 01:30 at UTC+5:30.
        assert_eq!(tz.local_date(1_790_798_400).to_string(), "2026-10-01");
    }
}
