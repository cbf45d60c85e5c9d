//! The `edgemeter` command line: `serve` (the default), `migrate`, `site add`, `user ...`
//! (add, list, delete, super-user, access set/list: UsersManager's methods), `token ...`
//! (create, list, delete), `dimension add`, `maintenance on|off`, `recording on|off`. Commands that create something print its id alone on stdout, so scripts can
//! capture it (`IDSITE=$(edgemeter site add ...)`); progress and logs go to stderr.

use std::{io::Read, path::PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::{
    auth,
    config::Config,
    startup::App,
    store::{Access, NewSite, Store, User},
};

#[derive(Debug, Parser)]
#[command(
    name = "edgemeter",
    version,
    about = "Matomo-compatible web analytics: the origin server"
)]
pub struct Cli {
    /// A TOML configuration file (see config.example.toml); EDGEMETER_* variables override it.
    #[arg(long, global = true, env = "EDGEMETER_CONFIG")]
    pub config: Option<PathBuf>,
    /// The database: sqlite://PATH (default sqlite://data/edgemeter.sqlite) or postgres://...
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (tracking, /ingest, Reporting API); the default command.
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage custom dimensions (Matomo's CustomDimensions plugin).
    #[command(subcommand)]
    Dimension(DimensionCommand),
    /// Archive reports (Matomo's `core:archive`): invalidations, missing days, today; or, with
    /// --force-date-range, rebuild every archive of those days and the periods above them.
    Archive(ArchiveArgs),
    /// Invalidate archived reports so they are rebuilt (Matomo's `core:invalidate-report-data`).
    InvalidateReportData(InvalidateArgs),
    /// Switch maintenance mode for every origin on the database (within a few seconds): the
    /// Reporting API answers Matomo's maintenance page, /ingest answers 503 (the edge keeps its
    /// batches), direct tracking goes on.
    Maintenance {
        #[arg(value_enum)]
        state: OnOff,
    },
    /// Switch recording (Matomo's `record_statistics`) for every origin on the database: off,
    /// tracking answers 503 and stores nothing, /ingest answers 503 (the edge keeps its batches).
    Recording {
        #[arg(value_enum)]
        state: OnOff,
    },
}

/// The argument of `maintenance` and `recording`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Args, Default)]
pub struct ArchiveArgs {
    /// Archive every site (the default when no --force-idsites is given).
    #[arg(long)]
    pub force_all_websites: bool,
    /// Only these sites, e.g. 1,2.
    #[arg(long, value_delimiter = ',')]
    pub force_idsites: Vec<i64>,
    /// Periods to rebuild with --force-date-range: day,week,month,year (default all four).
    #[arg(long, value_delimiter = ',')]
    pub force_periods: Vec<String>,
    /// Rebuild the archives of these days (YYYY-MM-DD,YYYY-MM-DD, inclusive) and above them.
    #[arg(long)]
    pub force_date_range: Option<String>,
    /// Accepted for compatibility: only "all visits" archives exist.
    #[arg(long)]
    pub skip_all_segments: bool,
}

#[derive(Debug, Args, Default)]
pub struct InvalidateArgs {
    /// A day or an inclusive range (YYYY-MM-DD or YYYY-MM-DD,YYYY-MM-DD); repeatable.
    #[arg(long, required = true)]
    pub dates: Vec<String>,
    /// Sites: 1,2 or all.
    #[arg(long, default_value = "all")]
    pub sites: String,
    /// Periods: day,week,month,year,range or all (default all).
    #[arg(long, default_value = "all")]
    pub periods: String,
    /// Also invalidate the lower periods inside each invalidated period.
    #[arg(long)]
    pub cascade: bool,
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (also EDGEMETER_LISTEN).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Add a site; prints the new idsite.
    Add {
        #[arg(long)]
        name: String,
        /// The main URL first; repeat for alias URLs.
        #[arg(long = "url", required = true)]
        urls: Vec<String>,
        /// A time zone name such as Europe/Paris (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        /// A three-letter currency code (default USD).
        #[arg(long)]
        currency: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from stdin.
    Add {
        #[arg(long)]
        login: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, default_value = "")]
        email: String,
        /// Give the user super user access.
        #[arg(long)]
        super_user: bool,
    },
    /// Print every user: login, super user (0 or 1), email; tab-separated (UsersManager.getUsers).
    List,
    /// Delete a user with their access and tokens (UsersManager.deleteUser).
    Delete {
        #[arg(long)]
        login: String,
    },
    /// Grant or remove super user access; either way the user's per-site roles are removed
    /// (UsersManager.setSuperUserAccess).
    SuperUser {
        #[arg(long)]
        login: String,
        /// Remove super user access instead of granting it.
        #[arg(long)]
        revoke: bool,
    },
    /// A user's roles on sites.
    #[command(subcommand)]
    Access(AccessCommand),
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Set a role on sites (UsersManager.setUserAccess): noaccess removes it.
    Set {
        #[arg(long)]
        login: String,
        #[arg(long, value_parser = ["noaccess", "view", "write", "admin"])]
        access: String,
        /// Site ids (1,2) or all.
        #[arg(long)]
        sites: String,
    },
    /// Print a user's roles: idsite and role per line, tab-separated (UsersManager.getSitesAccessFromUser).
    List {
        #[arg(long)]
        login: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token_auth for a user; prints it.
    Create {
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Print a user's tokens: id, created, expires (or -), description; tab-separated.
    List {
        #[arg(long)]
        login: String,
    },
    /// Delete one token of a user by its id (from `token list`).
    Delete {
        #[arg(long)]
        login: String,
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum DimensionCommand {
    /// Add a custom dimension to a site; prints its id (the N of `dimensionN` in tracking requests).
    Add {
        #[arg(long)]
        site: i64,
        #[arg(long)]
        name: String,
        /// `visit` (one value per visit) or `action` (one value per action).
        #[arg(long, value_parser = ["visit", "action"])]
        scope: String,
    },
}

impl Cli {
    /// Loads the configuration with this command line's overrides on top.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
        if let Some(url) = &self.database_url {
            config.database_url.clone_from(url);
        }
        if let Some(Command::Serve(ServeArgs {
            listen: Some(listen),
        })) = &self.command
        {
            config.listen = *listen;
        }
        config.validate()?;
        Ok(config)
    }

    /// Runs the chosen command to completion.
    pub async fn run(self) -> anyhow::Result<()> {
        let config = self.load_config()?;
        match self.command.unwrap_or(Command::Serve(ServeArgs::default())) {
            Command::Serve(_) => App::build(config).await?.run_until_stopped().await,
            Command::Migrate => {
                let store = Store::connect(&config.database_url).await?;
                store.migrate().await?;
                eprintln!("migrations applied ({})", store.backend());
                Ok(())
            }
            Command::Maintenance { state } => {
                switch(&config, crate::switches::Switch::Maintenance, state).await
            }
            Command::Recording { state } => {
                switch(&config, crate::switches::Switch::Recording, state).await
            }
            Command::Site(SiteCommand::Add {
                name,
                urls,
                timezone,
                currency,
            }) => {
                if let Some(tz) = &timezone {
                    tz.parse::<chrono_tz::Tz>()
                        .map_err(|_| anyhow::anyhow!("unknown time zone {tz:?}"))?;
                }
                let store = open(&config).await?;
                let site = NewSite {
                    name,
                    urls,
                    timezone,
                    currency,
                    sitesearch: true,
                    ..NewSite::default()
                };
                let idsite = store.add_site(&site).await?;
                println!("{idsite}");
                Ok(())
            }
            Command::User(UserCommand::Add {
                login,
                password_stdin: _,
                email,
                super_user,
            }) => {
                let mut password = String::new();
                std::io::stdin()
                    .read_to_string(&mut password)
                    .context("reading the password from stdin")?;
                let password = password.trim_end_matches(['\r', '\n']);
                if password.is_empty() {
                    bail!("the password read from stdin is empty");
                }
                let store = open(&config).await?;
                store
                    .add_user_with_email(
                        &login,
                        &auth::hash_password(password)?,
                        &email,
                        super_user,
                    )
                    .await?;
                eprintln!("user {login} added");
                Ok(())
            }
            Command::User(command) => users(&open(&config).await?, command).await,
            Command::Archive(args) => {
                let store = open(&config).await?;
                let settings = crate::archive::Settings::from(&config.archiving);
                crate::archive::cli::archive(&store, &args, settings).await
            }
            Command::InvalidateReportData(args) => {
                let store = open(&config).await?;
                crate::archive::cli::invalidate(&store, &args).await
            }
            Command::Token(command) => tokens(&open(&config).await?, command).await,
            Command::Dimension(DimensionCommand::Add { site, name, scope }) => {
                let store = open(&config).await?;
                if store.site(site).await?.is_none() {
                    bail!("no site with idsite {site}");
                }
                println!("{}", store.add_custom_dimension(site, &name, &scope).await?);
                Ok(())
            }
        }
    }
}

/// `edgemeter user ...` but `add` (which reads stdin before connecting).
async fn users(store: &Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { .. } => unreachable!("handled by Cli::run"),
        UserCommand::List => {
            for user in store.users().await? {
                println!("{}\t{}\t{}", user.login, user.superuser_access, user.email);
            }
        }
        UserCommand::Delete { login } => {
            let user = existing_user(store, &login).await?;
            if user.superuser_access != 0 && store.is_last_superuser(&login).await? {
                bail!(
                    "{login} is the only super user: grant super user access to another user first"
                );
            }
            store.delete_user(&login).await?;
            eprintln!("user {login} deleted");
        }
        UserCommand::SuperUser { login, revoke } => {
            existing_user(store, &login).await?;
            if revoke && store.is_last_superuser(&login).await? {
                bail!(
                    "{login} is the only super user: grant super user access to another user first"
                );
            }
            store.set_superuser(&login, !revoke).await?;
        }
        UserCommand::Access(AccessCommand::Set {
            login,
            access,
            sites,
        }) => {
            let user = existing_user(store, &login).await?;
            if user.superuser_access != 0 {
                bail!("{login} has super user access, which covers every site: revoke it first");
            }
            let access = Access::parse(&access).context("checked by clap")?;
            let known: Vec<i64> = store.sites().await?.iter().map(|s| s.idsite).collect();
            let ids: Vec<i64> = if sites.trim() == "all" {
                known
            } else {
                let mut ids = Vec::new();
                for id in sites.split(',').map(str::trim) {
                    let id: i64 = id.parse().with_context(|| {
                        format!("--sites takes ids like 1,2 or all, not {id:?}")
                    })?;
                    if !known.contains(&id) {
                        bail!("no site with idsite {id}");
                    }
                    ids.push(id);
                }
                ids
            };
            store.set_access(&login, &ids, access).await?;
        }
        UserCommand::Access(AccessCommand::List { login }) => {
            let user = existing_user(store, &login).await?;
            if user.superuser_access != 0 {
                for site in store.sites().await? {
                    println!("{}\tadmin", site.idsite);
                }
            } else {
                for (owner, idsite, access) in store.all_access().await? {
                    if owner == login {
                        println!("{idsite}\t{}", access.as_str());
                    }
                }
            }
        }
    }
    Ok(())
}

async fn existing_user(store: &Store, login: &str) -> anyhow::Result<User> {
    store
        .user(login)
        .await?
        .with_context(|| format!("no user with the login {login:?}"))
}

/// `edgemeter token ...`.
async fn tokens(store: &Store, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { login, description } => {
            let token = auth::new_token();
            store
                .add_token(&login, &auth::token_digest(&token), &description)
                .await?;
            println!("{token}");
        }
        TokenCommand::List { login } => {
            existing_user(store, &login).await?;
            for token in store.tokens(&login).await? {
                let expires = token.date_expired.as_deref().unwrap_or("-");
                println!(
                    "{}\t{}\t{expires}\t{}",
                    token.idusertokenauth, token.date_created, token.description
                );
            }
        }
        TokenCommand::Delete { login, id } => {
            if !store.delete_token(&login, id).await? {
                bail!("{login} has no token with the id {id}");
            }
        }
    }
    Ok(())
}

/// Stores a run-time switch; every origin obeys it within `switches::REFRESH`.
async fn switch(
    config: &Config,
    switch: crate::switches::Switch,
    state: OnOff,
) -> anyhow::Result<()> {
    let store = open(config).await?;
    crate::switches::set(&store, switch, state == OnOff::On).await?;
    eprintln!(
        "{switch:?} {}: every origin follows within {} s",
        if state == OnOff::On { "on" } else { "off" },
        crate::switches::REFRESH.as_secs()
    );
    Ok(())
}

/// Connects and migrates, so every command works on a fresh database.
async fn open(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database_url).await?;
    store.migrate().await?;
    Ok(store)
}
