//! Users, their access to sites and their API tokens (`user`, `access`, `user_token_auth`).
//!
//! Passwords arrive already hashed (Argon2id, see `crate::auth`); tokens are stored as SHA-256
//! hex digests and looked up by digest.

use super::{on_db, Result, Store, StoreError};

/// Who a `token_auth` belongs to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenOwner {
    pub login: String,
    pub superuser_access: i64,
    /// The token may only be sent in a POST body, never in the URL (Matomo's `secure_only`).
    pub secure_only: bool,
}

impl TokenOwner {
    pub fn is_superuser(&self) -> bool {
        self.superuser_access != 0
    }
}

/// Matomo's access levels, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    None,
    View,
    Write,
    Admin,
}

impl Access {
    fn parse(value: &str) -> Self {
        match value {
            "view" => Self::View,
            "write" => Self::Write,
            "admin" => Self::Admin,
            _ => Self::None,
        }
    }
}

impl Store {
    /// Creates a user; fails with `Conflict` when the login is taken.
    pub async fn add_user(&self, login: &str, password_hash: &str, superuser: bool) -> Result<()> {
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
        let inserted = on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO \"user\" (login, password_hash, superuser_access, date_registered) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (login) DO NOTHING",
            )
            .bind(login)
            .bind(password_hash)
            .bind(i64::from(superuser))
            .bind(&now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "the login {login:?} is already taken"
            )));
        }
        Ok(())
    }

    /// Stores a token digest for an existing user; fails with `Conflict` for an unknown login.
    pub async fn add_token(&self, login: &str, token_hash: &str, description: &str) -> Result<()> {
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
        let inserted = on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO user_token_auth (login, description, token_hash, date_created) \
                 SELECT login, $2, $3, $4 FROM \"user\" WHERE login = $1",
            )
            .bind(login)
            .bind(description)
            .bind(token_hash)
            .bind(&now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "no user with the login {login:?}"
            )));
        }
        Ok(())
    }

    /// The owner of a token digest, if any.
    pub async fn token_owner(&self, token_hash: &str) -> Result<Option<TokenOwner>> {
        Ok(on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT u.login, u.superuser_access, (t.secure_only <> 0) AS secure_only FROM user_token_auth t \
                 JOIN \"user\" u ON u.login = t.login WHERE t.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The access a user has on a site (super users have admin everywhere).
    pub async fn access(&self, owner: &TokenOwner, idsite: i64) -> Result<Access> {
        if owner.is_superuser() {
            return Ok(Access::Admin);
        }
        let level: Option<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT access FROM access WHERE login = $1 AND idsite = $2")
                .bind(&owner.login)
                .bind(idsite)
                .fetch_optional(pool)
                .await?
        });
        Ok(level.as_deref().map_or(Access::None, Access::parse))
    }

    /// Grants `access` (`view`, `write`, `admin`) on a site to a user.
    pub async fn set_access(&self, login: &str, idsite: i64, access: &str) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO access (login, idsite, access) VALUES ($1, $2, $3) \
                 ON CONFLICT (login, idsite) DO UPDATE SET access = excluded.access",
            )
            .bind(login)
            .bind(idsite)
            .bind(access)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
