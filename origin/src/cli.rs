//! The `edgemeter` command line: `serve` (the default), `migrate`, `site add`, `user add`,
//! `token create`, `dimension add`. Commands that create something print its id alone on stdout, so scripts can
//! capture it (`IDSITE=$(edgemeter site add ...)`); progress and logs go to stderr.

use std::{io::Read, path::PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::{
    auth,
    config::Config,
    startup::App,
    store::{NewSite, Store},
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
        /// Give the user super user access.
        #[arg(long)]
        super_user: bool,
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
                    .add_user(&login, &auth::hash_password(password)?, super_user)
                    .await?;
                eprintln!("user {login} added");
                Ok(())
            }
            Command::Archive(args) => {
                let store = open(&config).await?;
                let settings = crate::archive::Settings::from(&config.archiving);
                crate::archive::cli::archive(&store, &args, settings).await
            }
            Command::InvalidateReportData(args) => {
                let store = open(&config).await?;
                crate::archive::cli::invalidate(&store, &args).await
            }
            Command::Token(TokenCommand::Create { login, description }) => {
                let store = open(&config).await?;
                let token = auth::new_token();
                store
                    .add_token(&login, &auth::token_digest(&token), &description)
                    .await?;
                println!("{token}");
                Ok(())
            }
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

/// Connects and migrates, so every command works on a fresh database.
async fn open(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database_url).await?;
    store.migrate().await?;
    Ok(store)
}
