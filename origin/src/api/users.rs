//! `UsersManager.*`: users, their roles on sites, super user access and app-specific tokens, as
//! Matomo 5 answers them (`plugins/UsersManager/API.php`, `UserAccessFilter.php`,
//! `Repository/UserRepository.php`, `Validators/{Login,Email}.php`, texts from
//! `plugins/UsersManager/lang/en.json`).
//!
//! Password confirmation: Matomo asks for `passwordConfirmation` (the caller's own password) in
//! `setSuperUserAccess` and in `updateUser` when the password or email changes; `addUser`,
//! `deleteUser` and `setUserAccess` ask for it only for session (browser) requests, and the
//! API is token-authenticated here, so they do not.

use serde_json::{json, Map, Value};

use super::{
    methods::{bool_param, id_param},
    params::ApiParams,
    render::Output,
    require_admin, require_not_anonymous, require_some, require_superuser,
    require_superuser_or_self, required, site_info, ApiError, ApiResult, Caller,
};
use crate::{
    auth,
    http::AppState,
    store::{Access, Token, User, ANONYMOUS},
};

/// `UsersManager::PASSWORD_MIN_LENGTH`, `PASSWORD_MAX_LENGTH`.
const PASSWORD_LENGTHS: (usize, usize) = (6, 200);
/// `Validators\Login::LOGIN_MIN_LENGTH`, `LOGIN_MAX_LENGTH` (bytes, PHP's `strlen`).
const LOGIN_LENGTHS: (usize, usize) = (2, 100);
/// `createAppSpecificTokenAuth`'s `description` limit.
const TOKEN_DESCRIPTION_MAX: usize = 100;

/// Runs `UsersManager.<action>` when it is one of these; `None` otherwise.
pub(super) async fn call(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
    method: &str,
) -> ApiResult<Option<Output>> {
    let Some(action) = method.strip_prefix("UsersManager.") else {
        return Ok(None);
    };
    let output = match action {
        "addUser" => add_user(state, params, caller).await?,
        "getUser" => get_user(state, params, caller).await?,
        "getUsers" => get_users(state, params, caller).await?,
        "getUsersLogin" => {
            require_some(state, caller, Access::Admin).await?;
            let users = visible_users(state, caller, state.store.users().await?).await?;
            list(users.into_iter().map(|user| Value::from(user.login)))
        }
        "userExists" => {
            let login = params.get("userLogin").unwrap_or("");
            let exists = login == ANONYMOUS || {
                require_not_anonymous(caller)?;
                require_some(state, caller, Access::View).await?;
                login == caller.owner.login || state.store.user(login).await?.is_some()
            };
            Output::Scalar(Value::from(exists))
        }
        "deleteUser" => delete_user(state, params, caller).await?,
        "updateUser" => update_user(state, params, caller).await?,
        "setUserAccess" => set_user_access(state, params, caller).await?,
        "getUsersAccessFromSite" => {
            let idsite = id_param(params, "idSite")?;
            require_admin(state, caller, idsite).await?;
            let rows = state.store.users_access_on_site(idsite).await?;
            let allowed = visible_logins(state, caller).await?;
            let map: Map<String, Value> = rows
                .into_iter()
                .filter(|(login, _)| allowed.as_ref().is_none_or(|a| a.contains(login)))
                .map(|(login, access)| (login, Value::from(access.as_str())))
                .collect();
            object_or_empty(map)
        }
        "getSitesAccessFromUser" => {
            require_superuser(caller)?;
            let user = existing_user(state, required(params, "userLogin")?).await?;
            let rows: Vec<(i64, Access)> = if user.superuser_access != 0 {
                let every = state
                    .store
                    .sites_with_access(&owner_of(&user), Access::Admin)
                    .await?;
                every.into_iter().map(|id| (id, Access::Admin)).collect()
            } else {
                let all = state.store.all_access().await?;
                all.into_iter()
                    .filter(|(login, _, _)| *login == user.login)
                    .map(|(_, idsite, access)| (idsite, access))
                    .collect()
            };
            list(
                rows.into_iter()
                    .map(|(idsite, access)| json!({"site": idsite, "access": access.as_str()})),
            )
        }
        "hasSuperUserAccess" => Output::Scalar(Value::from(caller.is_superuser())),
        "getUsersHavingSuperUserAccess" => {
            require_not_anonymous(caller)?;
            let logins = state.store.superuser_logins().await?;
            let mut rows = Vec::with_capacity(logins.len());
            for login in logins {
                if let Some(user) = state.store.user(&login).await? {
                    rows.push(user_row(&user, caller));
                }
            }
            list(rows)
        }
        "setSuperUserAccess" => set_superuser_access(state, params, caller).await?,
        "createAppSpecificTokenAuth" => create_token(state, params).await?,
        "getAppSpecificTokens" => {
            require_not_anonymous(caller)?;
            let tokens = state.store.tokens(&caller.owner.login).await?;
            list(tokens.iter().map(token_row))
        }
        "deleteAppSpecificToken" => {
            require_not_anonymous(caller)?;
            let raw = required(params, "idTokenAuth")?;
            let id = raw
                .trim()
                .parse::<i64>()
                .map_err(|_| ApiError::Message(format!("The token id '{raw}' is not a number.")))?;
            if !state.store.delete_token(&caller.owner.login, id).await? {
                return Err(ApiError::Message(format!(
                    "You have no token with the id '{id}'."
                )));
            }
            state.store.tokens.clear();
            Output::Success
        }
        _ => return Ok(None),
    };
    Ok(Some(output))
}

fn list(rows: impl IntoIterator<Item = Value>) -> Output {
    Output::Array(Value::Array(rows.into_iter().collect()))
}

/// A login-keyed PHP array; an empty one is `[]` in PHP's JSON.
fn object_or_empty(map: Map<String, Value>) -> Output {
    if map.is_empty() {
        return list([]);
    }
    Output::Array(Value::Object(map))
}

fn owner_of(user: &User) -> crate::store::TokenOwner {
    crate::store::TokenOwner::user(user.login.clone(), user.superuser_access)
}

/// A user as `UserRepository::enrichUser` shows it: everything (but secrets) to super users;
/// to others the login, the email of themselves and of super users, and `superuser_access`.
/// Invitations, 2FA and last-seen times do not exist here: `invited_by` and the invite dates are
/// null, `invite_status` is `active`, `uses_2fa` is false.
fn user_row(user: &User, caller: &Caller) -> Value {
    let mut row = Map::new();
    row.insert("login".into(), Value::from(user.login.clone()));
    if caller.is_superuser() {
        row.insert("email".into(), Value::from(user.email.clone()));
        row.insert(
            "superuser_access".into(),
            Value::from(user.superuser_access),
        );
        row.insert(
            "date_registered".into(),
            Value::from(user.date_registered.clone()),
        );
        row.insert("invited_by".into(), Value::Null);
        row.insert("invite_expired_at".into(), Value::Null);
        row.insert("invite_accept_at".into(), Value::Null);
        row.insert("invite_status".into(), Value::from("active"));
        row.insert("uses_2fa".into(), Value::from(false));
        return Value::Object(row);
    }
    if user.login == caller.owner.login || user.superuser_access != 0 {
        row.insert("email".into(), Value::from(user.email.clone()));
    }
    row.insert(
        "superuser_access".into(),
        Value::from(user.superuser_access),
    );
    row.insert("invite_status".into(), Value::from("active"));
    Value::Object(row)
}

/// A token as `getAppSpecificTokens` lists it (never the token itself: only its digest is kept).
/// Matomo lists tokens only on its personal security page (`UsersManager.userSecurity`), not in
/// its API; the columns are those of its `user_token_auth` table.
fn token_row(token: &Token) -> Value {
    json!({
        "idusertokenauth": token.idusertokenauth,
        "login": token.login,
        "description": token.description,
        "date_created": token.date_created,
        "last_used": token.last_used,
        "date_expired": token.date_expired,
    })
}

/// The logins a caller may see (`UserAccessFilter`), or `None` for every login (super users).
/// Admins see themselves and the users with a role on a site they administer; others only
/// themselves.
async fn visible_logins(state: &AppState, caller: &Caller) -> ApiResult<Option<Vec<String>>> {
    if caller.is_superuser() {
        return Ok(None);
    }
    let mut logins = vec![caller.owner.login.clone()];
    let administered = state
        .store
        .sites_with_access(&caller.owner, Access::Admin)
        .await?;
    if !administered.is_empty() {
        for (login, idsite, _) in state.store.all_access().await? {
            if administered.contains(&idsite) && !logins.contains(&login) {
                logins.push(login);
            }
        }
    }
    Ok(Some(logins))
}

async fn visible_users(
    state: &AppState,
    caller: &Caller,
    users: Vec<User>,
) -> ApiResult<Vec<User>> {
    let Some(allowed) = visible_logins(state, caller).await? else {
        return Ok(users);
    };
    Ok(users
        .into_iter()
        .filter(|user| allowed.contains(&user.login))
        .collect())
}

/// `UsersManager_ExceptionUserDoesNotExist`.
fn no_such_user(login: &str) -> ApiError {
    ApiError::Message(format!("User '{login}' doesn't exist."))
}

async fn existing_user(state: &AppState, login: &str) -> ApiResult<User> {
    state
        .store
        .user(login)
        .await?
        .ok_or_else(|| no_such_user(login))
}

/// `checkUserIsNotAnonymous($userLogin)`.
fn not_the_anonymous_user(login: &str) -> ApiResult<()> {
    if login == ANONYMOUS {
        return Err(ApiError::Message(
            "The anonymous user cannot be edited or deleted. It is used by Matomo to define a user that has not logged in yet. For example, you can make your statistics public by granting the 'view' access to the 'anonymous' user."
                .to_owned(),
        ));
    }
    Ok(())
}

/// `UsersManager::checkPassword`.
fn check_password(password: &str) -> ApiResult<()> {
    let (min, max) = PASSWORD_LENGTHS;
    if password.len() < min {
        return Err(ApiError::Message(format!(
            "The password length must be greater than {min} characters."
        )));
    }
    if password.chars().count() > max {
        return Err(ApiError::Message(format!(
            "The password length must be less than {max} characters."
        )));
    }
    Ok(())
}

/// Matomo's `_isPasswordHashed=1` sends an MD5 of the password, which Matomo then hashes again;
/// Edgemeter keeps Argon2id hashes of the password itself, so an MD5 cannot be stored.
fn refuse_hashed_password(params: &ApiParams) -> ApiResult<()> {
    if bool_param(params, "_isPasswordHashed", false) {
        return Err(ApiError::Message(
            "_isPasswordHashed=1 is not supported: send the password itself (Edgemeter stores Argon2id hashes of passwords, not of their MD5)."
                .to_owned(),
        ));
    }
    Ok(())
}

/// `Plugin\API::confirmCurrentUserPassword`: the caller's own password.
async fn confirm_password(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<()> {
    let Some(confirmation) = params.non_empty("passwordConfirmation") else {
        return Err(ApiError::Message(
            "Please enter your password to confirm this change.".to_owned(),
        ));
    };
    let hash = state
        .store
        .password_hash(&caller.owner.login)
        .await?
        .unwrap_or_default();
    if !auth::verify_password(confirmation, &hash) {
        return Err(wrong_password());
    }
    Ok(())
}

/// `UsersManager_CurrentPasswordNotCorrect`.
fn wrong_password() -> ApiError {
    ApiError::Message("The current password you entered is not correct.".to_owned())
}

/// `Validators\Login`: format, then uniqueness (`Username: ...`, as `BaseValidator::check`
/// prefixes the field name).
async fn check_new_login(state: &AppState, login: &str) -> ApiResult<()> {
    let (min, max) = LOGIN_LENGTHS;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.@+-ÄäÖöÜüß".contains(c);
    if !(min..=max).contains(&login.len()) || !login.chars().all(allowed) {
        return Err(ApiError::Message(format!(
            "Username: The username must be between {min} and {max} characters long and contain only letters, numbers, or the characters '_' or '-' or '.' or '@' or '+'"
        )));
    }
    if login == ANONYMOUS || state.store.user(login).await?.is_some() {
        return Err(ApiError::Message(format!(
            "Username: Username '{login}' already exists."
        )));
    }
    if state.store.user_by_email(login).await?.is_some() {
        return Err(ApiError::Message(format!(
            "Username: Username '{login}' already used as an email."
        )));
    }
    Ok(())
}

/// `Validators\Email` for a new or changed email of `login` (`Email: ...`); empty is allowed.
async fn check_email(state: &AppState, email: &str, login: &str) -> ApiResult<()> {
    if email.is_empty() {
        return Ok(());
    }
    if !email_address::EmailAddress::is_valid(email) {
        return Err(ApiError::Message(format!(
            "Email: The value \"{email}\" does not look like a valid email."
        )));
    }
    if state
        .store
        .user_by_email(email)
        .await?
        .is_some_and(|user| user.login != login)
    {
        return Err(ApiError::Message(format!(
            "Email: User with email '{email}' already exists."
        )));
    }
    if !login.eq_ignore_ascii_case(email) && state.store.user(email).await?.is_some() {
        return Err(ApiError::Message(format!(
            "Email: Email '{email}' already used as a username."
        )));
    }
    Ok(())
}

async fn add_user(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    require_some(state, caller, Access::Admin).await?;
    let login = params.get("userLogin").unwrap_or("").trim();
    let password = params.get("password").unwrap_or("");
    let email = params.get("email").unwrap_or("").trim();
    refuse_hashed_password(params)?;
    check_password(password)?;
    let initial = match params.non_empty("initialIdSite") {
        Some(_) => Some(id_param(params, "initialIdSite")?),
        None => None,
    };
    if !caller.is_superuser() {
        let Some(idsite) = initial else {
            return Err(ApiError::Message(
                "New users must be given access to a website, please set the 'initialIdSite' parameter."
                    .to_owned(),
            ));
        };
        require_admin(state, caller, idsite).await?;
    }
    check_new_login(state, login).await?;
    check_email(state, email, login).await?;
    if let Some(idsite) = initial {
        site_info(state, idsite).await?;
    }
    let hash = auth::hash_password(password).map_err(|err| ApiError::Internal(err.to_string()))?;
    state
        .store
        .add_user_with_email(login, &hash, email, false)
        .await?;
    if let Some(idsite) = initial {
        state
            .store
            .set_access(login, &[idsite], Access::View)
            .await?;
    }
    Ok(Output::Success)
}

async fn get_user(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    let login = params.get("userLogin").unwrap_or("");
    require_superuser_or_self(caller, login)?;
    let user = existing_user(state, login).await?;
    Ok(Output::Array(user_row(&user, caller)))
}

async fn get_users(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    require_some(state, caller, Access::Admin).await?;
    let wanted: Vec<&str> = params
        .get("userLogins")
        .unwrap_or("")
        .split(',')
        .filter(|login| !login.is_empty())
        .collect();
    let users: Vec<User> = state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|user| wanted.is_empty() || wanted.contains(&user.login.as_str()))
        .collect();
    let users = visible_users(state, caller, users).await?;
    Ok(list(users.iter().map(|user| user_row(user, caller))))
}

/// `deleteUser`: only super users delete users here (Matomo lets an admin delete only the pending
/// invitations they sent, and there are no invitations).
async fn delete_user(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    require_some(state, caller, Access::Admin).await?;
    let login = params.get("userLogin").unwrap_or("");
    not_the_anonymous_user(login)?;
    if !caller.is_superuser() {
        return Err(super::no_access(&format!("User '{login}' doesn't exist.")));
    }
    let user = existing_user(state, login).await?;
    if user.superuser_access != 0 && state.store.is_last_superuser(login).await? {
        return Err(ApiError::Message(format!(
            "Deleting user '{login}' is not possible. There has to be at least one user with Super User access. Please grant Super User access to another user first."
        )));
    }
    state.store.delete_user(login).await?;
    state.store.tokens.clear();
    Ok(Output::Success)
}

async fn update_user(state: &AppState, params: &ApiParams, caller: &Caller) -> ApiResult<Output> {
    let login = params.get("userLogin").unwrap_or("");
    require_superuser_or_self(caller, login)?;
    not_the_anonymous_user(login)?;
    let user = existing_user(state, login).await?;
    refuse_hashed_password(params)?;
    let password = params.non_empty("password");
    if let Some(password) = password {
        check_password(password)?;
    }
    let email = params
        .non_empty("email")
        .map(str::trim)
        .filter(|email| !email.eq_ignore_ascii_case(&user.email));
    if let Some(email) = email {
        check_email(state, email, login).await?;
    }
    if password.is_none() && email.is_none() {
        return Ok(Output::Success);
    }
    confirm_password(state, params, caller).await?;
    let hash = password
        .map(auth::hash_password)
        .transpose()
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    state
        .store
        .update_user(login, hash.as_deref(), email)
        .await?;
    Ok(Output::Success)
}

/// `setUserAccess(userLogin, access, idSites)`: the order of its checks is Matomo's.
async fn set_user_access(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
) -> ApiResult<Output> {
    let login = params.get("userLogin").unwrap_or("");
    // `access[]=` with several values is a role plus capabilities (Tag Manager's), which do not
    // exist here; Matomo's list in this text also names them when Tag Manager is active.
    let access_values = params.list("access");
    if access_values.len() > 1 {
        return Err(ApiError::Message(format!(
            "Capabilities are not supported: set one role (view, write or admin), not {}.",
            access_values.join(", ")
        )));
    }
    let raw_access = access_values.first().map_or("", String::as_str);
    let access = Access::parse(raw_access).ok_or_else(|| {
        ApiError::Message(format!(
            "The parameter access must have one of the following values: [ view, write, admin ], '{raw_access}' given."
        ))
    })?;
    let raw_ids = params.list("idSites").join(",");
    let raw_ids = raw_ids.trim();
    let idsites: Vec<i64> = if raw_ids == "all" {
        state
            .store
            .sites_with_access(&caller.owner, Access::Admin)
            .await?
    } else {
        let mut ids: Vec<i64> = Vec::new();
        for id in raw_ids
            .split(',')
            .filter_map(|id| id.trim().parse::<i64>().ok())
        {
            if id > 0 && !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    };
    if idsites.is_empty() {
        return Err(ApiError::Message(
            "Specify at least one website ID in &idSites=".to_owned(),
        ));
    }
    for &idsite in &idsites {
        require_admin(state, caller, idsite).await?;
    }
    if login == ANONYMOUS && !matches!(access, Access::View | Access::None) {
        return Err(ApiError::Message(
            "You can only set access noaccess or view access to the 'anonymous' user.".to_owned(),
        ));
    }
    if login == ANONYMOUS {
        state.store.ensure_anonymous_user().await?;
    }
    let user = existing_user(state, login).await?;
    if user.superuser_access != 0 {
        return Err(ApiError::Message(format!(
            "The user '{login}' has Super User access and has already permission to access and modify all websites in Matomo. You may remove the Super User access from this user and try again."
        )));
    }
    for &idsite in &idsites {
        site_info(state, idsite).await?;
    }
    state.store.set_access(login, &idsites, access).await?;
    Ok(Output::Success)
}

async fn set_superuser_access(
    state: &AppState,
    params: &ApiParams,
    caller: &Caller,
) -> ApiResult<Output> {
    require_superuser(caller)?;
    let login = params.get("userLogin").unwrap_or("");
    not_the_anonymous_user(login)?;
    confirm_password(state, params, caller).await?;
    existing_user(state, login).await?;
    let grant = bool_param(params, "hasSuperUserAccess", false);
    if !grant && state.store.is_last_superuser(login).await? {
        return Err(ApiError::Message(format!(
            "Removing the Super User access from user '{login}' is not possible. There has to be at least one user with Super User access. Please grant Super User access to another user first."
        )));
    }
    state.store.set_superuser(login, grant).await?;
    state.store.tokens.clear();
    Ok(Output::Success)
}

/// `createAppSpecificTokenAuth(userLogin, passwordConfirmation, description, expireDate,
/// expireHours)`: needs no token, the user's own password (login or email) instead.
async fn create_token(state: &AppState, params: &ApiParams) -> ApiResult<Output> {
    // Required parameters are checked before the method runs (`API\Proxy`).
    for name in ["userLogin", "passwordConfirmation", "description"] {
        if params.get(name).is_none() {
            return Err(ApiError::Message(format!(
                "Please specify a value for '{name}'."
            )));
        }
    }
    let login = params.get("userLogin").unwrap_or("");
    let user = match state.store.user(login).await? {
        Some(user) => Some(user),
        None if email_address::EmailAddress::is_valid(login) => {
            state.store.user_by_email(login).await?
        }
        None => None,
    };
    let password = params.get("passwordConfirmation").unwrap_or("");
    let Some(user) = user else {
        return Err(wrong_password());
    };
    let hash = state
        .store
        .password_hash(&user.login)
        .await?
        .unwrap_or_default();
    if !auth::verify_password(password, &hash) {
        return Err(wrong_password());
    }
    // `Model::addTokenAuth`: NotEmpty, then CharacterLength(1, 100), prefixed `Description: `.
    let description = params.get("description").unwrap_or("");
    if description.is_empty() {
        return Err(ApiError::Message(
            "Description: A value needs to be provided.".to_owned(),
        ));
    }
    let length = description.chars().count();
    if length > TOKEN_DESCRIPTION_MAX {
        return Err(ApiError::Message(format!(
            "Description: The value contains \"{length}\" characters but should contain at most {TOKEN_DESCRIPTION_MAX} characters."
        )));
    }
    let expires = token_expiry(params)?;
    let token = auth::new_token();
    state
        .store
        .add_expiring_token(
            &user.login,
            &auth::token_digest(&token),
            description,
            expires.as_deref(),
        )
        .await?;
    Ok(Output::Scalar(Value::from(token)))
}

/// `expireDate` (a date or date-time, UTC) wins over `expireHours` (a number of hours from now).
fn token_expiry(params: &ApiParams) -> ApiResult<Option<String>> {
    if let Some(raw) = params.non_empty("expireDate") {
        let raw = raw.trim();
        let parsed = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map(|day| day.and_time(chrono::NaiveTime::MIN))
            })
            .map_err(|_| {
                ApiError::Message(format!(
                    "Date format must be: YYYY-MM-DD, or 'today' or 'yesterday' or any keyword supported by the strtotime function (see http://php.net/strtotime for more information): {raw}"
                ))
            })?;
        return Ok(Some(parsed.format("%Y-%m-%d %H:%M:%S").to_string()));
    }
    match params
        .non_empty("expireHours")
        .map(|h| h.trim().parse::<f64>())
    {
        None | Some(Err(_)) => Ok(None),
        Some(Ok(hours)) if hours <= 0.0 || !hours.is_finite() => Ok(None),
        Some(Ok(hours)) => {
            let at = chrono::Utc::now() + chrono::Duration::seconds((hours * 3600.0) as i64);
            Ok(Some(at.format("%Y-%m-%d %H:%M:%S").to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_six_to_two_hundred_characters() {
        assert!(check_password("12345").is_err());
        assert!(check_password("123456").is_ok());
        assert!(check_password(&"x".repeat(201)).is_err());
    }

    #[test]
    fn an_expire_date_wins_over_expire_hours() {
        let params = ApiParams::parse(b"expireDate=2030-01-02&expireHours=5");
        assert_eq!(
            token_expiry(&params).unwrap().as_deref(),
            Some("2030-01-02 00:00:00")
        );
        let params = ApiParams::parse(b"expireHours=0");
        assert_eq!(token_expiry(&params).unwrap(), None);
    }
}
