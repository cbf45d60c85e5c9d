//! What the Reporting API needs from the store beyond sites and users: which sites a user may
//! view, and the `anonymous` user that models public (tokenless) access.
//!
//! Matomo keeps a user row `anonymous`; granting it `view` on a site makes that site's reports
//! readable without a token (`UsersManager.setUserAccess('anonymous', 'view', idSite)`).

use super::{on_db, Access, Result, Store, TokenOwner};

/// The login under which requests without `token_auth` run.
pub const ANONYMOUS: &str = "anonymous";

impl Store {
    /// The ids of the sites `owner` has at least view access to, ascending (all for a super user).
    pub async fn sites_with_view_access(&self, owner: &TokenOwner) -> Result<Vec<i64>> {
        self.sites_with_access(owner, Access::View).await
    }

    /// Creates the `anonymous` user when missing (no password: it can never log in).
    pub async fn ensure_anonymous_user(&self) -> Result<()> {
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO \"user\" (login, password_hash, superuser_access, date_registered) \
                 VALUES ($1, '', 0, $2) ON CONFLICT (login) DO NOTHING",
            )
            .bind(ANONYMOUS)
            .bind(&now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Makes a site's reports public: `view` access for `anonymous`.
    pub async fn grant_anonymous_view(&self, idsite: i64) -> Result<()> {
        self.ensure_anonymous_user().await?;
        self.set_access(ANONYMOUS, &[idsite], Access::View).await
    }
}
