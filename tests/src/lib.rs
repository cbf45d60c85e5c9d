//! Shared helpers of the end-to-end tests in `tests/tests/`: build and start the real `edgemeter`
//! binary on a fresh SQLite database (site, super user, token and goals made with its own CLI),
//! run the reference clients in `tests/clients/`, and read Matomo's log tables back.
//!
//! These helpers panic with a full explanation on any failure: they only run inside tests, and a
//! missing tool must fail the suite loudly rather than skip it.

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use sqlx::sqlite::SqlitePool;

/// The repository root (the workspace this crate belongs to).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .to_path_buf()
}

/// The `edgemeter` binary: `EDGEMETER_BIN` when set, else built once per test process with
/// `cargo build -p origin --bin edgemeter` into the target directory this test binary lives in
/// (so it honours `CARGO_TARGET_DIR` and the profile).
pub fn edgemeter_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("EDGEMETER_BIN") {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "EDGEMETER_BIN={} is not a file",
                bin.display()
            );
            return bin;
        }
        // This test binary is TARGET/PROFILE/deps/NAME-HASH.
        let exe = std::env::current_exe().expect("the path of the running test binary");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary under TARGET/PROFILE/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("TARGET/PROFILE");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(workspace_root())
            .args(["build", "--locked", "-p", "origin", "--bin", "edgemeter"])
            .arg("--target-dir")
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("running cargo build");
        assert!(status.success(), "cargo build -p origin failed: {status}");
        let bin = profile_dir.join("edgemeter");
        assert!(bin.is_file(), "{} missing after cargo build", bin.display());
        bin
    })
}

/// A goal created before the server starts.
#[derive(Debug, Clone)]
pub struct GoalSpec {
    /// `manually`, `url`, `title`, `file`, `external_website`, `event_category`, ...
    pub match_attribute: &'static str,
    pub pattern: &'static str,
    pub pattern_type: &'static str,
    pub allow_multiple: bool,
    pub revenue: f64,
}

impl GoalSpec {
    /// A goal converted only by `idgoal=N` requests (the JS `trackGoal`).
    pub fn manual() -> Self {
        Self {
            match_attribute: "manually",
            pattern: "",
            pattern_type: "contains",
            allow_multiple: false,
            revenue: 0.0,
        }
    }
}

/// A running `edgemeter serve` on a fresh SQLite database in a temporary directory, with one site,
/// a super user `admin` and that user's token. Killed on drop.
pub struct Origin {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub database_url: String,
    pub idsite: i64,
    pub token: String,
    child: Child,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Origin {
    /// Migrates, adds the site (`site_url`), the user, the token and the goals (ids 1, 2, ... in
    /// order), then starts the server on a free port and waits until it accepts connections.
    pub async fn start(site_url: &str, goals: &[GoalSpec]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database_url = format!("sqlite://{}", dir.path().join("edgemeter.sqlite").display());
        let cli = |args: &[&str], stdin: Option<&str>| cli(&database_url, args, stdin);
        cli(&["migrate"], None);
        let idsite: i64 = cli(
            &["site", "add", "--name", "E2E shop", "--url", site_url],
            None,
        )
        .parse()
        .expect("`site add` prints the idsite");
        cli(
            &[
                "user",
                "add",
                "--login",
                "admin",
                "--password-stdin",
                "--super-user",
            ],
            Some("e2e-password\n"),
        );
        let token = cli(&["token", "create", "--login", "admin"], None);
        assert!(token.len() >= 32, "`token create` printed {token:?}");

        // No CLI command creates goals yet: the origin's own store does, before the server starts
        // (its site cache then sees them at once).
        if !goals.is_empty() {
            let store = origin::store::Store::connect(&database_url)
                .await
                .expect("open the store");
            for (n, goal) in goals.iter().enumerate() {
                let idgoal = store
                    .add_goal(&origin::store::NewGoal {
                        idsite,
                        name: format!("Goal {}", n + 1),
                        description: String::new(),
                        match_attribute: goal.match_attribute.to_owned(),
                        pattern: goal.pattern.to_owned(),
                        pattern_type: goal.pattern_type.to_owned(),
                        case_sensitive: false,
                        allow_multiple: goal.allow_multiple,
                        revenue: goal.revenue,
                        event_value_as_revenue: false,
                    })
                    .await
                    .expect("add a goal");
                assert_eq!(idgoal, n as i64 + 1, "goals are numbered from 1");
            }
        }

        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let log_path = dir.path().join("serve.log");
        let log = std::fs::File::create(&log_path).expect("the server log file");
        let child = Command::new(edgemeter_bin())
            .args(["serve", "--listen", &listen])
            .env("EDGEMETER_DATABASE_URL", &database_url)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file handle"))
            .stderr(log)
            .spawn()
            .expect("starting edgemeter serve");
        let mut origin = Self {
            base_url: format!("http://{listen}"),
            database_url,
            idsite,
            token,
            child,
            log_path,
            _dir: dir,
        };
        origin.wait_ready(&listen).await;
        origin
    }

    async fn wait_ready(&mut self, listen: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("edgemeter serve exited ({status}):\n{}", self.log());
            }
            if TcpStream::connect(listen).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "edgemeter serve did not listen on {listen} within 30 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the server printed so far (for failure messages).
    /// Calls the Reporting API (`/index.php?module=API&method=...&format=json` with the super
    /// user's token) and returns the parsed JSON answer.
    pub fn api(&self, method: &str, params: &str) -> serde_json::Value {
        let path = format!(
            "/index.php?module=API&method={method}&format=json&token_auth={}&{params}",
            self.token
        );
        let body = http_get(&self.base_url, &path);
        serde_json::from_str(&body)
            .unwrap_or_else(|err| panic!("{method}: not JSON ({err}): {body}"))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// A connection pool on the server's database (SQLite in WAL mode allows a reader beside it).
    pub async fn db(&self) -> SqlitePool {
        SqlitePool::connect(&self.database_url)
            .await
            .expect("open the origin's database")
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `edgemeter ARGS` on the database; returns its trimmed stdout, panics with stderr on failure.
fn cli(database_url: &str, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new(edgemeter_bin())
        .args(args)
        .env("EDGEMETER_DATABASE_URL", database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running edgemeter");
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.unwrap_or("").as_bytes())
            .expect("writing edgemeter's stdin");
    }
    let out = child.wait_with_output().expect("waiting for edgemeter");
    assert!(
        out.status.success(),
        "edgemeter {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The folder of the reference clients (`tests/clients`), with its npm packages installed.
pub fn clients_dir() -> PathBuf {
    let dir = workspace_root().join("tests/clients");
    for package in ["playwright-core", "matomo-tracker"] {
        assert!(
            dir.join("node_modules").join(package).is_dir(),
            "tests/clients/node_modules/{package} is missing: run scripts/test-e2e \
             (or `npm ci` in tests/clients)"
        );
    }
    dir
}

/// Runs `node tests/clients/SCRIPT ARGS` (at most `timeout`) and parses the JSON it prints.
pub async fn run_node(script: &str, args: &[&str], timeout: Duration) -> serde_json::Value {
    let dir = clients_dir();
    let run = tokio::process::Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(timeout, run)
        .await
        .unwrap_or_else(|_| panic!("node {script} ran longer than {timeout:?}"))
        .unwrap_or_else(|e| panic!("cannot run node (Node 20 or newer is needed): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node {script} {args:?} failed ({}):\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "node {script} printed no JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The value of query parameter `name` in `url` (form-decoded), if present.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A plain HTTP/1.0 GET on the loopback origin; returns the body of a 200 answer.
fn http_get(base_url: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let host = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("connecting to the origin");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("sending the request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("reading the answer");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "GET {path}: {head}"
    );
    body.to_owned()
}
