//! Triggers that start runs by themselves, on both backends: signed webhooks (signatures,
//! idempotency keys, size limit, disabled workflows, regenerated URLs), directory events (types,
//! filters, deduplication, batches) and schedules (one run per tick however many schedulers ask,
//! missed ticks skipped unless *catch up*). The two seed scenarios run end to end against a
//! local upstream, which must receive exactly the expected JSON.

#[macro_use]
mod common;
mod upstream;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use common::{Answer, TestApp};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use upstream::Upstream;

const PASSWORD: &str = "correct horse battery";

on_both_backends!(
    webhook_seed_scenario_posts_the_alert,
    webhook_signatures_are_required_once_a_secret_is_set,
    webhook_idempotency_size_and_disabled_workflows,
    events_start_matching_workflows_once,
    schedules_fire_once_per_tick_and_catch_up_only_when_asked,
);

struct Ctx {
    session: String,
    key: String,
    upstream: Upstream,
    connector: String,
}

async fn ctx(app: &TestApp) -> Ctx {
    let session = app.set_up("admin@example.com", PASSWORD).await;
    let made = app
        .call(
            "/api/api_keys/create",
            &[("name", "triggers"), ("role", "administrator")],
            Some(&session),
        )
        .await;
    let key = made.body["key"].as_str().unwrap().to_owned();
    let upstream = Upstream::start().await;
    let made = app
        .rest(
            &key,
            "POST",
            "/api/v2/connectors",
            Some(&json!({
                "name": "Upstream",
                "base_url": upstream.base_url(""),
                "auth": { "type": "bearer", "token": "tok-3d9f1a" },
            })),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    Ctx {
        session,
        key,
        upstream,
        connector: made.body["id"].as_str().unwrap().to_owned(),
    }
}

async fn workflow(
    app: &TestApp,
    cx: &Ctx,
    name: &str,
    trigger: Value,
    path: &str,
    body: &str,
) -> String {
    let made = app
        .rest(
            &cx.key,
            "POST",
            "/api/v2/workflows",
            Some(&json!({
                "name": name,
                "trigger": trigger,
                "steps": [{
                    "key": "send", "name": "Send",
                    "action": { "type": "external_app_connector", "connector_id": cx.connector,
                                "method": "POST", "path": path, "body": body, "headers": [] }
                }],
            })),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    made.body["id"].as_str().unwrap().to_owned()
}

/// The webhook's path (`/hooks/<token>`) as the trigger pane gets it.
async fn hook_path(app: &TestApp, cx: &Ctx, workflow: &str) -> String {
    let got = app
        .call(
            "/api/webhooks/get",
            &[("workflow_id", workflow)],
            Some(&cx.session),
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.body["path"].as_str().unwrap().to_owned()
}

async fn post_hook(app: &TestApp, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        // As bytes: a value may be UTF-8, as some senders' are.
        let value = reqwest::header::HeaderValue::from_bytes(v.as_bytes()).unwrap();
        request = request.header(*k, value);
    }
    Answer::read(request.send().await.unwrap()).await
}

fn sign(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

async fn runs_of(app: &TestApp, cx: &Ctx, workflow: &str) -> Vec<Value> {
    let got = app
        .rest(
            &cx.key,
            "GET",
            &format!("/api/v2/workflows/runs?workflow_id={workflow}&limit=500"),
            None,
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.body.as_array().cloned().unwrap_or_default()
}

async fn audit_actions(app: &TestApp, cx: &Ctx) -> Vec<(String, String)> {
    let got = app.call("/api/audit/list", &[], Some(&cx.session)).await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn webhook_seed_scenario_posts_the_alert(app: &TestApp) {
    let cx = ctx(app).await;
    let id = workflow(
        app,
        &cx,
        "Alert SIEM",
        json!({ "type": "webhook" }),
        "/api/v2/alerts",
        r#"{ "actor": "{{ .input.body.actor.email }}", "target": "{{ .input.body.target.email }}", "source": "switchboard" }"#,
    )
    .await;
    let path = hook_path(app, &cx, &id).await;
    assert!(
        path.starts_with("/hooks/") && path.len() == "/hooks/".len() + 64,
        "{path}"
    );
    let sent = post_hook(
        app,
        &format!("{path}?tenant=eu&tag=a&tag=b&access_token=caller-query-secret"),
        r#"{ "actor": {"email": "root@example.com"}, "target": {"email": "ada@example.com"} }"#,
        &[
            ("authorization", "Bearer caller-secret"),
            ("x-gitlab-token", "caller-header-secret"),
            // As a reverse proxy passes the original path on.
            ("x-original-uri", path.as_str()),
            ("x-delivery", "d-1"),
            ("x-user", "José Müller"),
        ],
    )
    .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    assert_eq!(sent.body["status"], "queued");
    let run = app
        .finished_run(&cx.key, sent.body["id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["input"]["query"],
        json!({ "tenant": "eu", "tag": ["a", "b"] })
    );
    assert_eq!(run["input"]["headers"]["x-delivery"], "d-1");
    assert_eq!(
        run["input"]["headers"]["x-user"], "José Müller",
        "UTF-8 kept"
    );
    assert_eq!(
        run["input"]["headers"]["x-original-uri"],
        "/hooks/[REDACTED]"
    );
    let input = run["input"].to_string();
    for secret in [
        "caller-secret",
        "caller-header-secret",
        "caller-query-secret",
        &path["/hooks/".len()..],
    ] {
        assert!(!input.contains(secret), "{secret} in {input}");
    }
    let seen = cx.upstream.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/api/v2/alerts");
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].body).unwrap(),
        json!({ "actor": "root@example.com", "target": "ada@example.com", "source": "switchboard" })
    );
    assert_eq!(seen[0].header("authorization"), Some("Bearer tok-3d9f1a"));

    // Regenerating: the old URL stops working at once.
    let again = app
        .call(
            "/api/webhooks/regenerate",
            &[("workflow_id", &id)],
            Some(&cx.session),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    let new_path = again.body["path"].as_str().unwrap().to_owned();
    assert_ne!(new_path, path);
    assert_eq!(post_hook(app, &path, "{}", &[]).await.status, 404);
    assert_eq!(post_hook(app, &new_path, "{}", &[]).await.status, 202);
    assert_eq!(hook_path(app, &cx, &id).await, new_path);
    let actions = audit_actions(app, &cx).await;
    assert!(
        actions
            .iter()
            .any(|(a, _)| a == "webhook.token_regenerated"),
        "{actions:?}"
    );
    // A wrong or malformed token is a plain 404.
    assert_eq!(post_hook(app, "/hooks/abc", "{}", &[]).await.status, 404);
    assert_eq!(
        post_hook(app, &format!("/hooks/{}", "0".repeat(64)), "{}", &[])
            .await
            .status,
        404
    );
    // Read Only callers do not get the URL.
    let read_only = app
        .call(
            "/api/accounts/create",
            &[
                ("email", "viewer@example.com"),
                ("name", "Viewer"),
                ("role", "read_only"),
                ("password", PASSWORD),
            ],
            Some(&cx.session),
        )
        .await;
    assert_eq!(read_only.status, 200, "{}", read_only.text);
    let viewer = app.sign_in("viewer@example.com", PASSWORD).await;
    let refused = app
        .call("/api/webhooks/get", &[("workflow_id", &id)], Some(&viewer))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
}

async fn webhook_signatures_are_required_once_a_secret_is_set(app: &TestApp) {
    let cx = ctx(app).await;
    let id = workflow(
        app,
        &cx,
        "Signed",
        json!({ "type": "webhook" }),
        "/in",
        "{}",
    )
    .await;
    let path = hook_path(app, &cx, &id).await;
    let secret = "s3cret-signing-key-8c2e";
    let short = app
        .call(
            "/api/webhooks/set_secret",
            &[("workflow_id", &id), ("secret", "short")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(short.status, 400, "{}", short.text);
    let set = app
        .call(
            "/api/webhooks/set_secret",
            &[("workflow_id", &id), ("secret", secret)],
            Some(&cx.session),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["has_secret"], true);
    assert!(!set.text.contains(secret), "the secret came back");
    assert!(!hook_path(app, &cx, &id).await.is_empty());

    let body = r#"{"event":"x"}"#;
    let now = Utc::now().timestamp().to_string();
    let old = (Utc::now().timestamp() - 301).to_string();
    let refused: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no signature", vec![]),
        (
            "wrong secret",
            vec![(
                "x-switchboard-signature",
                sign("another-secret-123456", body),
            )],
        ),
        (
            "malformed",
            vec![("x-switchboard-signature", "sha1=abc".to_owned())],
        ),
        (
            "signed without the timestamp it carries",
            vec![
                ("x-switchboard-signature", sign(secret, body)),
                ("x-switchboard-timestamp", now.clone()),
            ],
        ),
        (
            "timestamp too old",
            vec![
                (
                    "x-switchboard-signature",
                    sign(secret, &format!("v1:{old}:{body}")),
                ),
                ("x-switchboard-timestamp", old.clone()),
            ],
        ),
        (
            "body changed after signing",
            vec![("x-switchboard-signature", sign(secret, r#"{"event":"y"}"#))],
        ),
    ];
    for (why, headers) in &refused {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = post_hook(app, &path, body, &headers).await;
        assert_eq!(answer.status, 401, "{why}: {}", answer.text);
        assert!(answer.body["error"].is_string(), "{why}: {}", answer.text);
    }
    assert!(
        runs_of(app, &cx, &id).await.is_empty(),
        "a refused call started a run"
    );

    let plain = post_hook(
        app,
        &path,
        body,
        &[("x-switchboard-signature", &sign(secret, body))],
    )
    .await;
    assert_eq!(plain.status, 202, "{}", plain.text);
    let stamped = post_hook(
        app,
        &path,
        body,
        &[
            (
                "x-switchboard-signature",
                &sign(secret, &format!("v1:{now}:{body}")),
            ),
            ("x-switchboard-timestamp", &now),
        ],
    )
    .await;
    assert_eq!(stamped.status, 202, "{}", stamped.text);
    let run = app
        .finished_run(&cx.key, stamped.body["id"].as_str().unwrap())
        .await;
    assert!(
        run["input"]["headers"]
            .get("x-switchboard-signature")
            .is_none(),
        "{}",
        run["input"]
    );
    assert_eq!(runs_of(app, &cx, &id).await.len(), 2);

    // Removing the secret: unsigned calls pass again.
    let removed = app
        .call(
            "/api/webhooks/set_secret",
            &[("workflow_id", &id), ("secret", "")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(removed.body["has_secret"], false, "{}", removed.text);
    assert_eq!(post_hook(app, &path, body, &[]).await.status, 202);
    let actions = audit_actions(app, &cx).await;
    assert!(
        actions.iter().any(|(a, _)| a == "webhook.secret_set"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|(a, _)| a == "webhook.secret_removed"),
        "{actions:?}"
    );
    let log = actions.iter().map(|(_, d)| d.as_str()).collect::<String>();
    assert!(!log.contains(secret), "the secret reached the audit log");
    // The database keeps it sealed.
    let stored = app.store.webhook(&id).await.unwrap().unwrap();
    assert!(
        !stored
            .token_ciphertext
            .contains(path.trim_start_matches("/hooks/"))
    );
}

async fn webhook_idempotency_size_and_disabled_workflows(app: &TestApp) {
    let cx = ctx(app).await;
    let id = workflow(
        app,
        &cx,
        "Idempotent",
        json!({ "type": "webhook" }),
        "/in",
        "{}",
    )
    .await;
    let path = hook_path(app, &cx, &id).await;

    let first = post_hook(app, &path, r#"{"n":1}"#, &[("idempotency-key", "order-1")]).await;
    assert_eq!(first.status, 202, "{}", first.text);
    let replay = post_hook(app, &path, r#"{"n":1}"#, &[("idempotency-key", "order-1")]).await;
    assert_eq!(replay.status, 202, "{}", replay.text);
    assert_eq!(replay.body["id"], first.body["id"]);
    assert_eq!(replay.body["replayed"], true);
    let other = post_hook(app, &path, r#"{"n":2}"#, &[("idempotency-key", "order-1")]).await;
    assert_eq!(other.status, 422, "{}", other.text);
    let second = post_hook(app, &path, r#"{"n":2}"#, &[("idempotency-key", "order-2")]).await;
    assert_eq!(second.status, 202);
    assert_ne!(second.body["id"], first.body["id"]);
    // Concurrent calls with one key start one run.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = app
            .client
            .post(app.url(&path))
            .header("idempotency-key", "order-3")
            .body(r#"{"n":3}"#);
        calls.spawn(async move { Answer::read(request.send().await.unwrap()).await });
    }
    let mut ids = std::collections::BTreeSet::new();
    while let Some(answer) = calls.join_next().await {
        let answer = answer.unwrap();
        assert_eq!(answer.status, 202, "{}", answer.text);
        ids.insert(answer.body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(runs_of(app, &cx, &id).await.len(), 3);

    // Too large: 413, nothing started. Not JSON: 400.
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let too_large = post_hook(app, &path, &big, &[]).await;
    assert_eq!(too_large.status, 413, "{}", too_large.text);
    assert!(
        too_large.body["error"]
            .as_str()
            .unwrap()
            .contains("1024 KiB")
    );
    // The token is looked up before the body is read: to an address with no webhook the same
    // body is a 404, never read.
    let nowhere = format!("/hooks/{}", "0".repeat(64));
    let unknown = post_hook(app, &nowhere, &big, &[]).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let not_json = post_hook(app, &path, "<xml/>", &[]).await;
    assert_eq!(not_json.status, 400, "{}", not_json.text);
    // 127 levels: JSON serde_json reads, but deeper than a run's input may nest.
    let deep = format!("{}1{}", "[".repeat(127), "]".repeat(127));
    let too_deep = post_hook(app, &path, &deep, &[]).await;
    assert_eq!(too_deep.status, 400, "{}", too_deep.text);
    // An integer no 64-bit number holds would reach the workflow changed: refused, named.
    let huge = post_hook(app, &path, r#"{"id": 123456789012345678901234}"#, &[]).await;
    assert_eq!(huge.status, 400, "{}", huge.text);
    assert!(
        huge.body["error"]
            .as_str()
            .unwrap()
            .contains("the number 123456789012345678901234, too large to keep exactly"),
        "{}",
        huge.text
    );
    assert!(
        too_deep.body["error"]
            .as_str()
            .unwrap()
            .starts_with("The body nests objects and arrays 127 levels deep"),
        "{}",
        too_deep.text
    );
    assert_eq!(runs_of(app, &cx, &id).await.len(), 3);

    // Disabled: 404, as if there were no such webhook.
    let disabled = app
        .call(
            "/api/workflows/set_enabled",
            &[("id", &id), ("enabled", "false")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let answer = post_hook(app, &path, "{}", &[]).await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert_eq!(answer.body["error"], "There is no webhook at this address.");
    assert_eq!(runs_of(app, &cx, &id).await.len(), 3);
}

const JIRA_BODY: &str = r#"{
  "fields": {
    "project": { "key": "IT" },
    "issuetype": { "name": "Task" },
    "summary": "Onboard ${input.resource.username}",
    "description": {
      "type": "doc",
      "version": 1,
      "content": [
        { "type": "paragraph", "content": [
          { "type": "text", "text": "User ${input.resource.username} (${input.resource.id}) was activated." }
        ] }
      ]
    },
    "labels": ["switchboard", "${input.resource.id}"]
  }
}"#;

async fn events_start_matching_workflows_once(app: &TestApp) {
    let cx = ctx(app).await;
    let engineering = workflow(
        app,
        &cx,
        "Onboarding ticket",
        json!({ "type": "event", "event_type": "user.activated",
                "filter": "resource.department == \"Engineering\"" }),
        "/rest/api/3/issue",
        JIRA_BODY,
    )
    .await;
    let sales = workflow(
        app,
        &cx,
        "Sales welcome",
        json!({ "type": "event", "event_type": "user.activated",
                "filter": "resource.department == \"Sales\"" }),
        "/sales",
        "{}",
    )
    .await;
    let custom = workflow(
        app,
        &cx,
        "Device enrolled",
        json!({ "type": "event", "event_type": "device.enrolled" }),
        "/devices",
        r#"{"serial": "${input.resource.serial}"}"#,
    )
    .await;

    let batch = json!([
        { "type": "user.activated", "id": "evt-1", "time": "2026-11-23T09:00:00Z",
          "resource": { "id": "u-42", "username": "ada", "department": "Engineering" },
          "actor": { "email": "admin@example.com" }, "target": {} },
        { "type": "user.activated", "id": "evt-2",
          "resource": { "id": "u-43", "username": "bob", "department": "Finance" } },
        { "type": "device.enrolled", "id": "evt-3", "resource": { "serial": "SN-1" } }
    ]);
    let answer = app
        .rest(&cx.key, "POST", "/api/v2/events", Some(&batch))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let events = answer.body["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["id"], "evt-1");
    assert_eq!(events[0]["duplicate"], false);
    assert_eq!(events[0]["runs"].as_array().unwrap().len(), 1);
    assert_eq!(events[0]["runs"][0]["workflow_id"], engineering.as_str());
    assert_eq!(
        events[1]["runs"],
        json!([]),
        "the filter should miss Finance"
    );
    assert_eq!(events[2]["runs"][0]["workflow_id"], custom.as_str());
    for event in [&events[0], &events[2]] {
        let run = app
            .finished_run(&cx.key, event["runs"][0]["run_id"].as_str().unwrap())
            .await;
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let run = app
        .finished_run(&cx.key, events[0]["runs"][0]["run_id"].as_str().unwrap())
        .await;
    assert_eq!(run["input"]["id"], "evt-1");
    let seen = cx.upstream.take();
    let ticket = seen
        .iter()
        .find(|s| s.path == "/rest/api/3/issue")
        .expect("ticket");
    assert_eq!(
        serde_json::from_str::<Value>(&ticket.body).unwrap(),
        json!({
          "fields": {
            "project": { "key": "IT" },
            "issuetype": { "name": "Task" },
            "summary": "Onboard ada",
            "description": {
              "type": "doc",
              "version": 1,
              "content": [
                { "type": "paragraph", "content": [
                  { "type": "text", "text": "User ada (u-42) was activated." }
                ] }
              ]
            },
            "labels": ["switchboard", "u-42"]
          }
        })
    );
    let device = seen.iter().find(|s| s.path == "/devices").expect("device");
    assert_eq!(
        serde_json::from_str::<Value>(&device.body).unwrap(),
        json!({"serial": "SN-1"})
    );
    assert!(seen.iter().all(|s| s.path != "/sales"));

    // The same ids again: nothing new starts, and the answer names the earlier runs.
    let again = app
        .rest(&cx.key, "POST", "/api/v2/events", Some(&batch))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["events"][0]["duplicate"], true);
    assert_eq!(again.body["events"][0]["runs"], events[0]["runs"]);
    assert_eq!(runs_of(app, &cx, &engineering).await.len(), 1);
    assert_eq!(runs_of(app, &cx, &sales).await.len(), 0);

    // One event without an id: one object, not an array; an id is assigned.
    let single = app
        .rest(
            &cx.key,
            "POST",
            "/api/v2/events",
            Some(&json!({ "type": "user.activated", "resource": { "department": "Sales", "id": "u-9" } })),
        )
        .await;
    assert_eq!(single.status, 200, "{}", single.text);
    assert_eq!(
        single.body["events"][0]["runs"][0]["workflow_id"],
        sales.as_str()
    );
    assert!(single.body["events"][0]["id"].as_str().unwrap().len() > 10);

    // Bad events: nothing of the batch is queued, and the answer says which.
    let bad = app
        .rest(
            &cx.key,
            "POST",
            "/api/v2/events",
            Some(&json!([{ "type": "user.activated", "id": "evt-9" }, { "id": "evt-10" }])),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(
        bad.body["error"].as_str().unwrap().contains("Event 2"),
        "{}",
        bad.text
    );
    // Nested deeper than 64 levels: refused, naming the event.
    let mut deep = json!("x");
    for _ in 0..64 {
        deep = json!([deep]);
    }
    let nested = app
        .rest(
            &cx.key,
            "POST",
            "/api/v2/events",
            Some(&json!([{ "type": "user.activated", "id": "evt-9" },
                { "type": "user.activated", "resource": deep }])),
        )
        .await;
    assert_eq!(nested.status, 400, "{}", nested.text);
    let huge = app
        .client
        .post(app.url("/api/v2/events"))
        .header("x-api-key", &cx.key)
        .body(r#"{"type": "user.activated", "resource": {"id": 18446744073709551616}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 400);
    let huge = huge.text().await.unwrap();
    assert!(huge.contains("18446744073709551616"), "{huge}");
    assert_eq!(
        nested.body["error"],
        "Event 2 nests objects and arrays 65 levels deep; at most 64 are accepted. Send a flatter document."
    );
    let replay = app
        .rest(&cx.key, "POST", "/api/v2/events", Some(&json!({ "type": "user.activated", "id": "evt-9", "resource": { "department": "Engineering" } })))
        .await;
    assert_eq!(
        replay.body["events"][0]["duplicate"], false,
        "evt-9 was recorded by a refused batch"
    );
    let not_json = app
        .client
        .post(app.url("/api/v2/events"))
        .header("x-api-key", &cx.key)
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);

    // Read Only keys cannot send events; anonymous callers neither.
    let ro = app
        .call(
            "/api/api_keys/create",
            &[("name", "viewer"), ("role", "read_only")],
            Some(&cx.session),
        )
        .await;
    let ro_key = ro.body["key"].as_str().unwrap();
    assert_eq!(
        app.rest(ro_key, "POST", "/api/v2/events", Some(&batch))
            .await
            .status,
        403
    );
    let anonymous = app
        .client
        .post(app.url("/api/v2/events"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let actions = audit_actions(app, &cx).await;
    let received: Vec<_> = actions
        .iter()
        .filter(|(a, _)| a == "events.received")
        .collect();
    assert!(received.len() >= 3, "{actions:?}");
    assert!(
        received.iter().any(|(_, d)| d.contains("\"count\":3")),
        "{received:?}"
    );
}

/// An events call's runs are committed before its audit entry is written. When that write fails,
/// the call still answers with the runs it started (a 500 would have a sender whose events carry
/// no ids start them all again), and the runs go on. SQLite only: the fault is a trigger.
#[tokio::test]
async fn events_keep_their_answer_when_the_audit_write_fails() {
    use sqlx::Connection as _;
    let app = TestApp::spawn().await;
    let cx = ctx(&app).await;
    let device = workflow(
        &app,
        &cx,
        "Device enrolled",
        json!({ "type": "event", "event_type": "device.enrolled" }),
        "/devices",
        "{}",
    )
    .await;
    let mut db = sqlx::SqliteConnection::connect(app.db_url()).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit down'); END",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let batch = json!([{ "type": "device.enrolled", "resource": { "serial": "SN-9" } }]);
    let answer = app
        .rest(&cx.key, "POST", "/api/v2/events", Some(&batch))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let started = &answer.body["events"][0]["runs"][0];
    assert_eq!(started["workflow_id"], device.as_str(), "{}", answer.text);
    let run = app
        .finished_run(&cx.key, started["run_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
}

/// The next whole `step` minutes after `t`.
fn next_boundary(t: DateTime<Utc>, step: u32) -> DateTime<Utc> {
    let floor = t.with_second(0).unwrap().with_nanosecond(0).unwrap();
    let past = floor.minute() % step;
    floor + TimeDelta::minutes(i64::from(step - past))
}

async fn schedules_fire_once_per_tick_and_catch_up_only_when_asked(app: &TestApp) {
    let cx = ctx(app).await;
    let schedule = |catch_up: bool| json!({ "type": "schedule", "cron": "*/10 * * * *", "timezone": "UTC", "catch_up": catch_up });
    let skip = workflow(
        app,
        &cx,
        "Every ten",
        schedule(false),
        "/tick",
        r#"{"at": "${input.scheduled_at}"}"#,
    )
    .await;
    let catch_up = workflow(
        app,
        &cx,
        "Every ten, catch up",
        schedule(true),
        "/tick",
        "{}",
    )
    .await;
    let t0 = next_boundary(Utc::now(), 10);

    // On time: three schedulers asking at once start one run per workflow.
    let at = t0 + TimeDelta::seconds(3);
    let (a, b, c) = tokio::join!(
        app.triggers.fire_due(at),
        app.triggers.fire_due(at),
        app.triggers.fire_due(at)
    );
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 2);
    assert_eq!(
        app.triggers
            .fire_due(at + TimeDelta::seconds(5))
            .await
            .unwrap(),
        0
    );
    for id in [&skip, &catch_up] {
        let runs = runs_of(app, &cx, id).await;
        assert_eq!(runs.len(), 1, "{runs:?}");
        let run = app
            .finished_run(&cx.key, runs[0]["id"].as_str().unwrap())
            .await;
        assert_eq!(run["input"]["scheduled_at"], t0.to_rfc3339());
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let seen = cx.upstream.take();
    assert!(
        seen.iter().any(|s| s.body.contains(&t0.to_rfc3339())),
        "{seen:?}"
    );

    // Every server was down for the next two ticks; one comes back five minutes after the
    // second: only the catch-up workflow runs, and only once (for the last missed tick).
    let missed = t0 + TimeDelta::minutes(20);
    let back = missed + TimeDelta::minutes(5);
    assert_eq!(app.triggers.fire_due(back).await.unwrap(), 1);
    assert_eq!(
        app.triggers
            .fire_due(back + TimeDelta::seconds(5))
            .await
            .unwrap(),
        0
    );
    assert_eq!(runs_of(app, &cx, &skip).await.len(), 1);
    let caught = runs_of(app, &cx, &catch_up).await;
    assert_eq!(caught.len(), 2);
    let run = app
        .finished_run(&cx.key, caught[0]["id"].as_str().unwrap())
        .await;
    assert_eq!(run["input"]["scheduled_at"], missed.to_rfc3339());
    assert_eq!(
        app.store.schedule_ticks(&skip).await.unwrap(),
        vec![
            (
                t0.timestamp_millis(),
                Some(
                    runs_of(app, &cx, &skip).await[0]["id"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                )
            ),
            (missed.timestamp_millis(), None)
        ]
    );

    // The next tick is on time again for both.
    assert_eq!(
        app.triggers
            .fire_due(missed + TimeDelta::minutes(10) + TimeDelta::seconds(1))
            .await
            .unwrap(),
        2
    );
    // The database was away from just after that poll until two minutes after the next tick,
    // while this server ran: the tick is late, not missed by every server, so both fire.
    let polled = missed + TimeDelta::minutes(10) + TimeDelta::seconds(1);
    let next = missed + TimeDelta::minutes(20);
    assert_eq!(
        app.triggers
            .fire_due_polled(next + TimeDelta::minutes(2), Some(polled))
            .await
            .unwrap(),
        2
    );
    // A disabled workflow does not fire.
    let off = app
        .call(
            "/api/workflows/set_enabled",
            &[("id", &skip), ("enabled", "false")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(off.status, 200);
    assert_eq!(
        app.triggers
            .fire_due(missed + TimeDelta::minutes(30) + TimeDelta::seconds(1))
            .await
            .unwrap(),
        1
    );
}
