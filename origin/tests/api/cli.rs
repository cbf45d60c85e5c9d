//! The `edgemeter` command line, as scripts use it: ids and tokens alone on stdout.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use crate::{both_backends, helpers::*};

pub(crate) fn edgemeter(
    database_url: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgemeter"))
        .args(args)
        .env("EDGEMETER_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run edgemeter");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

async fn sites_users_and_tokens_are_created_from_the_command_line(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let (ok, _, err) = edgemeter(&url, &["migrate"], None);
    assert!(ok, "{err}");
    let (ok, out, err) = edgemeter(
        &url,
        &[
            "site",
            "add",
            "--name",
            "Shop",
            "--url",
            "https://shop.example",
            "--url",
            "https://www.shop.example",
            "--timezone",
            "Europe/Paris",
            "--currency",
            "EUR",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(out, "1\n");
    let (ok, out, _) = edgemeter(
        &url,
        &[
            "site",
            "add",
            "--name",
            "Blog",
            "--url",
            "https://blog.example",
        ],
        None,
    );
    assert!(ok);
    assert_eq!(out, "2\n");
    let (ok, _, err) = edgemeter(
        &url,
        &[
            "user",
            "add",
            "--login",
            "ops",
            "--password-stdin",
            "--super-user",
        ],
        Some("s3cret\n"),
    );
    assert!(ok, "{err}");
    let (ok, token, err) = edgemeter(
        &url,
        &["token", "create", "--login", "ops", "--description", "ci"],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(token.trim().len(), 32);
    let (ok, _, err) = edgemeter(&url, &["token", "create", "--login", "nobody"], None);
    assert!(!ok);
    assert!(err.contains("nobody"), "{err}");
    let (ok, _, err) = edgemeter(
        &url,
        &[
            "site",
            "add",
            "--name",
            "X",
            "--url",
            "https://x.example",
            "--timezone",
            "Mars/Olympus",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("unknown time zone"), "{err}");

    let (ok, out, err) = edgemeter(
        &url,
        &[
            "dimension",
            "add",
            "--site",
            "1",
            "--name",
            "Plan",
            "--scope",
            "visit",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(out, "1\n");
    let (ok, _, err) = edgemeter(
        &url,
        &[
            "dimension",
            "add",
            "--site",
            "9",
            "--name",
            "X",
            "--scope",
            "visit",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("no site with idsite 9"), "{err}");

    let store = origin::store::Store::connect(&url).await.unwrap();
    let site = store.site(1).await.unwrap().unwrap();
    assert_eq!(site.timezone, "Europe/Paris");
    assert_eq!(site.currency, "EUR");
    assert_eq!(
        site.urls,
        vec!["https://shop.example", "https://www.shop.example"]
    );
    let owner = store
        .token_owner(&origin::auth::token_digest(token.trim()))
        .await
        .unwrap()
        .unwrap();
    assert!(owner.is_superuser());
    store.close().await;
}

async fn users_access_and_tokens_are_managed_from_the_command_line(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let run = |args: &[&str]| edgemeter(&url, args, None);
    for name in ["Shop", "Blog"] {
        let (ok, _, err) = run(&["site", "add", "--name", name, "--url", "https://x.example"]);
        assert!(ok, "{err}");
    }
    for (login, extra) in [("ops", Some("--super-user")), ("ann", None)] {
        let mut args = vec!["user", "add", "--login", login, "--password-stdin"];
        args.extend(extra);
        let (ok, _, err) = edgemeter(&url, &args, Some("s3cret\n"));
        assert!(ok, "{err}");
    }
    let (ok, _, err) = run(&[
        "user", "access", "set", "--login", "ann", "--access", "write", "--sites", "all",
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&[
        "user", "access", "set", "--login", "ann", "--access", "noaccess", "--sites", "2",
    ]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["user", "access", "list", "--login", "ann"]);
    assert!(ok);
    assert_eq!(out, "1\twrite\n");
    let (ok, _, err) = run(&[
        "user", "access", "set", "--login", "ann", "--access", "view", "--sites", "7",
    ]);
    assert!(!ok);
    assert!(err.contains("no site with idsite 7"), "{err}");
    let (ok, _, err) = run(&[
        "user", "access", "set", "--login", "ops", "--access", "view", "--sites", "1",
    ]);
    assert!(!ok);
    assert!(err.contains("super user access"), "{err}");

    let (ok, _, err) = run(&["user", "super-user", "--login", "ops", "--revoke"]);
    assert!(!ok, "the only super user keeps it");
    assert!(err.contains("only super user"), "{err}");
    let (ok, _, err) = run(&["user", "super-user", "--login", "ann"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["user", "access", "list", "--login", "ann"]);
    assert!(ok);
    assert_eq!(out, "1\tadmin\n2\tadmin\n");
    let (ok, out, _) = run(&["user", "list"]);
    assert!(ok);
    assert_eq!(out, "ann\t1\t\nops\t1\t\n");

    let (ok, _, err) = run(&["token", "create", "--login", "ann", "--description", "ci"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["token", "list", "--login", "ann"]);
    assert!(ok);
    let line: Vec<&str> = out.trim_end().split('\t').collect();
    assert_eq!((line.len(), line[2], line[3]), (4, "-", "ci"), "{out}");
    let (ok, _, err) = run(&["token", "delete", "--login", "ann", "--id", line[0]]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["token", "delete", "--login", "ann", "--id", line[0]]);
    assert!(!ok);
    assert!(err.contains("no token with the id"), "{err}");
    let (ok, _, err) = run(&["user", "delete", "--login", "ops"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["user", "list"]);
    assert!(ok);
    assert_eq!(out, "ann\t1\t\n");
}

both_backends!(
    sites_users_and_tokens_are_created_from_the_command_line,
    users_access_and_tokens_are_managed_from_the_command_line,
);
