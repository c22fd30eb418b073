//! The `switchboard` binary as an admin runs it.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn switchboard() -> Command {
    let mut cmd = Command::new(BIN);
    // Start from a clean slate: no settings leak in from the developer's shell.
    for var in [
        "DATABASE_URL",
        "SWITCHBOARD_ADDR",
        "SWITCHBOARD_DATA_DIR",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.kill_on_drop(true);
    cmd
}

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
}

#[tokio::test]
async fn serve_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
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

    let pid = child.id().unwrap().to_string();
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
