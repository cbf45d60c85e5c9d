//! Login sessions of the web pages (`login_session`, migration 0006), looked up by the SHA-256
//! digest of the cookie's id (see `crate::web::session`).

use super::{on_db, Result, Store};

/// A stored session with its user's super user flag.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoginSession {
    pub login: String,
    pub superuser_access: i64,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen: i64,
}

impl Store {
    /// Stores a new session of an existing user.
    pub async fn add_session(
        &self,
        id_hash: &str,
        login: &str,
        csrf_token: &str,
        now: i64,
    ) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO login_session (id_hash, login, csrf_token, created_at, last_seen) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(id_hash)
            .bind(login)
            .bind(csrf_token)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The session whose id has this digest, or `None`.
    pub async fn session(&self, id_hash: &str) -> Result<Option<LoginSession>> {
        Ok(on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT s.login, u.superuser_access, s.csrf_token, s.created_at, s.last_seen \
                 FROM login_session s JOIN \"user\" u ON u.login = s.login WHERE s.id_hash = $1",
            )
            .bind(id_hash)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Records a request of the session (its idle expiry restarts).
    pub async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query("UPDATE login_session SET last_seen = $2 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Ends one session.
    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM login_session WHERE id_hash = $1")
                .bind(id_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Removes the sessions that started before `created_before` or were last used before
    /// `seen_before`.
    pub async fn delete_expired_sessions(
        &self,
        created_before: i64,
        seen_before: i64,
    ) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM login_session WHERE created_at < $1 OR last_seen < $2")
                .bind(created_before)
                .bind(seen_before)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
