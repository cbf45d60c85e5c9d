//! Sites, their URLs and their goals (Matomo's `site`, `site_url` and `goal` tables).

use super::{on_db, Result, Store, StoreError};

/// A row of the `site` table, with its URLs (`main_url` first, then the aliases).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct Site {
    pub idsite: i64,
    pub name: String,
    pub main_url: String,
    pub ts_created: String,
    pub ecommerce: i64,
    pub sitesearch: i64,
    pub sitesearch_keyword_parameters: String,
    pub sitesearch_category_parameters: String,
    pub timezone: String,
    pub currency: String,
    pub exclude_unknown_urls: i64,
    pub excluded_ips: String,
    pub excluded_parameters: String,
    pub excluded_user_agents: String,
    pub excluded_referrers: String,
    pub group: String,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    pub keep_url_fragment: i64,
    pub creator_login: String,
    #[sqlx(skip)]
    #[serde(skip)]
    pub urls: Vec<String>,
}

/// What `SitesManager.addSite` and `edgemeter site add` take (and `updateSite` writes).
#[derive(Debug, Clone, Default)]
pub struct NewSite {
    pub name: String,
    /// The first is the main URL, the rest are aliases; at least one.
    pub urls: Vec<String>,
    pub timezone: Option<String>,
    pub currency: Option<String>,
    pub ecommerce: bool,
    pub sitesearch: bool,
    pub sitesearch_keyword_parameters: String,
    pub sitesearch_category_parameters: String,
    pub excluded_ips: String,
    pub excluded_parameters: String,
    pub excluded_user_agents: String,
    pub excluded_referrers: String,
    pub exclude_unknown_urls: bool,
    pub keep_url_fragment: i64,
    /// `YYYY-MM-DD HH:MM:SS`; now when absent (and unchanged by an update).
    pub ts_created: Option<String>,
    pub creator_login: String,
    pub group: String,
    /// Matomo's measurable type; `website` when absent.
    pub kind: Option<String>,
}

/// A row of the `goal` table.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Goal {
    pub idsite: i64,
    pub idgoal: i64,
    pub name: String,
    pub description: String,
    pub match_attribute: String,
    pub pattern: String,
    pub pattern_type: String,
    pub case_sensitive: i64,
    pub allow_multiple: i64,
    pub revenue: f64,
    pub deleted: i64,
    pub event_value_as_revenue: i64,
}

/// What `Goals.addGoal` takes.
#[derive(Debug, Clone, Default)]
pub struct NewGoal {
    pub idsite: i64,
    pub name: String,
    pub description: String,
    pub match_attribute: String,
    pub pattern: String,
    pub pattern_type: String,
    pub case_sensitive: bool,
    pub allow_multiple: bool,
    pub revenue: f64,
    pub event_value_as_revenue: bool,
}

const SITE_COLUMNS: &str = "idsite, name, main_url, ts_created, ecommerce, sitesearch, \
    sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
    exclude_unknown_urls, excluded_ips, excluded_parameters, excluded_user_agents, \
    excluded_referrers, \"group\", type, keep_url_fragment, creator_login";

impl From<&Site> for NewSite {
    /// A site's current settings, to change some of them.
    fn from(site: &Site) -> Self {
        Self {
            name: site.name.clone(),
            urls: site.urls.clone(),
            timezone: Some(site.timezone.clone()),
            currency: Some(site.currency.clone()),
            ecommerce: site.ecommerce != 0,
            sitesearch: site.sitesearch != 0,
            sitesearch_keyword_parameters: site.sitesearch_keyword_parameters.clone(),
            sitesearch_category_parameters: site.sitesearch_category_parameters.clone(),
            excluded_ips: site.excluded_ips.clone(),
            excluded_parameters: site.excluded_parameters.clone(),
            excluded_user_agents: site.excluded_user_agents.clone(),
            excluded_referrers: site.excluded_referrers.clone(),
            exclude_unknown_urls: site.exclude_unknown_urls != 0,
            keep_url_fragment: site.keep_url_fragment,
            ts_created: None,
            creator_login: site.creator_login.clone(),
            group: site.group.clone(),
            kind: Some(site.kind.clone()),
        }
    }
}

impl Store {
    /// Inserts a site and its URLs; returns the new idsite.
    pub async fn add_site(&self, site: &NewSite) -> Result<i64> {
        let Some(main_url) = site.urls.first() else {
            return Err(StoreError::Conflict(
                "a site needs at least one URL".to_owned(),
            ));
        };
        let ts_created = site
            .ts_created
            .clone()
            .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string());
        let mut tx = self.begin().await?;
        let idsite: i64 = on_db!(&mut tx, tx => {
            let idsite: i64 = sqlx::query_scalar(
                "INSERT INTO site (name, main_url, ts_created, ecommerce, sitesearch, \
                 sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
                 exclude_unknown_urls, excluded_ips, excluded_parameters, excluded_user_agents, \
                 excluded_referrers, keep_url_fragment, creator_login, \"group\", type) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
                 RETURNING idsite",
            )
            .bind(&site.name)
            .bind(main_url)
            .bind(&ts_created)
            .bind(i64::from(site.ecommerce))
            .bind(i64::from(site.sitesearch))
            .bind(&site.sitesearch_keyword_parameters)
            .bind(&site.sitesearch_category_parameters)
            .bind(site.timezone.as_deref().unwrap_or("UTC"))
            .bind(site.currency.as_deref().unwrap_or("USD"))
            .bind(i64::from(site.exclude_unknown_urls))
            .bind(&site.excluded_ips)
            .bind(&site.excluded_parameters)
            .bind(&site.excluded_user_agents)
            .bind(&site.excluded_referrers)
            .bind(site.keep_url_fragment)
            .bind(&site.creator_login)
            .bind(&site.group)
            .bind(site.kind.as_deref().unwrap_or("website"))
            .fetch_one(&mut **tx)
            .await?;
            for url in &site.urls {
                sqlx::query("INSERT INTO site_url (idsite, url) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(idsite)
                    .bind(url)
                    .execute(&mut **tx)
                    .await?;
            }
            idsite
        });
        tx.commit().await?;
        Ok(idsite)
    }

    /// Replaces every setting and the URLs of a site (`SitesManager.updateSite`,
    /// `addSiteAliasUrls`): `site` is the whole new state, the first URL the main one.
    pub async fn update_site(&self, idsite: i64, site: &NewSite) -> Result<()> {
        let Some(main_url) = site.urls.first() else {
            return Err(StoreError::Conflict(
                "a site needs at least one URL".to_owned(),
            ));
        };
        let mut tx = self.begin().await?;
        on_db!(&mut tx, tx => {
            sqlx::query(
                "UPDATE site SET name = $2, main_url = $3, ts_created = COALESCE($4, ts_created), \
                 ecommerce = $5, sitesearch = $6, sitesearch_keyword_parameters = $7, \
                 sitesearch_category_parameters = $8, timezone = $9, currency = $10, \
                 exclude_unknown_urls = $11, excluded_ips = $12, excluded_parameters = $13, \
                 excluded_user_agents = $14, excluded_referrers = $15, keep_url_fragment = $16, \
                 \"group\" = $17, type = $18 WHERE idsite = $1",
            )
            .bind(idsite)
            .bind(&site.name)
            .bind(main_url)
            .bind(&site.ts_created)
            .bind(i64::from(site.ecommerce))
            .bind(i64::from(site.sitesearch))
            .bind(&site.sitesearch_keyword_parameters)
            .bind(&site.sitesearch_category_parameters)
            .bind(site.timezone.as_deref().unwrap_or("UTC"))
            .bind(site.currency.as_deref().unwrap_or("USD"))
            .bind(i64::from(site.exclude_unknown_urls))
            .bind(&site.excluded_ips)
            .bind(&site.excluded_parameters)
            .bind(&site.excluded_user_agents)
            .bind(&site.excluded_referrers)
            .bind(site.keep_url_fragment)
            .bind(&site.group)
            .bind(site.kind.as_deref().unwrap_or("website"))
            .execute(&mut **tx)
            .await?;
            sqlx::query("DELETE FROM site_url WHERE idsite = $1")
                .bind(idsite)
                .execute(&mut **tx)
                .await?;
            for url in &site.urls {
                sqlx::query("INSERT INTO site_url (idsite, url) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(idsite)
                    .bind(url)
                    .execute(&mut **tx)
                    .await?;
            }
        });
        tx.commit().await
    }

    /// Deletes a site with its URLs, goals, custom dimensions and access rows (the foreign
    /// keys cascade). Its log rows and archives stay: they are never read for an unknown site,
    /// and ids are never reused (AUTOINCREMENT, identity columns).
    pub async fn delete_site(&self, idsite: i64) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM site WHERE idsite = $1")
                .bind(idsite)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The ids of the sites one of whose URLs is in `urls`, ascending.
    pub async fn sites_with_url(&self, urls: &[String]) -> Result<Vec<i64>> {
        let placeholders: Vec<String> = (1..=urls.len()).map(|i| format!("${i}")).collect();
        if urls.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT idsite FROM site_url WHERE url IN ({}) ORDER BY idsite",
            placeholders.join(", ")
        );
        Ok(on_db!(&self.db, pool => {
            let mut query = sqlx::query_scalar(&sql);
            for url in urls {
                query = query.bind(url);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// One site with its URLs, or `None` when the id is unknown.
    pub async fn site(&self, idsite: i64) -> Result<Option<Site>> {
        let sql = format!("SELECT {SITE_COLUMNS} FROM site WHERE idsite = $1");
        let site: Option<Site> = on_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(idsite).fetch_optional(pool).await?
        });
        let Some(mut site) = site else {
            return Ok(None);
        };
        site.urls = self.site_urls(idsite, &site.main_url).await?;
        Ok(Some(site))
    }

    /// Every site, by id, with its URLs.
    pub async fn sites(&self) -> Result<Vec<Site>> {
        let sql = format!("SELECT {SITE_COLUMNS} FROM site ORDER BY idsite");
        let mut sites: Vec<Site> =
            on_db!(&self.db, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        for site in &mut sites {
            site.urls = self.site_urls(site.idsite, &site.main_url).await?;
        }
        Ok(sites)
    }

    /// The main URL first, then the aliases in insertion order.
    async fn site_urls(&self, idsite: i64, main_url: &str) -> Result<Vec<String>> {
        let rows: Vec<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT url FROM site_url WHERE idsite = $1 ORDER BY url")
                .bind(idsite)
                .fetch_all(pool)
                .await?
        });
        let mut urls = vec![main_url.to_owned()];
        urls.extend(rows.into_iter().filter(|url| url != main_url));
        Ok(urls)
    }

    /// Adds a goal with the next free idgoal of the site; returns that idgoal.
    pub async fn add_goal(&self, goal: &NewGoal) -> Result<i64> {
        let mut tx = self.begin().await?;
        let idgoal: i64 = on_db!(&mut tx, tx => {
            let next: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(idgoal), 0) + 1 FROM goal WHERE idsite = $1",
            )
            .bind(goal.idsite)
            .fetch_one(&mut **tx)
            .await?;
            sqlx::query(
                "INSERT INTO goal (idsite, idgoal, name, description, match_attribute, pattern, \
                 pattern_type, case_sensitive, allow_multiple, revenue, event_value_as_revenue) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(goal.idsite)
            .bind(next)
            .bind(&goal.name)
            .bind(&goal.description)
            .bind(&goal.match_attribute)
            .bind(&goal.pattern)
            .bind(&goal.pattern_type)
            .bind(i64::from(goal.case_sensitive))
            .bind(i64::from(goal.allow_multiple))
            .bind(goal.revenue)
            .bind(i64::from(goal.event_value_as_revenue))
            .execute(&mut **tx)
            .await?;
            next
        });
        tx.commit().await?;
        Ok(idgoal)
    }

    /// The site's goals that are not deleted, by idgoal.
    pub async fn goals(&self, idsite: i64) -> Result<Vec<Goal>> {
        Ok(on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT idsite, idgoal, name, description, match_attribute, pattern, pattern_type, \
                 case_sensitive, allow_multiple, revenue, deleted, event_value_as_revenue \
                 FROM goal WHERE idsite = $1 AND deleted = 0 ORDER BY idgoal",
            )
            .bind(idsite)
            .fetch_all(pool)
            .await?
        }))
    }
}

/// A custom dimension of a site (Matomo's CustomDimensions plugin): `dimensionN` on a tracking
/// request sets the value of the dimension whose `idcustomdimension` is N, stored in column
/// `custom_dimension_<index>` of the visit (scope `visit`) or the action (scope `action`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomDimension {
    pub idcustomdimension: i64,
    pub idsite: i64,
    pub name: String,
    pub index: i64,
    pub scope: String,
    pub active: i64,
}

/// Columns per scope in the log tables (`custom_dimension_1` to `_5`), as Matomo installs by default.
pub const CUSTOM_DIMENSION_SLOTS: i64 = 5;

impl Store {
    /// Adds an active custom dimension in the first free column of its scope (`visit` or
    /// `action`); returns its idcustomdimension.
    pub async fn add_custom_dimension(&self, idsite: i64, name: &str, scope: &str) -> Result<i64> {
        if scope != "visit" && scope != "action" {
            return Err(StoreError::Conflict(format!(
                "scope must be visit or action, got {scope:?}"
            )));
        }
        let existing = self.custom_dimensions(idsite).await?;
        let index = (1..=CUSTOM_DIMENSION_SLOTS)
            .find(|i| !existing.iter().any(|d| d.scope == scope && d.index == *i))
            .ok_or_else(|| {
                StoreError::Conflict(format!(
                    "site {idsite} already has {CUSTOM_DIMENSION_SLOTS} {scope} dimensions, the most there are columns for"
                ))
            })?;
        let id = existing
            .iter()
            .map(|d| d.idcustomdimension)
            .max()
            .unwrap_or(0)
            + 1;
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO custom_dimension (idcustomdimension, idsite, name, \"index\", scope, active) \
                 VALUES ($1, $2, $3, $4, $5, 1)",
            )
            .bind(id)
            .bind(idsite)
            .bind(name)
            .bind(index)
            .bind(scope)
            .execute(pool)
            .await?;
        });
        Ok(id)
    }

    /// The site's custom dimensions, by id.
    pub async fn custom_dimensions(&self, idsite: i64) -> Result<Vec<CustomDimension>> {
        Ok(on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT idcustomdimension, idsite, name, \"index\", scope, active FROM custom_dimension \
                 WHERE idsite = $1 ORDER BY idcustomdimension",
            )
            .bind(idsite)
            .fetch_all(pool)
            .await?
        }))
    }
}
