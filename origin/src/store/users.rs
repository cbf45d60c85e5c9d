//! Users, their access to sites and their API tokens (`user`, `access`, `user_token_auth`), in
//! Matomo's model (`plugins/UsersManager/Model.php`, `core/Access.php`): a per-site role (`view`,
//! `write`, `admin`; no row is `noaccess`) and super user access on the user row, which grants
//! admin on every site and removes the user's per-site rows.
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
    /// A user acting without a token (a login session, or the user an admin method is about):
    /// no token rule such as `secure_only` applies.
    pub fn user(login: String, superuser_access: i64) -> Self {
        Self {
            login,
            superuser_access,
            secure_only: false,
        }
    }

    pub fn is_superuser(&self) -> bool {
        self.superuser_access != 0
    }
}

/// Matomo's roles on a site, weakest first; `None` is `noaccess` (no `access` row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    None,
    View,
    Write,
    Admin,
}

impl Access {
    /// The roles in Matomo's order (`UsersManager.getAvailableRoles`).
    pub const ROLES: [Access; 3] = [Access::View, Access::Write, Access::Admin];

    /// `noaccess`, `view`, `write` or `admin`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "noaccess" => Self::None,
            "view" => Self::View,
            "write" => Self::Write,
            "admin" => Self::Admin,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "noaccess",
            Self::View => "view",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// A stored `access` value; rows only ever hold roles (migration 0005).
    fn stored(value: &str) -> Self {
        Self::parse(value).unwrap_or(Self::None)
    }
}

/// A row of the `user` table, without the password hash.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub login: String,
    pub email: String,
    pub superuser_access: i64,
    pub date_registered: String,
}

/// A token of a user, without its digest.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Token {
    pub idusertokenauth: i64,
    pub login: String,
    pub description: String,
    pub date_created: String,
    pub last_used: Option<String>,
    pub date_expired: Option<String>,
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, how Matomo stores dates of users and tokens.
pub fn datetime_now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

const USER_COLUMNS: &str = "login, email, superuser_access, date_registered";

impl Store {
    /// Creates a user; fails with `Conflict` when the login is taken.
    pub async fn add_user(&self, login: &str, password_hash: &str, superuser: bool) -> Result<()> {
        self.add_user_with_email(login, password_hash, "", superuser)
            .await
    }

    /// Creates a user with an email; fails with `Conflict` when the login is taken.
    pub async fn add_user_with_email(
        &self,
        login: &str,
        password_hash: &str,
        email: &str,
        superuser: bool,
    ) -> Result<()> {
        let inserted = on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO \"user\" (login, password_hash, email, superuser_access, date_registered) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (login) DO NOTHING",
            )
            .bind(login)
            .bind(password_hash)
            .bind(email)
            .bind(i64::from(superuser))
            .bind(datetime_now())
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

    /// One user, or `None`.
    pub async fn user(&self, login: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM \"user\" WHERE login = $1");
        Ok(on_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(login).fetch_optional(pool).await?
        }))
    }

    /// The user whose email this is (case-insensitive), or `None`.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM \"user\" WHERE email <> '' AND LOWER(email) = LOWER($1) \
             ORDER BY login LIMIT 1"
        );
        Ok(on_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(email).fetch_optional(pool).await?
        }))
    }

    /// Every user, by login.
    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM \"user\" ORDER BY login");
        Ok(on_db!(&self.db, pool => sqlx::query_as(&sql).fetch_all(pool).await?))
    }

    /// The stored password hash of a user (empty for users who cannot log in), or `None`.
    pub async fn password_hash(&self, login: &str) -> Result<Option<String>> {
        Ok(on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT password_hash FROM \"user\" WHERE login = $1")
                .bind(login)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Changes a user's password hash and/or email; `None` keeps the value. A new password ends
    /// the user's login sessions, as Matomo's session check refuses sessions started before
    /// the password changed (`plugins/Login/SessionInitializer.php`).
    pub async fn update_user(
        &self,
        login: &str,
        password_hash: Option<&str>,
        email: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        on_db!(&mut tx, tx => {
            sqlx::query(
                "UPDATE \"user\" SET password_hash = COALESCE($2, password_hash), \
                 email = COALESCE($3, email) WHERE login = $1",
            )
            .bind(login)
            .bind(password_hash)
            .bind(email)
            .execute(&mut **tx)
            .await?;
            if password_hash.is_some() {
                sqlx::query("DELETE FROM login_session WHERE login = $1")
                    .bind(login)
                    .execute(&mut **tx)
                    .await?;
            }
        });
        tx.commit().await
    }

    /// Deletes a user with their access and tokens (the foreign keys cascade).
    pub async fn delete_user(&self, login: &str) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM \"user\" WHERE login = $1")
                .bind(login)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The logins with super user access, sorted.
    pub async fn superuser_logins(&self) -> Result<Vec<String>> {
        Ok(on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT login FROM \"user\" WHERE superuser_access <> 0 ORDER BY login",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Whether no other user than `login` has super user access (so it must keep it).
    pub async fn is_last_superuser(&self, login: &str) -> Result<bool> {
        let superusers = self.superuser_logins().await?;
        Ok(superusers.iter().all(|other| other == login))
    }

    /// Grants or removes super user access; either way the user's per-site rows are removed,
    /// as `UsersManager.setSuperUserAccess` does.
    pub async fn set_superuser(&self, login: &str, superuser: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        on_db!(&mut tx, tx => {
            sqlx::query("DELETE FROM access WHERE login = $1")
                .bind(login)
                .execute(&mut **tx)
                .await?;
            sqlx::query("UPDATE \"user\" SET superuser_access = $2 WHERE login = $1")
                .bind(login)
                .bind(i64::from(superuser))
                .execute(&mut **tx)
                .await?;
        });
        tx.commit().await
    }

    /// Stores a token digest for an existing user; fails with `Conflict` for an unknown login.
    pub async fn add_token(&self, login: &str, token_hash: &str, description: &str) -> Result<()> {
        self.add_expiring_token(login, token_hash, description, None)
            .await
    }

    /// [`Store::add_token`] with an expiry (`YYYY-MM-DD HH:MM:SS` UTC) after which it is refused.
    pub async fn add_expiring_token(
        &self,
        login: &str,
        token_hash: &str,
        description: &str,
        date_expired: Option<&str>,
    ) -> Result<()> {
        let inserted = on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO user_token_auth (login, description, token_hash, date_created, date_expired) \
                 SELECT login, $2, $3, $4, $5 FROM \"user\" WHERE login = $1",
            )
            .bind(login)
            .bind(description)
            .bind(token_hash)
            .bind(datetime_now())
            .bind(date_expired)
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

    /// A user's tokens, oldest first.
    pub async fn tokens(&self, login: &str) -> Result<Vec<Token>> {
        Ok(on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT idusertokenauth, login, description, date_created, last_used, date_expired \
                 FROM user_token_auth WHERE login = $1 ORDER BY idusertokenauth",
            )
            .bind(login)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Deletes one token of a user; whether there was one.
    pub async fn delete_token(&self, login: &str, idusertokenauth: i64) -> Result<bool> {
        let deleted = on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM user_token_auth WHERE login = $1 AND idusertokenauth = $2")
                .bind(login)
                .bind(idusertokenauth)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }

    /// The owner of a token digest that has not expired, if any.
    pub async fn token_owner(&self, token_hash: &str) -> Result<Option<TokenOwner>> {
        Ok(on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT u.login, u.superuser_access, (t.secure_only <> 0) AS secure_only \
                 FROM user_token_auth t JOIN \"user\" u ON u.login = t.login \
                 WHERE t.token_hash = $1 AND (t.date_expired IS NULL OR t.date_expired > $2)",
            )
            .bind(token_hash)
            .bind(datetime_now())
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
        Ok(level.as_deref().map_or(Access::None, Access::stored))
    }

    /// Sets a user's role on each of `idsites`, replacing what they had; `Access::None`
    /// removes it (`UsersManager.setUserAccess`).
    pub async fn set_access(&self, login: &str, idsites: &[i64], access: Access) -> Result<()> {
        let mut tx = self.begin().await?;
        on_db!(&mut tx, tx => {
            for &idsite in idsites {
                sqlx::query("DELETE FROM access WHERE login = $1 AND idsite = $2")
                    .bind(login)
                    .bind(idsite)
                    .execute(&mut **tx)
                    .await?;
                if access != Access::None {
                    sqlx::query("INSERT INTO access (login, idsite, access) VALUES ($1, $2, $3)")
                        .bind(login)
                        .bind(idsite)
                        .bind(access.as_str())
                        .execute(&mut **tx)
                        .await?;
                }
            }
        });
        tx.commit().await
    }

    /// Each (login, role) on a site, by login.
    pub async fn users_access_on_site(&self, idsite: i64) -> Result<Vec<(String, Access)>> {
        let rows: Vec<(String, String)> = on_db!(&self.db, pool => {
            sqlx::query_as("SELECT login, access FROM access WHERE idsite = $1 ORDER BY login")
                .bind(idsite)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(login, access)| (login, Access::stored(&access)))
            .collect())
    }

    /// Each (login, idsite, role) row, by login then site.
    pub async fn all_access(&self) -> Result<Vec<(String, i64, Access)>> {
        let rows: Vec<(String, i64, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT a.login, a.idsite, a.access FROM access a JOIN site s ON s.idsite = a.idsite \
                 ORDER BY a.login, a.idsite",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(login, idsite, access)| (login, idsite, Access::stored(&access)))
            .collect())
    }

    /// The ids of the existing sites `owner` has at least `min` on, ascending (all for a super
    /// user).
    pub async fn sites_with_access(&self, owner: &TokenOwner, min: Access) -> Result<Vec<i64>> {
        if owner.is_superuser() {
            return Ok(on_db!(&self.db, pool => {
                sqlx::query_scalar("SELECT idsite FROM site ORDER BY idsite")
                    .fetch_all(pool)
                    .await?
            }));
        }
        let roles: Vec<&str> = Access::ROLES
            .iter()
            .filter(|role| **role >= min.max(Access::View))
            .map(|role| role.as_str())
            .collect();
        let placeholders: Vec<String> = (2..roles.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT a.idsite FROM access a JOIN site s ON s.idsite = a.idsite \
             WHERE a.login = $1 AND a.access IN ({}) ORDER BY a.idsite",
            placeholders.join(", ")
        );
        Ok(on_db!(&self.db, pool => {
            let mut query = sqlx::query_scalar(&sql).bind(&owner.login);
            for role in &roles {
                query = query.bind(*role);
            }
            query.fetch_all(pool).await?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_names_round_trip_and_order_by_strength() {
        for access in [Access::None, Access::View, Access::Write, Access::Admin] {
            assert_eq!(Access::parse(access.as_str()), Some(access));
        }
        assert_eq!(Access::parse("superuser"), None);
        assert!(Access::None < Access::View && Access::Write < Access::Admin);
    }
}
