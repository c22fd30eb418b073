//! The connectors REST API (`/api/v2/connectors`) on both backends: validation, secrets kept
//! write-only and encrypted, roles.

#[macro_use]
mod common;
mod upstream;

use common::{Answer, TestApp};
use serde_json::{Value, json};
use upstream::Upstream;

const PASSWORD: &str = "correct horse battery";

on_both_backends!(
    connectors_are_created_read_updated_and_deleted,
    secrets_are_write_only_and_encrypted_at_rest,
    bad_input_gives_field_errors,
    read_only_keys_read_but_cannot_change,
    test_connection_sends_each_credential_in_its_place,
    test_connection_explains_failures_in_plain_words,
    the_page_server_functions_save_toggle_and_delete,
    a_stored_secret_is_not_sent_to_another_host,
    secret_headers_are_write_only_kept_and_stay_on_their_origin,
    edits_keep_what_they_leave_out_and_never_undo_a_later_change,
);

/// An API key of `role`, made by the first administrator.
async fn key(app: &TestApp, role: &str) -> String {
    let admin = match app.store.count_accounts().await.unwrap() {
        0 => app.set_up("admin@example.com", PASSWORD).await,
        _ => app.sign_in("admin@example.com", PASSWORD).await,
    };
    let made = app
        .call(
            "/api/api_keys/create",
            &[("name", role), ("role", role)],
            Some(&admin),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.text);
    made.body["key"].as_str().unwrap().to_owned()
}

async fn send(app: &TestApp, key: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
    let mut request = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Answer::read(request.send().await.unwrap()).await
}

fn connector(name: &str, auth: Value) -> Value {
    json!({
        "name": name,
        "base_url": "https://api.example.com/v1/",
        "auth": auth,
        "headers": [ { "key": "X-Organization-ID", "value": "42" } ]
    })
}

async fn connectors_are_created_read_updated_and_deleted(app: &TestApp) {
    let key = key(app, "administrator").await;
    let made = send(
        app,
        &key,
        "POST",
        "/api/v2/connectors",
        Some(connector(
            "Jira",
            json!({"type":"basic","username":"svc@example.com","password":"pw-1"}),
        )),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["enabled"], true, "enabled by default");
    assert_eq!(
        made.body["base_url"], "https://api.example.com/v1",
        "trailing slash normalised"
    );
    assert_eq!(
        made.body["auth"],
        json!({"type":"basic","username":"svc@example.com"})
    );
    assert_eq!(made.body["has_secret"], true);
    assert_eq!(made.body["used_by"], 0);
    assert!(made.body["created_at"].is_i64() && made.body["updated_at"].is_i64());

    let list = send(app, &key, "GET", "/api/v2/connectors?search=ji", None).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    let got = send(app, &key, "GET", &format!("/api/v2/connectors/{id}"), None).await;
    assert_eq!(got.body, made.body);

    // Rename and disable without sending the password: the secret stays.
    let mut edit = connector(
        "Jira Cloud",
        json!({"type":"basic","username":"svc@example.com"}),
    );
    edit["enabled"] = json!(false);
    let updated = send(
        app,
        &key,
        "PUT",
        &format!("/api/v2/connectors/{id}"),
        Some(edit),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["name"], "Jira Cloud");
    assert_eq!(updated.body["enabled"], false);
    assert_eq!(updated.body["has_secret"], true);

    // Switching to Bearer discards the password and needs a token.
    let switch = send(
        app,
        &key,
        "PUT",
        &format!("/api/v2/connectors/{id}"),
        Some(connector("Jira Cloud", json!({"type":"bearer"}))),
    )
    .await;
    assert_eq!(switch.status, 422);
    assert_eq!(switch.body["fields"]["auth.token"], "Enter the token.");
    // Leaving the type out does not read as None (which would drop the stored password), and a
    // misspelt field is not ignored.
    for (auth, status, says) in [
        (json!({}), 422, "is one of none, basic"),
        (json!({"Type": "basic"}), 400, "unknown field `Type`"),
    ] {
        let unsaid = send(
            app,
            &key,
            "PUT",
            &format!("/api/v2/connectors/{id}"),
            Some(connector("Jira Cloud", auth.clone())),
        )
        .await;
        assert_eq!(unsaid.status, status, "{auth}: {}", unsaid.text);
        assert!(unsaid.text.contains(says), "{auth}: {}", unsaid.text);
        let kept = send(app, &key, "GET", &format!("/api/v2/connectors/{id}"), None).await;
        assert_eq!(kept.body["has_secret"], true, "{auth}");
    }
    // Switching to None drops the secret.
    let none = send(
        app,
        &key,
        "PUT",
        &format!("/api/v2/connectors/{id}"),
        Some(connector("Jira Cloud", json!({"type":"none"}))),
    )
    .await;
    assert_eq!(none.body["has_secret"], false);

    let audit = app.store.list_audit(&Default::default()).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.starts_with(&["connector.update", "connector.update", "connector.create"]),
        "{actions:?}"
    );
    assert!(
        audit[1].detail.contains(r#""changed":["name","enabled"]"#),
        "{}",
        audit[1].detail
    );

    let gone = send(
        app,
        &key,
        "DELETE",
        &format!("/api/v2/connectors/{id}"),
        None,
    )
    .await;
    assert_eq!(gone.status, 204);
    let missing = send(app, &key, "GET", &format!("/api/v2/connectors/{id}"), None).await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body["error"]
            .as_str()
            .unwrap()
            .contains("no connector")
    );
}

async fn secrets_are_write_only_and_encrypted_at_rest(app: &TestApp) {
    let key = key(app, "administrator").await;
    let canaries = [
        (
            "Basic",
            json!({"type":"basic","username":"svc","password":"CANARY-basic-5c1e"}),
            "CANARY-basic-5c1e",
        ),
        (
            "Bearer",
            json!({"type":"bearer","token":"CANARY-bearer-77a0"}),
            "CANARY-bearer-77a0",
        ),
        (
            "Header",
            json!({"type":"header","header_name":"X-Api-Key","api_key":"CANARY-header-9d2b"}),
            "CANARY-header-9d2b",
        ),
        (
            "Query",
            json!({"type":"query","param_name":"apiKey","api_key":"CANARY-query-31f4"}),
            "CANARY-query-31f4",
        ),
    ];
    let mut seen = String::new();
    for (name, auth, _) in &canaries {
        let made = send(
            app,
            &key,
            "POST",
            "/api/v2/connectors",
            Some(connector(name, auth.clone())),
        )
        .await;
        assert_eq!(made.status, 201, "{}", made.text);
        seen.push_str(&made.text);
        let id = made.body["id"].as_str().unwrap();
        // Edit without the secret, then read it back.
        let mut edit = connector(name, auth.clone());
        for field in ["password", "token", "api_key"] {
            edit["auth"].as_object_mut().unwrap().remove(field);
        }
        let kept = send(
            app,
            &key,
            "PUT",
            &format!("/api/v2/connectors/{id}"),
            Some(edit),
        )
        .await;
        assert_eq!(kept.status, 200, "{}", kept.text);
        assert_eq!(kept.body["has_secret"], true);
        seen.push_str(&kept.text);
        seen.push_str(
            &send(app, &key, "GET", &format!("/api/v2/connectors/{id}"), None)
                .await
                .text,
        );
    }
    seen.push_str(
        &send(app, &key, "GET", "/api/v2/connectors", None)
            .await
            .text,
    );
    let audit = app.store.list_audit(&Default::default()).await.unwrap();
    seen.push_str(&format!("{audit:?}"));
    let rows = app.store.list_connectors(None).await.unwrap();
    let stored = format!("{rows:?}");
    for (_, _, canary) in &canaries {
        assert!(
            !seen.contains(canary),
            "{canary} reached a response or the audit log"
        );
        assert!(!stored.contains(canary), "{canary} stored in clear");
    }
    assert!(
        rows.iter()
            .all(|r| r.secret_ciphertext.is_some() && r.secret_key_version == Some(1))
    );
    // The SQLite files on disk hold only ciphertext.
    if let Some(path) = app.db_file() {
        for file in [path.clone(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                for (_, _, canary) in &canaries {
                    let found = bytes.windows(canary.len()).any(|w| w == canary.as_bytes());
                    assert!(!found, "{canary} is in {file}");
                }
            }
        }
    }
}

async fn bad_input_gives_field_errors(app: &TestApp) {
    let key = key(app, "administrator").await;
    let first = send(
        app,
        &key,
        "POST",
        "/api/v2/connectors",
        Some(connector("Jira", json!({"type":"none"}))),
    )
    .await;
    assert_eq!(first.status, 201);
    let cases = [
        (
            connector(" JIRA ", json!({"type":"none"})),
            "name",
            "A connector named JIRA already exists.",
        ),
        (
            connector(&"x".repeat(101), json!({"type":"none"})),
            "name",
            "at most 100",
        ),
        (
            json!({"name":"A","base_url":"ftp://x.example","auth":{"type":"none"}}),
            "base_url",
            "Only http",
        ),
        (
            json!({"name":"A","base_url":"https://x.example/?k=1","auth":{"type":"none"}}),
            "base_url",
            "query",
        ),
        (
            json!({"name":"A","base_url":"https://u:p@x.example","auth":{"type":"none"}}),
            "base_url",
            "credentials",
        ),
        (
            json!({"name":"A","base_url":"https://x.example","auth":{"type":"none"},
                "headers":[{"key":"Bad Name","value":"1"}]}),
            "headers[0].key",
            "not a valid header name",
        ),
        (
            json!({"name":"A","base_url":"https://x.example","auth":{"type":"none"},
                "headers":[{"key":"X-Ok","value":"a\r\nSet-Cookie: x=1"}]}),
            "headers[0].value",
            "line breaks",
        ),
        (
            json!({"name":"A","base_url":"https://x.example","auth":{"type":"bearer","token":"t"},
                "headers":[{"key":"authorization","value":"x"}]}),
            "headers[0].key",
            "set by the Bearer",
        ),
        (
            json!({"name":"A","base_url":"https://x.example","auth":{"type":"header","header_name":"X K","api_key":"k"}}),
            "auth.header_name",
            "not a valid header name",
        ),
        (
            json!({"name":"A","base_url":"https://x.example","auth":{"type":"query","api_key":"k"}}),
            "auth.param_name",
            "parameter name",
        ),
        (
            json!({"name":"A","base_url":"https://x.example","auth":{"type":"bearer","token":"x".repeat(5000)}}),
            "auth.token",
            "at most 4096",
        ),
    ];
    for (body, field, says) in cases {
        let answer = send(app, &key, "POST", "/api/v2/connectors", Some(body.clone())).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        let message = answer.body["fields"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} missing: {}", answer.text));
        assert!(message.contains(says), "{field}: {message}");
        assert!(answer.body["error"].is_string());
    }
    let not_json = app
        .client
        .post(app.url("/api/v2/connectors"))
        .header("x-api-key", &key)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    // A secret sent as a number: the 400 says what is wrong without repeating it.
    let refused_without_the_value = |answer: &Answer| {
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert!(
            answer
                .text
                .contains("invalid type: integer, expected a string"),
            "{}",
            answer.text
        );
        assert!(!answer.text.contains("987654321"), "{}", answer.text);
    };
    let mistyped = send(
        app,
        &key,
        "POST",
        "/api/v2/connectors",
        Some(connector(
            "Typed",
            json!({"type":"bearer","token": 987654321}),
        )),
    )
    .await;
    refused_without_the_value(&mistyped);
    // The same through the page's server function.
    let session = admin_session(app).await;
    let mistyped = app
        .call_json(
            "/api/connectors/save",
            &json!({"id": null, "input": connector("Typed", json!({"type":"bearer","token": 987654321}))}),
            &session,
        )
        .await;
    refused_without_the_value(&mistyped);
    assert_eq!(
        app.store.list_connectors(None).await.unwrap().len(),
        1,
        "nothing bad was stored"
    );
}

async fn read_only_keys_read_but_cannot_change(app: &TestApp) {
    let admin = key(app, "administrator").await;
    let made = send(
        app,
        &admin,
        "POST",
        "/api/v2/connectors",
        Some(connector("SIEM", json!({"type":"bearer","token":"t0k"}))),
    )
    .await;
    let id = made.body["id"].as_str().unwrap().to_owned();
    let reader = key(app, "read_only").await;
    assert_eq!(
        send(app, &reader, "GET", "/api/v2/connectors", None)
            .await
            .status,
        200
    );
    assert_eq!(
        send(
            app,
            &reader,
            "GET",
            &format!("/api/v2/connectors/{id}"),
            None
        )
        .await
        .status,
        200
    );
    for (method, path) in [
        ("POST", "/api/v2/connectors".to_owned()),
        ("PUT", format!("/api/v2/connectors/{id}")),
        ("DELETE", format!("/api/v2/connectors/{id}")),
    ] {
        let refused = send(
            app,
            &reader,
            method,
            &path,
            Some(connector("X", json!({"type":"none"}))),
        )
        .await;
        assert_eq!(refused.status, 403, "{method} {path}");
        assert_eq!(refused.body["kind"], "forbidden");
    }
    let anonymous = Answer::read(app.get("/api/v2/connectors").await).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert!(anonymous.body["error"].is_string(), "{}", anonymous.text);
    assert!(
        anonymous.body["error"]
            .as_str()
            .unwrap()
            .contains("Sign in")
    );
}

/// The first administrator's session.
/// `/settings/connectors` as the server renders it for `session`. The SQLite and PostgreSQL
/// copies of a test run at once: their renders take turns.
async fn connectors_page(app: &TestApp, session: &str) -> String {
    let turn = common::PAGE_RENDERS.lock().await;
    let page = app
        .client
        .get(app.url("/settings/connectors"))
        .header("cookie", format!("sb_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    drop(turn);
    html
}

async fn admin_session(app: &TestApp) -> String {
    match app.store.count_accounts().await.unwrap() {
        0 => app.set_up("admin@example.com", PASSWORD).await,
        _ => app.sign_in("admin@example.com", PASSWORD).await,
    }
}

async fn test_connection_sends_each_credential_in_its_place(app: &TestApp) {
    let upstream = Upstream::start().await;
    let session = admin_session(app).await;
    let cases = [
        (
            json!({"type":"none"}),
            None::<(&str, String)>,
            None::<String>,
        ),
        (
            json!({"type":"basic","username":"svc@example.com","password":"pa:ss wörd"}),
            Some((
                "authorization",
                "Basic c3ZjQGV4YW1wbGUuY29tOnBhOnNzIHfDtnJk".to_owned(),
            )),
            None,
        ),
        (
            json!({"type":"bearer","token":"tok-123"}),
            Some(("authorization", "Bearer tok-123".to_owned())),
            None,
        ),
        (
            json!({"type":"header","header_name":"X-Api-Key","api_key":"key-456"}),
            Some(("x-api-key", "key-456".to_owned())),
            None,
        ),
        (
            json!({"type":"query","param_name":"apiKey","api_key":"k&y=7 8"}),
            None,
            Some("apiKey=k%26y%3D7+8".to_owned()),
        ),
    ];
    for (i, (auth, header, query)) in cases.into_iter().enumerate() {
        let kind = auth["type"].as_str().unwrap().to_owned();
        let input = json!({
            "name": format!("Mock {kind}"),
            "base_url": upstream.base_url("/api/"),
            "auth": auth,
            "headers": [ { "key": "X-Organization-ID", "value": "42" } ],
        });
        // Unsaved: the form's own secret is used.
        let unsaved = app
            .call_json(
                "/api/connectors/test",
                &json!({ "id": null, "input": input, "test_path": "/myself" }),
                &session,
            )
            .await;
        assert_eq!(unsaved.status, 200, "{kind}: {}", unsaved.text);
        assert_eq!(unsaved.body["ok"], true, "{kind}: {}", unsaved.text);
        assert_eq!(unsaved.body["status"], 200);
        assert_eq!(
            unsaved.body["request"],
            format!("GET {}", upstream.base_url("/api/myself"))
        );
        // Saved, then tested without the secret: the stored (decrypted) one is used.
        let saved = app
            .call_json(
                "/api/connectors/save",
                &json!({ "id": null, "input": input }),
                &session,
            )
            .await;
        assert_eq!(saved.status, 200, "{kind}: {}", saved.text);
        let id = saved.body["id"].as_str().unwrap().to_owned();
        let mut without_secret = input.clone();
        for field in ["password", "token", "api_key"] {
            without_secret["auth"]
                .as_object_mut()
                .unwrap()
                .remove(field);
        }
        let stored = app
            .call_json(
                "/api/connectors/test",
                &json!({ "id": id, "input": without_secret, "test_path": "" }),
                &session,
            )
            .await;
        assert_eq!(stored.body["ok"], true, "{kind}: {}", stored.text);

        let seen = upstream.take();
        assert_eq!(seen.len(), 2, "{kind}: {seen:?}");
        for (request, path) in seen.iter().zip(["/api/myself", "/api"]) {
            assert_eq!(request.method, "GET");
            assert_eq!(request.path, path, "{kind}");
            assert_eq!(request.header("x-organization-id"), Some("42"), "{kind}");
            assert_eq!(request.query, query, "{kind}: the query");
            match &header {
                Some((name, value)) => {
                    assert_eq!(request.header(name), Some(value.as_str()), "{kind}")
                }
                None => assert_eq!(request.header("authorization"), None, "{kind}"),
            }
            if kind != "header" {
                assert_eq!(request.header("x-api-key"), None, "{kind}");
            }
        }
        // Nothing secret comes back.
        for answer in [&unsaved, &saved, &stored] {
            for secret in ["pa:ss", "tok-123", "key-456", "k&y=7", "k%26y"] {
                assert!(!answer.text.contains(secret), "case {i}: {}", answer.text);
            }
        }
    }
    // Each test is audited, without the secret.
    let audit = app.call("/api/audit/list", &[], Some(&session)).await;
    assert_eq!(
        audit.text.matches("connector.test").count(),
        10,
        "{}",
        audit.text
    );
    assert!(!audit.text.contains("tok-123"));
}

async fn test_connection_explains_failures_in_plain_words(app: &TestApp) {
    let upstream = Upstream::start().await;
    let session = admin_session(app).await;
    // A port bound but not listening: connecting is refused, and while the socket lives no other
    // test can be given the port (one freed at once could be, and would answer).
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = reserved.local_addr().unwrap();
    let test = |base_url: String, path: &str| {
        let body = json!({
            "id": null,
            "input": {
                "name": "Probe",
                "base_url": base_url,
                "auth": {"type":"query","param_name":"apiKey","api_key":"query-canary-991"},
            },
            "test_path": path,
        });
        let session = session.clone();
        async move { app.call_json("/api/connectors/test", &body, &session).await }
    };
    for (base, path, status, says) in [
        (
            upstream.base_url(""),
            "/status/401",
            Some(401),
            "check the credentials",
        ),
        (
            upstream.base_url(""),
            "/status/404",
            Some(404),
            "check the base URL or the test path",
        ),
        (
            upstream.base_url(""),
            "/status/503",
            Some(503),
            "upstream service has a problem",
        ),
        (format!("http://{closed}"), "", None, "connection refused"),
        (
            "http://127.0.0.2:9".to_owned(),
            "",
            None,
            "blocked by the network policy: 127.0.0.2 is a loopback address",
        ),
        (
            "http://169.254.169.254".to_owned(),
            "/latest/meta-data",
            None,
            "link-local",
        ),
        ("http://[::ffff:10.0.0.1]".to_owned(), "", None, "private"),
        (
            "http://no-such-host.invalid".to_owned(),
            "",
            None,
            "DNS: could not resolve no-such-host.invalid",
        ),
        (format!("https://{}", upstream.addr), "", None, "TLS"),
    ] {
        let answer = test(base.clone(), path).await;
        assert_eq!(answer.status, 200, "{base}{path}: {}", answer.text);
        assert_eq!(answer.body["ok"], false, "{base}{path}");
        assert_eq!(
            answer.body["status"],
            json!(status),
            "{base}{path}: {}",
            answer.text
        );
        let reason = answer.body["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(says), "{base}{path}: {reason}");
        assert!(!answer.text.contains("query-canary-991"), "{}", answer.text);
    }
    // A full URL as the test path is a field error, not a request.
    let answer = test(upstream.base_url(""), "https://evil.example/x").await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert!(
        answer.body["fields"]["test_path"]
            .as_str()
            .unwrap()
            .contains("Enter only the path")
    );
    assert!(
        upstream
            .take()
            .iter()
            .all(|s| s.path.starts_with("/status/"))
    );
}

async fn the_page_server_functions_save_toggle_and_delete(app: &TestApp) {
    let session = admin_session(app).await;
    let input = json!({
        "name": "HR Tool",
        "base_url": "https://hr.example.com/api",
        "auth": {"type":"bearer","token":"t-1"},
    });
    let saved = app
        .call_json(
            "/api/connectors/save",
            &json!({"id": null, "input": input}),
            &session,
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let id = saved.body["id"].as_str().unwrap().to_owned();

    let taken = app
        .call(
            "/api/connectors/name_taken",
            &[("name", " hr tool ")],
            Some(&session),
        )
        .await;
    assert_eq!(
        taken.body,
        json!("A connector named hr tool already exists.")
    );
    let mine = app
        .call(
            "/api/connectors/name_taken",
            &[("name", "HR TOOL"), ("except_id", &id)],
            Some(&session),
        )
        .await;
    assert_eq!(mine.body, Value::Null, "its own name is not taken");

    let duplicate = app
        .call_json(
            "/api/connectors/save",
            &json!({"id": null, "input": input}),
            &session,
        )
        .await;
    assert_eq!(duplicate.status, 422);
    assert_eq!(duplicate.body["kind"], "fields");
    assert_eq!(
        duplicate.body["fields"]["name"],
        "A connector named HR Tool already exists."
    );

    let off = app
        .call(
            "/api/connectors/set_enabled",
            &[("id", id.as_str()), ("enabled", "false")],
            Some(&session),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body["enabled"], false);
    let list = app
        .call("/api/connectors/list", &[("search", "hr")], Some(&session))
        .await;
    assert_eq!(
        list.body[0]["enabled"], false,
        "disabled connectors stay listed"
    );
    assert_eq!(list.body[0]["has_secret"], true);
    assert!(!list.text.contains("t-1"));

    let html = connectors_page(app, &session).await;
    assert!(
        html.contains("HR Tool") && html.contains("https://hr.example.com/api"),
        "the page lists it without JavaScript"
    );

    let deleted = app
        .call(
            "/api/connectors/delete",
            &[("id", id.as_str())],
            Some(&session),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let list = app.call("/api/connectors/list", &[], Some(&session)).await;
    assert_eq!(list.body, json!([]));
    let audit = app.call("/api/audit/list", &[], Some(&session)).await;
    for action in ["connector.create", "connector.disable", "connector.delete"] {
        assert!(audit.text.contains(action), "{action}");
    }
}

async fn a_stored_secret_is_not_sent_to_another_host(app: &TestApp) {
    let upstream = Upstream::start().await;
    let decoy = Upstream::start().await;
    let session = admin_session(app).await;
    let input = json!({
        "name": "Guarded",
        "base_url": upstream.base_url("/api"),
        "auth": {"type": "header", "header_name": "X-Api-Key", "api_key": "guarded-key-77"},
    });
    let saved = app
        .call_json(
            "/api/connectors/save",
            &json!({"id": null, "input": input}),
            &session,
        )
        .await;
    let id = saved.body["id"].as_str().unwrap().to_owned();
    // The same settings, but another port (another origin) or header name, without the secret.
    for (base, header) in [
        (decoy.base_url("/api"), "X-Api-Key"),
        (upstream.base_url("/api"), "X-Leak"),
    ] {
        let moved = json!({
            "name": "Guarded",
            "base_url": base,
            "auth": {"type": "header", "header_name": header},
        });
        let tested = app
            .call_json(
                "/api/connectors/test",
                &json!({"id": id, "input": moved, "test_path": ""}),
                &session,
            )
            .await;
        assert_eq!(tested.status, 422, "{}", tested.text);
        assert!(
            tested.body["fields"]["auth.api_key"]
                .as_str()
                .unwrap()
                .contains("Enter it again"),
            "{}",
            tested.text
        );
        let saved = app
            .call_json(
                "/api/connectors/save",
                &json!({"id": id, "input": moved}),
                &session,
            )
            .await;
        assert_eq!(saved.status, 422, "{}", saved.text);
    }
    assert!(decoy.take().is_empty(), "nothing reached the other host");
    assert!(upstream.take().is_empty());
    // Another path on the same origin keeps it.
    let same_origin = json!({
        "name": "Guarded",
        "base_url": upstream.base_url("/v2"),
        "auth": {"type": "header", "header_name": "X-Api-Key"},
    });
    let tested = app
        .call_json(
            "/api/connectors/test",
            &json!({"id": id, "input": same_origin, "test_path": ""}),
            &session,
        )
        .await;
    assert_eq!(tested.body["ok"], true, "{}", tested.text);
    assert_eq!(
        upstream.take()[0].header("x-api-key"),
        Some("guarded-key-77")
    );
    // A body that is not JSON of the arguments is the caller's mistake: 400, not 500.
    let junk = app
        .client
        .post(app.url("/api/connectors/save"))
        .header("origin", format!("http://{}", app.addr))
        .header("cookie", format!("sb_session={session}"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), 400);
}

/// A secret header: shown by name only, stored encrypted, kept when left empty, sent to the
/// connector's origin and not to another; a plain header that looks like a credential is refused.
async fn secret_headers_are_write_only_kept_and_stay_on_their_origin(app: &TestApp) {
    let upstream = Upstream::start().await;
    let decoy = Upstream::start().await;
    let key = key(app, "administrator").await;
    let session = admin_session(app).await;
    let canary = "CANARY-secret-header-4e7f";
    let input = |base: String, value: &str| {
        json!({
            "name": "Datadog",
            "base_url": base,
            "auth": {"type": "none"},
            "headers": [
                {"key": "DD-APPLICATION-KEY", "value": value, "secret": true},
                {"key": "X-Org", "value": "42"},
            ],
        })
    };
    let made = send(
        app,
        &key,
        "POST",
        "/api/v2/connectors",
        Some(input(upstream.base_url("/api"), canary)),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(
        made.body["headers"],
        json!([{"key": "DD-APPLICATION-KEY", "value": "", "secret": true},
            {"key": "X-Org", "value": "42"}])
    );
    assert_eq!(made.body["has_secret"], false, "no authentication secret");
    let id = made.body["id"].as_str().unwrap().to_owned();
    let mut seen = made.text.clone();
    let row = app.store.connector(&id).await.unwrap().unwrap();
    assert_eq!(
        row.headers,
        r#"[["DD-APPLICATION-KEY",null],["X-Org","42"]]"#
    );
    assert!(row.header_secrets.is_some() && row.header_secrets_key_version == Some(1));
    assert_eq!(row.secret_key_version, None, "no authentication secret");
    assert!(!format!("{row:?}").contains(canary), "stored in clear");

    // Saved again with the value left empty: kept, and sent by Test connection.
    let kept = send(
        app,
        &key,
        "PUT",
        &format!("/api/v2/connectors/{id}"),
        Some(input(upstream.base_url("/api"), "")),
    )
    .await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    seen.push_str(&kept.text);
    // A new value typed: the audit entry names the header, never its value.
    let replaced = send(
        app,
        &key,
        "PUT",
        &format!("/api/v2/connectors/{id}"),
        Some(input(
            upstream.base_url("/api"),
            "CANARY-replaced-header-91b3",
        )),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    let audit = app.store.list_audit(&Default::default()).await.unwrap();
    let updates: Vec<&str> = audit
        .iter()
        .filter(|e| e.action == "connector.update")
        .map(|e| e.detail.as_str())
        .collect();
    assert!(
        updates[0].contains(r#""secret_headers":["DD-APPLICATION-KEY"]"#),
        "{updates:?}"
    );
    assert!(!updates[1].contains("secret_headers"), "kept: {updates:?}");
    assert!(!format!("{audit:?}").contains("CANARY-replaced-header-91b3"));
    let kept = send(
        app,
        &key,
        "PUT",
        &format!("/api/v2/connectors/{id}"),
        Some(input(upstream.base_url("/api"), canary)),
    )
    .await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    let tested = app
        .call_json(
            "/api/connectors/test",
            &json!({"id": id, "input": input(upstream.base_url("/api"), ""), "test_path": "/me"}),
            &session,
        )
        .await;
    assert_eq!(tested.body["ok"], true, "{}", tested.text);
    seen.push_str(&tested.text);
    let got = upstream.take();
    assert_eq!(got[0].header("dd-application-key"), Some(canary));
    assert_eq!(got[0].header("x-org"), Some("42"));

    // Moved to another origin without the value: refused, and nothing is sent there.
    for path in ["/api/connectors/test", "/api/connectors/save"] {
        let moved = app
            .call_json(
                path,
                &json!({"id": id, "input": input(decoy.base_url("/api"), ""), "test_path": ""}),
                &session,
            )
            .await;
        assert_eq!(moved.status, 422, "{path}: {}", moved.text);
        assert!(
            moved.body["fields"]["headers[0].value"]
                .as_str()
                .unwrap()
                .contains("Enter it again"),
            "{}",
            moved.text
        );
    }
    assert!(decoy.take().is_empty(), "nothing reached the other host");

    // A credential-like header sent in plain text is refused with the way out.
    let mut plain = input(upstream.base_url("/api"), "");
    plain["headers"][1] = json!({"key": "X-Api-Token", "value": "t"});
    let refused = send(
        app,
        &key,
        "PUT",
        &format!("/api/v2/connectors/{id}"),
        Some(plain),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.body["fields"]["headers[1].key"]
            .as_str()
            .unwrap()
            .contains("mark the header Secret"),
        "{}",
        refused.text
    );

    seen.push_str(
        &send(app, &key, "GET", "/api/v2/connectors", None)
            .await
            .text,
    );
    seen.push_str(
        &send(app, &key, "GET", &format!("/api/v2/connectors/{id}"), None)
            .await
            .text,
    );
    seen.push_str(
        &app.call("/api/connectors/list", &[], Some(&session))
            .await
            .text,
    );
    assert!(seen.contains("DD-APPLICATION-KEY"));
    assert!(
        !seen.contains(canary),
        "the value reached a response: {seen}"
    );
    let audit = app.store.list_audit(&Default::default()).await.unwrap();
    assert!(!format!("{audit:?}").contains(canary));

    // A connector saved before secret headers existed, with a credential as a plain header: it
    // still loads, and the list says what to fix.
    let legacy = legacy_connector(
        app,
        "Legacy Vault",
        upstream.base_url("/v1"),
        r#"[["X-Vault-Token","hvs.legacy-4c1d"],["Accept","text/plain"]]"#,
    )
    .await;
    let html = connectors_page(app, &session).await;
    assert!(
        html.contains(
            "Plain-text credential header: X-Vault-Token. Edit the connector and mark it Secret."
        ),
        "the legacy header is flagged"
    );
    assert_eq!(
        html.matches("Plain-text credential header").count(),
        1,
        "only the legacy connector is flagged"
    );

    // What a server does at start-up: the plain credential becomes a secret header, encrypted,
    // in its place; no longer shown, still sent. Done once: a second pass finds nothing. Left
    // plain: a value too short to be a credential, and a header a workflow's step sets (sealed,
    // the connector's value would silently replace the step's).
    let short = legacy_connector(
        app,
        "Legacy Short",
        upstream.base_url("/v2"),
        r#"[["X-Auth-Version","2"]]"#,
    )
    .await;
    let stepped = legacy_connector(
        app,
        "Legacy Stepped",
        upstream.base_url("/v3"),
        r#"[["X-Api-Token","shared-default-token"]]"#,
    )
    .await;
    let workflow = send(
        app,
        &key,
        "POST",
        "/api/v2/workflows",
        Some(json!({
            "name": "Per-user token", "enabled": true,
            "trigger": { "type": "manual", "sample_input": { "token": "t" } },
            "steps": [ { "key": "call", "name": "Call",
                "action": { "type": "external_app_connector", "connector_id": stepped.id,
                    "method": "GET", "path": "/me", "body": "",
                    "headers": [ { "key": "x-api-token", "value": "${input.token}" } ] } } ]
        })),
    )
    .await;
    assert_eq!(workflow.status, 201, "{}", workflow.text);
    let report = app.connectors.seal_plain_credential_headers().await;
    assert_eq!((report.sealed, report.failed), (1, 0));
    let again = app.connectors.seal_plain_credential_headers().await;
    assert_eq!((again.sealed, again.failed), (0, 0));
    for (id, headers) in [
        (&short.id, r#"[["X-Auth-Version","2"]]"#),
        (&stepped.id, r#"[["X-Api-Token","shared-default-token"]]"#),
    ] {
        let row = app.store.connector(id).await.unwrap().unwrap();
        assert_eq!(row.headers, headers, "left plain");
    }
    let row = app.store.connector(&legacy.id).await.unwrap().unwrap();
    assert_eq!(
        row.headers,
        r#"[["X-Vault-Token",null],["Accept","text/plain"]]"#
    );
    assert!(row.header_secrets.is_some() && row.header_secrets_key_version == Some(1));
    assert!(
        !format!("{row:?}").contains("hvs.legacy-4c1d"),
        "stored in clear"
    );
    let html = connectors_page(app, &session).await;
    assert!(
        !html.contains("Plain-text credential header: X-Vault-Token"),
        "nothing left to flag on it"
    );
    assert_eq!(
        html.matches("Plain-text credential header").count(),
        2,
        "the two left plain are still flagged"
    );
    let shown = send(
        app,
        &key,
        "GET",
        &format!("/api/v2/connectors/{}", legacy.id),
        None,
    )
    .await;
    assert_eq!(
        shown.body["headers"],
        json!([{"key": "X-Vault-Token", "value": "", "secret": true},
            {"key": "Accept", "value": "text/plain"}])
    );
    assert!(!html.contains("hvs.legacy-4c1d") && !shown.text.contains("hvs.legacy-4c1d"));
    let audit = app.store.list_audit(&Default::default()).await.unwrap();
    let sealed = audit
        .iter()
        .find(|e| e.actor == "server" && e.target.as_deref() == Some("Legacy Vault"))
        .expect("audited");
    assert_eq!(sealed.action, "connector.update");
    assert!(
        sealed
            .detail
            .contains(r#""secret_headers":["X-Vault-Token"]"#),
        "{}",
        sealed.detail
    );
    assert!(!format!("{audit:?}").contains("hvs.legacy-4c1d"));
    let tested = app
        .call_json(
            "/api/connectors/test",
            &json!({"id": legacy.id, "test_path": "/sys/health", "input": {
                "name": "Legacy Vault", "base_url": upstream.base_url("/v1"),
                "auth": {"type": "none"},
                "headers": [{"key": "X-Vault-Token", "value": "", "secret": true},
                    {"key": "Accept", "value": "text/plain"}],
            }}),
            &session,
        )
        .await;
    assert_eq!(tested.body["ok"], true, "{}", tested.text);
    let got = upstream.take();
    assert_eq!(
        got.last().unwrap().header("x-vault-token"),
        Some("hvs.legacy-4c1d")
    );
}

/// A REST `PUT` that leaves out `headers` or `enabled` keeps them (a secret header's value
/// included) instead of resetting them; an edit made from a connector as it was before someone
/// else's change is refused with 409, by REST and from the page, and writes nothing.
async fn edits_keep_what_they_leave_out_and_never_undo_a_later_change(app: &TestApp) {
    let upstream = Upstream::start().await;
    let key = key(app, "administrator").await;
    let session = admin_session(app).await;
    let made = send(
        app,
        &key,
        "POST",
        "/api/v2/connectors",
        Some(json!({
            "name": "Datadog",
            "enabled": false,
            "base_url": upstream.base_url("/api"),
            "auth": {"type": "none"},
            "headers": [
                {"key": "DD-APPLICATION-KEY", "value": "dd-app-key-kept", "secret": true},
                {"key": "X-Org", "value": "42"},
            ],
        })),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v2/connectors/{id}");
    let stored = app.store.connector(&id).await.unwrap().unwrap();

    // Only the required fields: renamed, the rest as it was.
    let renamed = send(
        app,
        &key,
        "PUT",
        &path,
        Some(
            json!({"name": "Datadog EU", "base_url": upstream.base_url("/api"),
            "auth": {"type": "none"}}),
        ),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "Datadog EU");
    assert_eq!(renamed.body["enabled"], false, "still disabled");
    assert_eq!(renamed.body["headers"], made.body["headers"]);
    let row = app.store.connector(&id).await.unwrap().unwrap();
    assert_eq!(row.headers, stored.headers);
    // Sealed again with a new nonce on each save; its value is checked below, where it is sent.
    assert!(row.header_secrets.is_some(), "the secret kept");
    assert!(row.updated_at > stored.updated_at);

    // Opened before someone else's change: refused, by REST and by the page's save.
    let opened = renamed.body["updated_at"].as_i64().unwrap();
    let on = app
        .call(
            "/api/connectors/set_enabled",
            &[("id", id.as_str()), ("enabled", "true")],
            Some(&session),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.text);
    let edit = json!({"name": "Datadog US", "enabled": false,
        "base_url": upstream.base_url("/api"), "auth": {"type": "none"},
        "headers": made.body["headers"], "updated_at": opened});
    let stale = send(app, &key, "PUT", &path, Some(edit.clone())).await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert_eq!(
        stale.body["error"],
        "Connector Datadog EU was changed after you opened it (by someone else, or by you elsewhere, such as its Enabled switch). Reload it to see the change, then make your edit again."
    );
    let from_page = app
        .call_json(
            "/api/connectors/save",
            &json!({"id": id, "input": edit}),
            &session,
        )
        .await;
    assert_eq!(from_page.status, 409, "{}", from_page.text);
    let now = send(app, &key, "GET", &path, None).await;
    assert_eq!(now.body["name"], "Datadog EU", "nothing written");
    assert_eq!(now.body["enabled"], true, "the later change stands");

    // Made again from the connector as it is now: saved.
    let mut fresh = edit.clone();
    fresh["updated_at"] = now.body["updated_at"].clone();
    let saved = send(app, &key, "PUT", &path, Some(fresh)).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["name"], "Datadog US");
    assert_eq!(saved.body["enabled"], false);
    let tested = app
        .call_json(
            "/api/connectors/test",
            &json!({"id": id, "test_path": "", "input": saved.body}),
            &session,
        )
        .await;
    assert_eq!(tested.body["ok"], true, "{}", tested.text);
    assert_eq!(
        upstream.take().last().unwrap().header("dd-application-key"),
        Some("dd-app-key-kept")
    );
}

/// A connector as saved before secret headers existed: authentication None, these header rows
/// (`[["name", "value"], …]`) in plain text, written straight to the store.
async fn legacy_connector(
    app: &TestApp,
    name: &str,
    base_url: String,
    headers: &str,
) -> switchboard::storage::ConnectorRecord {
    app.store
        .insert_connector(&switchboard::storage::ConnectorWrite {
            name: name.into(),
            name_key: name.to_lowercase(),
            enabled: true,
            base_url,
            auth_settings: r#"{"type":"none"}"#.into(),
            secret: Some(None),
            headers: headers.into(),
            header_secrets: None,
        })
        .await
        .unwrap()
}
