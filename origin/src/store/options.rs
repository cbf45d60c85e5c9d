//! Matomo's `option` table: named global settings (the SitesManager defaults and exclusions
//! that apply to every site), under Matomo's option names.

use super::{on_db, Result, Store};

impl Store {
    /// The value of an option, or `None` when it was never set.
    pub async fn option(&self, name: &str) -> Result<Option<String>> {
        Ok(on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT option_value FROM \"option\" WHERE option_name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Sets an option.
    pub async fn set_option(&self, name: &str, value: &str) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO \"option\" (option_name, option_value) VALUES ($1, $2) \
                 ON CONFLICT (option_name) DO UPDATE SET option_value = excluded.option_value",
            )
            .bind(name)
            .bind(value)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

/// Matomo's option names of the global SitesManager settings (`plugins/SitesManager/API.php`).
pub mod names {
    pub const EXCLUDED_IPS: &str = "SitesManager_ExcludedIpsGlobal";
    pub const DEFAULT_TIMEZONE: &str = "SitesManager_DefaultTimezone";
    pub const DEFAULT_CURRENCY: &str = "SitesManager_DefaultCurrency";
    pub const EXCLUDED_QUERY_PARAMETERS: &str = "SitesManager_ExcludedQueryParameters";
    pub const SEARCH_KEYWORD_PARAMETERS: &str = "SitesManager_SearchKeywordParameters";
    pub const SEARCH_CATEGORY_PARAMETERS: &str = "SitesManager_SearchCategoryParameters";
    pub const EXCLUDED_USER_AGENTS: &str = "SitesManager_ExcludedUserAgentsGlobal";
    pub const EXCLUDED_REFERRERS: &str = "SitesManager_ExcludedReferrersGlobal";
    pub const KEEP_URL_FRAGMENTS: &str = "SitesManager_KeepURLFragmentsGlobal";
}

/// The global settings that apply to every site, as the tracker reads them: global exclusions
/// add to each site's, global site-search parameters fill a site's empty ones, and
/// `keep_url_fragment = 0` means "as the global setting" (Matomo's `Tracker\Cache` merges them
/// the same way).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalSettings {
    pub excluded_ips: String,
    pub excluded_query_parameters: String,
    pub excluded_user_agents: String,
    pub excluded_referrers: String,
    /// `None` when never set: Matomo's default keyword parameters apply.
    pub search_keyword_parameters: Option<String>,
    pub search_category_parameters: String,
    pub keep_url_fragments: bool,
}

impl Store {
    /// The global SitesManager settings, in one query.
    pub async fn global_settings(&self) -> Result<GlobalSettings> {
        let rows: Vec<(String, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT option_name, option_value FROM \"option\" WHERE option_name LIKE 'SitesManager_%'",
            )
            .fetch_all(pool)
            .await?
        });
        let mut settings = GlobalSettings::default();
        for (name, value) in rows {
            match name.as_str() {
                names::EXCLUDED_IPS => settings.excluded_ips = value,
                names::EXCLUDED_QUERY_PARAMETERS => settings.excluded_query_parameters = value,
                names::EXCLUDED_USER_AGENTS => settings.excluded_user_agents = value,
                names::EXCLUDED_REFERRERS => settings.excluded_referrers = value,
                names::SEARCH_KEYWORD_PARAMETERS => {
                    settings.search_keyword_parameters = Some(value)
                }
                names::SEARCH_CATEGORY_PARAMETERS => settings.search_category_parameters = value,
                names::KEEP_URL_FRAGMENTS => settings.keep_url_fragments = value == "1",
                _ => {}
            }
        }
        Ok(settings)
    }
}
