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
