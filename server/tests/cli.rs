//! The `switchboard` binary as an admin runs it.

mod binary;
mod upstream;

use binary::{serve_in, serve_with, switchboard};

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn help_lists_the_commands_and_flags() {
    let out = switchboard().arg("--help").output().await.unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for word in [
        "serve",
        "migrate",
        "--addr",
        "--database-url",
        "--data-dir",
        "--public-url",
        "--log-format",
        "DATABASE_URL",
        "SWITCHBOARD_ADDR",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let version = switchboard().arg("--version").output().await.unwrap();
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        format!("switchboard {}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn migrate_creates_the_sqlite_database_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested/data");
    let out = switchboard()
        .args(["migrate", "--data-dir"])
        .arg(&data)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("switchboard.db").is_file());
    // Applying again is a no-op, not an error.
    let again = switchboard()
        .arg("migrate")
        .env("SWITCHBOARD_DATA_DIR", &data)
        .output()
        .await
        .unwrap();
    assert!(again.status.success());
}

#[tokio::test]
async fn bad_settings_fail_with_a_clear_message() {
    let out = switchboard()
        .args([
            "migrate",
            "--database-url",
            "mysql://root:hunter2@localhost/x",
        ])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");

    let out = switchboard()
        .args(["--public-url", "example.com", "migrate"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr).unwrap().contains("https://"));

    let dir = tempfile::tempdir().unwrap();
    let out = switchboard()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .env("SWITCHBOARD_METRICS_TOKEN", "tiny-Q7x")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("SWITCHBOARD_METRICS_TOKEN is shorter than 16 characters"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("tiny-Q7x"),
        "the token is not echoed: {stderr}"
    );
}

#[tokio::test]
async fn serve_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // A database from before secret headers, with a credential in a plain connector header:
    // start-up makes it secret before the server listens.
    let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
    let store = switchboard::storage::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let legacy = store
        .insert_connector(&switchboard::storage::ConnectorWrite {
            name: "Legacy".into(),
            name_key: "legacy".into(),
            enabled: true,
            base_url: "https://vault.example.com/v1".into(),
            auth_settings: r#"{"type":"none"}"#.into(),
            secret: Some(None),
            headers: r#"[["X-Vault-Token","hvs.before-start"]]"#.into(),
            header_secrets: None,
        })
        .await
        .unwrap();
    store.close().await;
    let mut child = switchboard()
        .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json"])
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let entry: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
            if let Some(addr) = entry["message"]
                .as_str()
                .and_then(|m| m.strip_prefix("Switchboard listening on http://"))
            {
                return addr.to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server did not start within 30 s");

    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let store = switchboard::storage::Store::connect(&url).await.unwrap();
    let row = store.connector(&legacy.id).await.unwrap().unwrap();
    store.close().await;
    assert_eq!(row.headers, r#"[["X-Vault-Token",null]]"#, "made secret");
    assert!(
        row.header_secrets
            .is_some_and(|c| !c.contains("hvs.before-start"))
    );

    // The process started itself again with glibc's mmap threshold fixed (see main.rs), under
    // the same pid, so signals and supervisors still reach it.
    let pid = child.id().unwrap().to_string();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(
        environ
            .split(|&b| b == 0)
            .any(|var| var == b"MALLOC_MMAP_THRESHOLD_=131072"),
        "the server runs with MALLOC_MMAP_THRESHOLD_=131072"
    );
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server did not stop within 10 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn no_secret_reaches_the_logs_or_later_responses() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, logs) = serve_in(dir.path()).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let origin = format!("http://{addr}");
    let post = |path: &str, form: Vec<(&str, String)>, session: Option<String>| {
        let mut request = client
            .post(format!("{origin}{path}"))
            .header("origin", &origin)
            .form(&form);
        if let Some(session) = session {
            request = request.header("cookie", format!("sb_session={session}"));
        }
        request.send()
    };
    let session_of = |response: &reqwest::Response| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .find_map(|v| {
                v.to_str()
                    .ok()?
                    .strip_prefix("sb_session=")
                    .map(|v| v.split(';').next().unwrap().to_owned())
            })
            .unwrap()
    };
    let password = "Tr0ub4dor&3 horse staple".to_owned();
    let setup = post(
        "/api/setup",
        vec![
            ("email", "admin@example.com".into()),
            ("name", "Admin".into()),
            ("password", password.clone()),
            ("password_again", password.clone()),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(setup.status(), 200);
    let first_session = session_of(&setup);
    let signed_in = post(
        "/api/sign_in",
        vec![
            ("email", "admin@example.com".into()),
            ("password", password.clone()),
        ],
        None,
    )
    .await
    .unwrap();
    let session = session_of(&signed_in);
    let created = post(
        "/api/api_keys/create",
        vec![
            ("name", "leak test".into()),
            ("role", "administrator".into()),
        ],
        Some(session.clone()),
    )
    .await
    .unwrap();
    let created: serde_json::Value = created.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let me = client
        .get(format!("{origin}/api/v1/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // A wrong password is logged as a failed sign-in, without the password.
    post(
        "/api/sign_in",
        vec![
            ("email", "admin@example.com".into()),
            ("password", "wrong-password-xyz".into()),
        ],
        None,
    )
    .await
    .unwrap();

    // Everything a browser or script can read afterwards.
    let mut seen = String::new();
    for path in [
        "/api/session",
        "/api/accounts/list",
        "/api/api_keys/list",
        "/api/audit/list",
    ] {
        let response = post(path, vec![], Some(session.clone())).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        seen.push_str(&response.text().await.unwrap());
    }
    for path in [
        "/workflows",
        "/settings/api-keys",
        "/settings/administrators",
        "/audit-log",
        "/api/v1/audit-log.csv",
    ] {
        let response = client
            .get(format!("{origin}{path}"))
            .header("cookie", format!("sb_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        seen.push_str(&response.text().await.unwrap());
    }
    assert!(seen.contains("leak test") && seen.contains("account.sign_in_failed"));

    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let logs = logs.all();
    assert!(
        logs.contains("/api/sign_in"),
        "the requests were logged:\n{logs}"
    );
    for (what, secret) in [
        ("password", password.as_str()),
        ("wrong password", "wrong-password-xyz"),
        ("session id", first_session.as_str()),
        ("session id", session.as_str()),
        ("API key", key.as_str()),
        ("API key secret", &key[14..]),
    ] {
        assert!(!logs.contains(secret), "the {what} is in the server log");
        assert!(!seen.contains(secret), "the {what} is in a later response");
    }
}

#[tokio::test]
async fn admins_and_api_keys_can_be_made_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = switchboard();
        cmd.args(args)
            .env("SWITCHBOARD_DATA_DIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let stdin = stdin.map(str::to_owned);
        async move {
            let mut child = cmd.spawn().unwrap();
            let mut pipe = child.stdin.take().unwrap();
            if let Some(text) = stdin {
                tokio::io::AsyncWriteExt::write_all(&mut pipe, text.as_bytes())
                    .await
                    .unwrap();
            }
            drop(pipe);
            child.wait_with_output().await.unwrap()
        }
    };
    let short = run(
        &[
            "admin",
            "create",
            "--email",
            "ops@example.com",
            "--password-stdin",
        ],
        Some("short\n"),
    )
    .await;
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));

    let made = run(
        &[
            "admin",
            "create",
            "--email",
            "ops@example.com",
            "--role",
            "administrator",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    )
    .await;
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&made.stdout).trim(),
        "Created ops@example.com (Administrator)."
    );

    let key = run(
        &[
            "api-key",
            "create",
            "--name",
            "backup script",
            "--role",
            "read-only",
        ],
        None,
    )
    .await;
    assert!(
        key.status.success(),
        "{}",
        String::from_utf8_lossy(&key.stderr)
    );
    let key = String::from_utf8(key.stdout).unwrap().trim().to_owned();
    assert!(
        domain::ApiKey::parse(&key).is_some(),
        "stdout is just the key: {key:?}"
    );

    let revoked = run(&["api-key", "revoke", &key[..13]], None).await;
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let unknown = run(&["api-key", "revoke", "sb_0000000000"], None).await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("There is no API key sb_0000000000"));

    // The account signs in over HTTP.
    let (mut child, addr, _logs) = serve_in(dir.path()).await;
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/sign_in"))
        .form(&[
            ("email", "ops@example.com"),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_master_key_is_created_once_and_a_wrong_one_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _addr, _logs) = serve_in(dir.path()).await;
    child.kill().await.unwrap();
    let key_file = dir.path().join("master.key");
    assert!(
        key_file.is_file(),
        "the embedded default creates a key file"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let start = |env: Option<&str>| {
        let mut cmd = switchboard();
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .env("SWITCHBOARD_DATA_DIR", dir.path());
        match env {
            Some(key) => cmd.env("SWITCHBOARD_MASTER_KEY", key),
            None => cmd.env_remove("SWITCHBOARD_MASTER_KEY"),
        };
        async move {
            tokio::time::timeout(Duration::from_secs(20), cmd.output())
                .await
                .expect("start-up ended")
                .unwrap()
        }
    };
    // Another valid key: refused, with what to do.
    let wrong = start(Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")).await;
    assert!(!wrong.status.success());
    let says = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        says.contains("master key does not open this database"),
        "{says}"
    );
    // Not a key at all.
    let junk = start(Some("not-a-key")).await;
    assert!(String::from_utf8_lossy(&junk.stderr).contains("base64"));
    // The key file lost: refused, never silently replaced.
    std::fs::remove_file(&key_file).unwrap();
    let lost = start(None).await;
    assert!(!lost.status.success());
    assert!(String::from_utf8_lossy(&lost.stderr).contains("is missing"));
    assert!(!key_file.exists());
}

/// The secret canary test: connectors are created with distinctive secrets through the REST API
/// and the page's server functions, edited, toggled and tested against a mock upstream, used by a
/// workflow run and *Test this step* against an upstream that echoes them back; then every page,
/// server function and API answer, the server log (debug level) and the database file are
/// searched for the canaries. Only the upstream may see them.
#[tokio::test]
async fn connector_secrets_reach_the_upstream_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    // The most verbose logs: every crate's trace lines, the HTTP client's and TLS's included.
    let (mut child, addr, logs) = serve_with(dir.path(), &[("RUST_LOG", "trace")]).await;
    let upstream = upstream::Upstream::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let origin = format!("http://{addr}");
    let salt = uuid::Uuid::new_v4().simple().to_string();
    let canary = |what: &str| format!("CANARY{what}{}", &salt[..12]);
    let secrets = [
        canary("basicpw"),
        canary("bearer"),
        canary("headerkey"),
        canary("querykey"),
        canary("replaced"),
        canary("unsaved"),
        canary("secrethdr"),
        canary("restsecrethdr"),
    ];

    let setup = client
        .post(format!("{origin}/api/setup"))
        .header("origin", &origin)
        .form(&[
            ("email", "admin@example.com"),
            ("name", "Admin"),
            ("password", "canary admin password"),
            ("password_again", "canary admin password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 200);
    let session = setup
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            v.to_str()
                .ok()?
                .strip_prefix("sb_session=")
                .map(|v| v.split(';').next().unwrap().to_owned())
        })
        .unwrap();
    let cookie = format!("sb_session={session}");
    let server_fn = |path: &'static str, body: serde_json::Value, json: bool| {
        let request = client
            .post(format!("{origin}{path}"))
            .header("origin", &origin)
            .header("cookie", &cookie);
        let request = if json {
            request.json(&body)
        } else {
            request.form(&body)
        };
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            assert!(status.is_success(), "{path}: {status} {text}");
            text
        }
    };
    let key_answer = server_fn(
        "/api/api_keys/create",
        serde_json::json!({"name": "canary", "role": "administrator"}),
        false,
    )
    .await;
    let api_key = serde_json::from_str::<serde_json::Value>(&key_answer).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = upstream.base_url("/api");
    let mut seen = String::new();
    let mut ids = Vec::new();

    // Through the REST API: Basic and Bearer.
    for (name, auth) in [
        (
            "Canary Basic",
            serde_json::json!({"type":"basic","username":"svc","password": secrets[0]}),
        ),
        (
            "Canary Bearer",
            serde_json::json!({"type":"bearer","token": secrets[1]}),
        ),
    ] {
        let made = client
            .post(format!("{origin}/api/v2/connectors"))
            .header("x-api-key", &api_key)
            .json(&serde_json::json!({"name": name, "base_url": base, "auth": auth}))
            .send()
            .await
            .unwrap();
        assert_eq!(made.status(), 201);
        let text = made.text().await.unwrap();
        ids.push(
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        seen.push_str(&text);
    }
    // Through the page's server function: Header and Query.
    for (name, auth) in [
        (
            "Canary Header",
            serde_json::json!({"type":"header","header_name":"X-Api-Key","api_key": secrets[2]}),
        ),
        (
            "Canary Query",
            serde_json::json!({"type":"query","param_name":"apiKey","api_key": secrets[3]}),
        ),
    ] {
        // A secret header beside a plain one (on the Header connector; the Query one has none).
        let headers = if name == "Canary Header" {
            serde_json::json!([{"key": "X-App-Key", "value": secrets[6], "secret": true},
                {"key": "X-Org", "value": "42"}])
        } else {
            serde_json::json!([])
        };
        let text = server_fn(
            "/api/connectors/save",
            serde_json::json!({"id": null, "input": {"name": name, "base_url": base, "auth": auth, "headers": headers}}),
            true,
        )
        .await;
        ids.push(
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        seen.push_str(&text);
    }
    // Replace the Bearer token with PUT and give it a secret header; save the Header connector
    // again keeping its secret header (empty value); test every connector (stored secrets), one
    // unsaved form, and one that fails (refused) with a Query key in its URL.
    let put = client
        .put(format!("{origin}/api/v2/connectors/{}", ids[1]))
        .header("x-api-key", &api_key)
        .json(&serde_json::json!({"name": "Canary Bearer", "base_url": base, "auth": {"type":"bearer","token": secrets[4]},
            "headers": [{"key": "X-Second-Key", "value": secrets[7], "secret": true}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let put = put.text().await.unwrap();
    assert!(
        put.contains(r#"{"key":"X-Second-Key","value":"","secret":true}"#),
        "{put}"
    );
    seen.push_str(&put);
    let kept_header = serde_json::json!([{"key": "X-App-Key", "value": "", "secret": true},
        {"key": "X-Org", "value": "42"}]);
    seen.push_str(
        &server_fn(
            "/api/connectors/save",
            serde_json::json!({"id": ids[2], "input": {"name": "Canary Header", "base_url": base,
                "auth": {"type":"header","header_name":"X-Api-Key"}, "headers": kept_header}}),
            true,
        )
        .await,
    );
    for (id, auth) in ids.iter().zip([
        serde_json::json!({"type":"basic","username":"svc"}),
        serde_json::json!({"type":"bearer"}),
        serde_json::json!({"type":"header","header_name":"X-Api-Key"}),
        serde_json::json!({"type":"query","param_name":"apiKey"}),
    ]) {
        let headers = if *id == ids[2] {
            kept_header.clone()
        } else {
            serde_json::json!([])
        };
        seen.push_str(
            &server_fn(
                "/api/connectors/test",
                serde_json::json!({"id": id, "input": {"name": "x", "base_url": base, "auth": auth, "headers": headers}, "test_path": "/ping"}),
                true,
            )
            .await,
        );
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for base in [base.clone(), format!("http://{closed}")] {
        seen.push_str(
            &server_fn(
                "/api/connectors/test",
                serde_json::json!({"id": null, "input": {"name": "Unsaved", "base_url": base,
                    "auth": {"type":"query","param_name":"key","api_key": secrets[5]}}, "test_path": ""}),
                true,
            )
            .await,
        );
    }
    seen.push_str(
        &server_fn(
            "/api/connectors/set_enabled",
            serde_json::json!({"id": ids[0], "enabled": "false"}),
            false,
        )
        .await,
    );

    // Runs: a workflow whose steps send through three connectors to an upstream that echoes the
    // request back (credentials included), a run over REST, and Test this step.
    let steps: Vec<serde_json::Value> = ids[1..]
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::json!({"key": format!("echo_{i}"), "name": format!("Echo {i}"),
                "action": {"type": "external_app_connector", "connector_id": id, "method": "POST",
                    "path": "/echo", "body": "{\"user\": \"${input.user}\"}", "headers": []}})
        })
        .collect();
    let workflow = client
        .post(format!("{origin}/api/v2/workflows"))
        .header("x-api-key", &api_key)
        .json(&serde_json::json!({"name": "Canary run", "trigger": {"type": "manual", "sample_input": {"user": "ada"}}, "steps": steps}))
        .send()
        .await
        .unwrap();
    assert_eq!(workflow.status(), 201);
    let workflow: serde_json::Value = workflow.json().await.unwrap();
    let started = client
        .post(format!(
            "{origin}/api/v2/workflows/{}/runs",
            workflow["id"].as_str().unwrap()
        ))
        .header("x-api-key", &api_key)
        .json(&serde_json::json!({"input": {"user": "grace"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let run_id = started.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut finished = serde_json::Value::Null;
    for _ in 0..200 {
        let got = client
            .get(format!("{origin}/api/v2/workflows/runs/{run_id}"))
            .header("x-api-key", &api_key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        finished = serde_json::from_str(&got).unwrap();
        if finished["status"] == "succeeded" || finished["status"] == "failed" {
            seen.push_str(&got);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert!(
        finished.to_string().contains("[REDACTED]"),
        "the echoed credentials were redacted"
    );
    seen.push_str(
        &server_fn(
            "/api/runs/test_step",
            serde_json::json!({"test": {"workflow_id": null, "workflow_name": "Canary",
                "trigger": {"type": "manual", "sample_input": {"user": "ada"}}, "step": steps[2]}}),
            true,
        )
        .await,
    );
    seen.push_str(&server_fn("/api/runs/get", serde_json::json!({"id": run_id}), false).await);
    for path in [
        "/api/v2/workflows/runs".to_owned(),
        format!("/runs/{run_id}"),
    ] {
        let response = client
            .get(format!("{origin}{path}"))
            .header("cookie", &cookie)
            .header("x-api-key", &api_key)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        seen.push_str(&response.text().await.unwrap());
    }

    // The upstream got each credential (so the canaries were real and in use) …
    let received = format!("{:?}", upstream.take());
    for secret in &secrets[2..] {
        assert!(
            received.contains(secret.as_str()),
            "the upstream never got {secret}"
        );
    }
    assert!(received.contains("Bearer CANARY"), "{received}");
    assert!(
        !received.contains(&secrets[1]),
        "the replaced token was still sent"
    );

    // … and nothing else did.
    for path in [
        "/api/session",
        "/api/connectors/list",
        "/api/audit/list",
        "/api/accounts/list",
        "/api/api_keys/list",
    ] {
        seen.push_str(&server_fn(path, serde_json::json!({}), false).await);
    }
    let mut gets: Vec<String> = [
        "/",
        "/workflows",
        "/runs",
        "/settings/connectors",
        "/settings/administrators",
        "/settings/api-keys",
        "/account",
        "/audit-log",
        "/api/v1/audit-log.csv",
        "/api/v2/connectors",
    ]
    .map(str::to_owned)
    .to_vec();
    gets.extend(ids.iter().map(|id| format!("/api/v2/connectors/{id}")));
    for path in &gets {
        let response = client
            .get(format!("{origin}{path}"))
            .header("cookie", &cookie)
            .header("x-api-key", &api_key)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success() || response.status().is_redirection(),
            "{path}: {}",
            response.status()
        );
        seen.push_str(&response.text().await.unwrap());
    }
    assert!(
        seen.contains("Canary Query") && seen.contains("connector.test"),
        "the reads saw the connectors"
    );

    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let logs = logs.all();
    assert!(
        logs.contains("/api/connectors/test"),
        "the requests were logged"
    );
    let mut database = Vec::new();
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let path = file.unwrap().path();
        if path.to_string_lossy().contains("switchboard.db") {
            database.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(!database.is_empty());
    let needle = |hay: &[u8], s: &str| hay.windows(s.len()).any(|w| w == s.as_bytes());
    // The salt alone would match an encoding of a canary too (base64 aside, which ciphertext is).
    for secret in secrets.iter().map(String::as_str).chain([&salt[..12]]) {
        assert!(
            !seen.contains(secret),
            "{secret} is in a page, server function or API answer"
        );
        assert!(!logs.contains(secret), "{secret} is in the server log");
        assert!(
            !needle(&database, secret),
            "{secret} is in the database file"
        );
    }
}

/// `switchboard keys rotate`: secrets survive under the new master key, the old key stops
/// working, and a rotation interrupted before the key file was replaced finishes at start-up.
#[tokio::test]
async fn keys_rotate_re_encrypts_every_secret_under_a_new_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = upstream::Upstream::start().await;
    let made = switchboard()
        .args([
            "api-key",
            "create",
            "--name",
            "rotation",
            "--role",
            "administrator",
        ])
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .output()
        .await
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let api_key = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let token = format!("rotation-token-{}", uuid::Uuid::new_v4().simple());
    let client = reqwest::Client::new();

    // Creates (or, with `id`, tests) a Bearer connector on a running server.
    let (mut child, addr, _logs) = serve_in(dir.path()).await;
    let created = client
        .post(format!("http://{addr}/api/v2/connectors"))
        .header("x-api-key", &api_key)
        .json(
            &serde_json::json!({"name": "Rotated", "base_url": upstream.base_url("/api"),
            "auth": {"type": "bearer", "token": token},
            "headers": [{"key": "X-Tenant-Key", "value": "rotated-header-secret", "secret": true}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A connector with secret headers only (no authentication secret), rotated on its own too.
    let headers_only = client
        .post(format!("http://{addr}/api/v2/connectors"))
        .header("x-api-key", &api_key)
        .json(
            &serde_json::json!({"name": "Headers only", "base_url": upstream.base_url("/api"),
            "auth": {"type": "none"},
            "headers": [{"key": "X-App-Key", "value": "rotated-only-header", "secret": true}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(headers_only.status(), 201);
    let headers_only = headers_only.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A webhook's token and signing secret are sealed by the vault too.
    let origin = format!("http://{addr}");
    let setup = client
        .post(format!("{origin}/api/setup"))
        .header("origin", &origin)
        .form(&[
            ("email", "a@example.com"),
            ("name", "A"),
            ("password", "rotation admin pw"),
            ("password_again", "rotation admin pw"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = setup
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let hooked = binary::post_json(
        &client,
        &format!("{origin}/api/v2/workflows"),
        &api_key,
        &serde_json::json!({ "name": "Hooked", "trigger": { "type": "webhook" }, "steps": [] }),
        201,
    )
    .await;
    let hook_call = |origin: String, path: &str, form: Vec<(&'static str, String)>| {
        let request = client
            .post(format!("{origin}{path}"))
            .header("origin", &origin)
            .header("cookie", &cookie)
            .form(&form);
        async move {
            let got = request.send().await.unwrap();
            assert_eq!(got.status(), 200);
            got.json::<serde_json::Value>().await.unwrap()
        }
    };
    let hook_id = hooked["id"].as_str().unwrap().to_owned();
    let signing_secret = "rotation-signing-secret-1234";
    let hook = hook_call(
        origin.clone(),
        "/api/webhooks/set_secret",
        vec![
            ("workflow_id", hook_id.clone()),
            ("secret", signing_secret.into()),
        ],
    )
    .await;
    assert_eq!(hook["has_secret"], true);
    child.kill().await.unwrap();
    let _ = child.wait().await;

    let key_file = dir.path().join("master.key");
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let rotate = switchboard()
        .args(["keys", "rotate"])
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&rotate.stderr);
    assert!(rotate.status.success(), "{said}");
    assert!(
        said.contains("Re-encrypted 3 secret(s) under data key v2"),
        "{said}"
    );
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(old_key, new_key);
    assert!(!dir.path().join("master.key.new").exists());
    assert!(
        rotate.stdout.is_empty(),
        "the key file source prints no key"
    );

    // A master.key.new is never written over unread. Left by a rotation that did not commit, it
    // opens nothing: the next rotation removes it and goes on. Left by one that committed and
    // stopped before promoting it, it is the only key that opens the database: it is promoted
    // first (it was deleted, and every secret lost with it).
    let write_key = |name: &str, text: &str| {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let rotate_again = || async {
        let out = switchboard()
            .args(["keys", "rotate"])
            .env("SWITCHBOARD_DATA_DIR", dir.path())
            .output()
            .await
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{said}");
        assert!(!dir.path().join("master.key.new").exists(), "{said}");
        said
    };
    let unused = switchboard::vault::KeyBytes::random();
    write_key("master.key.new", &unused.to_base64());
    let said = rotate_again().await;
    assert!(said.contains("under data key v3"), "{said}");
    let opening = std::fs::read_to_string(&key_file).unwrap();
    write_key("master.key.new", &opening);
    write_key(
        "master.key",
        &switchboard::vault::KeyBytes::random().to_base64(),
    );
    let said = rotate_again().await;
    assert!(said.contains("Finished an earlier rotation"), "{said}");
    assert!(said.contains("under data key v4"), "{said}");
    let new_key = std::fs::read_to_string(&key_file).unwrap();

    // The server opens with the new key and still sends the same token.
    let sends_the_token = |addr: String| {
        let (client, api_key, id) = (client.clone(), api_key.clone(), id.clone());
        async move {
            let got = client
                .get(format!("http://{addr}/api/v2/connectors/{id}"))
                .header("x-api-key", &api_key)
                .send()
                .await
                .unwrap();
            assert_eq!(got.status(), 200);
            got.json::<serde_json::Value>().await.unwrap()["has_secret"] == true
        }
    };
    let (mut child, addr, logs) = serve_in(dir.path()).await;
    assert!(sends_the_token(addr.clone()).await);
    // The webhook keeps its URL, and its rotated signing secret still checks signatures.
    let after = hook_call(
        format!("http://{addr}"),
        "/api/webhooks/get",
        vec![("workflow_id", hook_id.clone())],
    )
    .await;
    assert_eq!(after["path"], hook["path"]);
    assert_eq!(after["has_secret"], true);
    let body = r#"{"rotated": true}"#;
    let signature = {
        use hmac::Mac;
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(signing_secret.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let bytes = mac.finalize().into_bytes();
        format!(
            "sha256={}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    };
    let signed = client
        .post(format!("http://{addr}{}", after["path"].as_str().unwrap()))
        .header("x-switchboard-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 202);
    let unsigned = client
        .post(format!("http://{addr}{}", after["path"].as_str().unwrap()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    // The URL is the webhook's credential: the debug log names the route, never the token.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hook_token = after["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/hooks/");
    let log = logs.all();
    assert!(
        log.contains("/hooks/{token}"),
        "the webhook calls are logged"
    );
    assert!(
        !log.contains(hook_token),
        "the webhook token reached the log"
    );
    assert!(
        !log.contains(signing_secret),
        "the signing secret reached the log"
    );
    // Test connection (a server function) decrypts the rotated secret and sends it.
    let tested = client
        .post(format!("http://{addr}/api/connectors/test"))
        .header("origin", format!("http://{addr}"))
        .header("cookie", &cookie)
        .json(&serde_json::json!({"id": id, "input": {"name": "Rotated", "base_url": upstream.base_url("/api"), "auth": {"type": "bearer"},
            "headers": [{"key": "X-Tenant-Key", "value": "", "secret": true}]}, "test_path": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(tested.status(), 200, "{}", tested.text().await.unwrap());
    let seen = upstream.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(
        seen[0].header("x-tenant-key"),
        Some("rotated-header-secret"),
        "the secret headers were re-encrypted too"
    );
    let tested = client
        .post(format!("http://{addr}/api/connectors/test"))
        .header("origin", format!("http://{addr}"))
        .header("cookie", &cookie)
        .json(&serde_json::json!({"id": headers_only, "input": {"name": "Headers only", "base_url": upstream.base_url("/api"), "auth": {"type": "none"},
            "headers": [{"key": "X-App-Key", "value": "", "secret": true}]}, "test_path": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(tested.status(), 200, "{}", tested.text().await.unwrap());
    assert_eq!(
        upstream.take()[0].header("x-app-key"),
        Some("rotated-only-header"),
        "a connector with secret headers only is rotated too"
    );
    child.kill().await.unwrap();
    let _ = child.wait().await;

    // The old key no longer opens the database.
    let old = switchboard()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .env("SWITCHBOARD_MASTER_KEY", old_key.trim())
        .output()
        .await
        .unwrap();
    assert!(!old.status.success());
    assert!(String::from_utf8_lossy(&old.stderr).contains("does not open"));

    // With the key in the environment, a new one must be given: none is generated and lost.
    let env_only = switchboard()
        .args(["keys", "rotate"])
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .env("SWITCHBOARD_MASTER_KEY", new_key.trim())
        .output()
        .await
        .unwrap();
    assert!(!env_only.status.success());
    assert!(String::from_utf8_lossy(&env_only.stderr).contains("set SWITCHBOARD_NEW_MASTER_KEY"));
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        new_key,
        "nothing changed"
    );

    // Interrupted after the commit: the old key file is still in place, the new one beside it.
    std::fs::rename(&key_file, dir.path().join("master.key.new")).unwrap();
    std::fs::write(&key_file, &old_key).unwrap();
    let (mut child, addr, logs) = serve_in(dir.path()).await;
    assert!(sends_the_token(addr).await);
    assert!(logs.all().contains("finished an interrupted key rotation"));
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), new_key);
    child.kill().await.unwrap();
}

/// Durable runs: 30 runs are accepted, the server is killed with SIGKILL while some are in
/// flight, and after a restart every accepted run reaches its end. Steps in flight at the kill
/// are sent again (at least once); the test counts and prints them.
#[tokio::test]
async fn accepted_runs_finish_after_a_kill_and_restart() {
    const RUNS: usize = 30;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("SWITCHBOARD_RUN_LEASE_SECONDS", "2"),
        ("SWITCHBOARD_WORKERS", "4"),
    ];
    let (mut child, addr, _logs) = serve_with(dir.path(), &env).await;
    let upstream = upstream::Upstream::start().await;
    let client = reqwest::Client::new();
    let origin = format!("http://{addr}");
    let setup = client
        .post(format!("{origin}/api/setup"))
        .header("origin", &origin)
        .form(&[
            ("email", "admin@example.com"),
            ("name", "Admin"),
            ("password", "kill test password"),
            ("password_again", "kill test password"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = setup
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            v.to_str()
                .ok()?
                .strip_prefix("sb_session=")
                .map(|v| v.split(';').next().unwrap().to_owned())
        })
        .unwrap();
    let key: serde_json::Value = client
        .post(format!("{origin}/api/api_keys/create"))
        .header("origin", &origin)
        .header("cookie", format!("sb_session={cookie}"))
        .form(&[("name", "kill"), ("role", "administrator")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["key"].as_str().unwrap().to_owned();
    let connector: serde_json::Value = client
        .post(format!("{origin}/api/v2/connectors"))
        .header("x-api-key", &key)
        .json(&serde_json::json!({"name": "Slow", "base_url": upstream.base_url(""), "auth": {"type": "none"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let step = |key: &str, path: &str| {
        serde_json::json!({"key": key, "name": key, "action": {"type": "external_app_connector",
            "connector_id": connector["id"], "method": "POST", "path": path,
            "body": "{\"n\": \"${input.n}\"}", "headers": []}})
    };
    let workflow: serde_json::Value = client
        .post(format!("{origin}/api/v2/workflows"))
        .header("x-api-key", &key)
        .json(
            &serde_json::json!({"name": "Slow pair", "trigger": {"type": "manual"},
            "steps": [step("first", "/slow/300"), step("second", "/done")]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let workflow = workflow["id"].as_str().unwrap().to_owned();
    let mut accepted = Vec::new();
    for n in 0..RUNS {
        let started = client
            .post(format!("{origin}/api/v2/workflows/{workflow}/runs"))
            .header("x-api-key", &key)
            .json(&serde_json::json!({"input": {"n": n}}))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 202);
        accepted.push(
            started.json::<serde_json::Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Let some runs start, then kill the server without warning.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let kill = std::process::Command::new("kill")
        .args(["-KILL", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let _ = child.wait().await;
    let before_restart = upstream.take();

    let (mut child, addr, _logs) = serve_with(dir.path(), &env).await;
    let origin = format!("http://{addr}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let runs = loop {
        let runs: Vec<serde_json::Value> = client
            .get(format!("{origin}/api/v2/workflows/runs?limit=500"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if runs
            .iter()
            .all(|r| r["status"] == "succeeded" || r["status"] == "failed")
        {
            break runs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "runs did not finish after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(runs.len(), RUNS, "every accepted run is there");
    for id in &accepted {
        let run = runs
            .iter()
            .find(|r| r["id"] == id.as_str())
            .expect("accepted run is listed");
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let mut seen = before_restart;
    seen.extend(upstream.take());
    let count = |path: &str| seen.iter().filter(|s| s.path == path).count();
    let (first, second) = (count("/slow/300"), count("/done"));
    assert!(
        first >= RUNS && second >= RUNS,
        "every step reached the upstream"
    );
    let mut per_run = std::collections::HashMap::new();
    for s in seen.iter().filter(|s| s.path == "/done") {
        *per_run.entry(s.body.clone()).or_insert(0) += 1;
    }
    assert_eq!(per_run.len(), RUNS, "each run's last step arrived");
    println!(
        "kill -9 with runs in flight: {RUNS} runs accepted, {RUNS} finished; upstream received \
         {first} first steps and {second} second steps: {} duplicate(s) from steps in flight at the kill",
        first + second - 2 * RUNS
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

/// `switchboard events send` posts an event file to a running server and prints the runs it
/// started; without an Administrator's key it fails with a message that says what to do.
#[tokio::test]
async fn events_send_posts_an_event_and_prints_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _logs) = serve_in(dir.path()).await;
    let origin = format!("http://{addr}");
    let client = reqwest::Client::new();
    let (_, key) = binary::admin_and_key(&client, &origin).await;
    let upstream = upstream::Upstream::start().await;
    let connector =
        binary::plain_connector(&client, &origin, &key, "HR", &upstream.base_url("")).await;
    let workflow = binary::post_json(
        &client,
        &format!("{origin}/api/v2/workflows"),
        &key,
        &serde_json::json!({ "name": "New hire", "trigger": { "type": "event", "event_type": "user.activated" },
            "steps": [{ "key": "hr", "name": "HR", "action": { "type": "external_app_connector",
                "connector_id": connector["id"], "method": "POST", "path": "/people",
                "body": "{\"who\": \"${input.resource.username}\"}", "headers": [] } }] }),
        201,
    )
    .await;
    let file = dir.path().join("event.json");
    std::fs::write(
        &file,
        r#"{ "id": "evt-cli-1", "resource": { "username": "grace" } }"#,
    )
    .unwrap();
    let send = |api_key: Option<&str>| {
        let mut cmd = switchboard();
        cmd.args(["events", "send", "--type", "user.activated", "--file"])
            .arg(&file)
            .args(["--url", &origin]);
        if let Some(api_key) = api_key {
            cmd.env("SWITCHBOARD_API_KEY", api_key);
        }
        cmd.output()
    };
    let out = send(Some(&key)).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["events"][0]["id"], "evt-cli-1");
    assert_eq!(printed["events"][0]["type"], "user.activated");
    assert_eq!(
        printed["events"][0]["runs"][0]["workflow_id"],
        workflow["id"]
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while upstream.take().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the event's run never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Sent again: a duplicate, nothing new.
    let again = send(Some(&key)).await.unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(printed["events"][0]["duplicate"], true);

    let no_key = send(None).await.unwrap();
    assert!(!no_key.status.success());
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("SWITCHBOARD_API_KEY"));
    let wrong = send(Some("sb_0000000000_0000")).await.unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("refused"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    child.kill().await.unwrap();
}

/// Three servers on one PostgreSQL database, each polling its scheduler every second: a
/// schedule that fires every minute gets exactly one run per tick, and a session made on one
/// server works on the others.
#[tokio::test]
async fn three_servers_on_postgres_fire_each_tick_once() {
    let Some(database) = binary::TestDatabase::create().await else {
        return;
    };
    let url = database.url.clone();
    let master_key = "dGhyZWUtcmVwbGljYXMtb25lLW1hc3Rlci1rZXktMzI="; // 32 bytes, base64
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SWITCHBOARD_MASTER_KEY", master_key),
        ("SWITCHBOARD_SCHEDULE_POLL_SECONDS", "1"),
        ("RUST_LOG", "info,sqlx=warn"),
    ];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let servers = binary::serve_each(&dirs, &env).await;
    let origins: Vec<String> = servers
        .iter()
        .map(|(_, a, _)| format!("http://{a}"))
        .collect();
    let client = reqwest::Client::new();
    let (cookie, key) = binary::admin_and_key(&client, &origins[0]).await;
    for origin in &origins[1..] {
        let me = client
            .get(format!("{origin}/api/v1/me"))
            .header("cookie", format!("sb_session={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            me.status(),
            200,
            "a session made on one server works on {origin}"
        );
    }
    let upstream = upstream::Upstream::start().await;
    let connector =
        binary::plain_connector(&client, &origins[1], &key, "Ticks", &upstream.base_url("")).await;
    binary::post_json(
        &client,
        &format!("{}/api/v2/workflows", origins[2]),
        &key,
        &serde_json::json!({ "name": "Every minute", "trigger": { "type": "schedule", "cron": "* * * * *", "timezone": "UTC" },
            "steps": [{ "key": "tick", "name": "Tick", "action": { "type": "external_app_connector",
                "connector_id": connector["id"], "method": "POST", "path": "/tick",
                "body": "{\"at\": \"${input.scheduled_at}\"}", "headers": [] } }] }),
        201,
    )
    .await;
    // The next minute boundary, then a few seconds for every scheduler to have looked twice.
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(75);
    while seen.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no tick fired within 75 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        seen.extend(upstream.take());
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    seen.extend(upstream.take());
    let mut ticks = std::collections::HashMap::new();
    for s in &seen {
        let body: serde_json::Value = serde_json::from_str(&s.body).unwrap();
        *ticks
            .entry(body["at"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert!(
        ticks.values().all(|&n| n == 1),
        "each tick fired once across three servers: {ticks:?}"
    );
    println!("three servers on PostgreSQL: ticks fired {ticks:?}");
    for (mut child, _, _) in servers {
        child.kill().await.unwrap();
    }
    database.drop_now().await;
}

/// `/metrics` counts runs, steps, retries, webhook refusals and requests (by route template,
/// never a token) and asks for its bearer token when one is set; with `--log-format json` every
/// line of a request carries its request id and every line of a run carries the run's id.
#[tokio::test]
async fn metrics_count_the_work_and_json_logs_carry_request_and_run_ids() {
    const TOKEN: &str = "metrics-token-0123456789abcdef";
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, logs) =
        serve_with(dir.path(), &[("SWITCHBOARD_METRICS_TOKEN", TOKEN)]).await;
    let origin = format!("http://{addr}");
    let client = reqwest::Client::new();
    let (cookie, key) = binary::admin_and_key(&client, &origin).await;
    let upstream = upstream::Upstream::start().await;
    let connector =
        binary::plain_connector(&client, &origin, &key, "Flaky API", &upstream.base_url("")).await;
    let workflow = binary::post_json(
        &client,
        &format!("{origin}/api/v2/workflows"),
        &key,
        &serde_json::json!({ "name": "Metered", "trigger": { "type": "webhook" },
            "steps": [{ "key": "post", "name": "Post", "action": {
                "type": "external_app_connector", "connector_id": connector["id"],
                "method": "POST", "path": "/flaky/1", "body": "{}", "headers": [] } }] }),
        201,
    )
    .await;
    let path =
        &binary::webhook_path(&client, &origin, &cookie, workflow["id"].as_str().unwrap()).await;
    let token = path.trim_start_matches("/hooks/");
    let unknown = client
        .post(format!("{origin}/hooks/{}", "0".repeat(64)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let call = client
        .post(format!("{origin}{path}"))
        .body(r#"{"hello": "metrics"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 202);
    let request_id = call.headers()["x-request-id"].to_str().unwrap().to_owned();
    let run_id = call.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The step's first attempt gets a 503, the retry a 200.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let run: serde_json::Value = client
            .get(format!("{origin}/api/v2/workflows/runs/{run_id}"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if run["status"] == "succeeded" {
            break;
        }
        assert_ne!(run["status"], "failed", "{run}");
        assert!(std::time::Instant::now() < deadline, "the run did not end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let anonymous = client
        .get(format!("{origin}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = client
        .get(format!("{origin}/metrics"))
        .bearer_auth("metrics-token-wrong-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // The worker counts a run as finished just after writing its end, which the API may show
    // first: scrape until the count is there (10 s at most).
    let scrape_until = std::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let scraped = client
            .get(format!("{origin}/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(scraped.status(), 200);
        assert!(
            scraped.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = scraped.text().await.unwrap();
        if text.contains("switchboard_runs_finished_total{")
            || std::time::Instant::now() > scrape_until
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert_eq!(
        value(r#"switchboard_runs_started_total{trigger="webhook"}"#),
        1.0
    );
    assert_eq!(
        value(r#"switchboard_runs_finished_total{status="succeeded"}"#),
        1.0
    );
    assert_eq!(
        value(
            r#"switchboard_step_duration_seconds_count{connector="Flaky API",outcome="succeeded"}"#
        ),
        1.0
    );
    assert_eq!(
        value(r#"switchboard_step_retries_total{connector="Flaky API"}"#),
        1.0
    );
    assert_eq!(
        value(r#"switchboard_webhook_rejections_total{reason="not_found"}"#),
        1.0
    );
    assert_eq!(value("switchboard_run_queue_depth"), 0.0);
    assert_eq!(
        value(
            r#"switchboard_http_request_duration_seconds_count{method="POST",route="/hooks/{token}",status="202"}"#
        ),
        1.0
    );
    assert!(text.contains("# TYPE switchboard_step_duration_seconds histogram"));
    assert!(!text.contains(token), "a webhook token reached /metrics");
    assert!(!text.contains(&key), "an API key reached /metrics");

    // JSON logs: the request's lines carry its id; the run's lines carry the run id; no line
    // carries the webhook token, the API key or the metrics token.
    // (Logged after the count above, and the request's last line after its answer: wait for both.)
    let logged_until = std::time::Instant::now() + Duration::from_secs(10);
    let logged = || {
        let all = logs.all();
        all.contains("run finished")
            && all.lines().any(|line| {
                line.contains(request_id.as_str()) && line.contains("finished processing request")
            })
    };
    while !logged() && std::time::Instant::now() < logged_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = logs.all();
    for secret in [token, key.as_str(), TOKEN] {
        assert!(!all.contains(secret), "a credential reached the log");
    }
    let lines: Vec<serde_json::Value> = logs
        .all()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let of_request: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["span"]["request_id"] == request_id.as_str())
        .collect();
    assert!(
        of_request
            .iter()
            .any(|l| l["message"] == "finished processing request"),
        "the webhook call's lines carry its request id"
    );
    let of_run: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| {
            l["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["run_id"] == run_id.as_str()))
        })
        .collect();
    for message in ["retrying a step", "step finished", "run finished"] {
        assert!(
            of_run.iter().any(|l| l["message"] == message),
            "“{message}” is logged with the run id"
        );
    }
    for line in lines.iter().filter(|l| {
        ["retrying a step", "step finished", "run finished"]
            .contains(&l["message"].as_str().unwrap_or(""))
    }) {
        assert_eq!(line["span"]["run_id"], run_id.as_str(), "{line}");
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}
