//! Workflows on both backends: the REST API and the canvas's server functions, validation that
//! names the step and field, versions with conflicts and history, and connectors in use.

#[macro_use]
mod common;

use common::{Answer, TestApp};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

on_both_backends!(
    workflows_are_created_read_saved_and_deleted,
    invalid_steps_block_the_save_and_are_named,
    a_stale_save_is_a_conflict_not_an_overwrite,
    history_lists_versions_and_restores_one,
    a_connector_in_use_cannot_be_deleted,
    read_only_keys_read_workflows_but_cannot_change_them,
    schedules_show_their_next_times_and_unknown_zones_are_refused,
    a_workflow_that_no_longer_passes_can_still_be_disabled,
);

struct Ctx {
    session: String,
    key: String,
    connector: String,
}

async fn ctx(app: &TestApp) -> Ctx {
    let session = app.set_up("admin@example.com", PASSWORD).await;
    let made = app
        .call(
            "/api/api_keys/create",
            &[("name", "wf"), ("role", "administrator")],
            Some(&session),
        )
        .await;
    let key = made.body["key"].as_str().unwrap().to_owned();
    let connector = send(
        app,
        &key,
        "POST",
        "/api/v2/connectors",
        Some(json!({
            "name": "Jira",
            "base_url": "https://example.atlassian.net/rest",
            "auth": {"type": "bearer", "token": "t"},
        })),
    )
    .await;
    assert_eq!(connector.status, 201, "{}", connector.text);
    Ctx {
        session,
        key,
        connector: connector.body["id"].as_str().unwrap().to_owned(),
    }
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

/// The issue's example body.
fn ticket_workflow(connector: &str) -> Value {
    json!({
        "name": "Provisioning ticket", "description": "", "enabled": true,
        "trigger": { "type": "manual", "sample_input": { "resource": { "username": "ada" } } },
        "steps": [ { "key": "create_ticket", "name": "Create ticket",
            "action": { "type": "external_app_connector", "connector_id": connector, "method": "POST",
                "path": "/api/v2/alerts", "body": "{ \"summary\": \"${input.resource.username}\", \"by\": {{ .input.body.actor.email }} }",
                "headers": [ { "key": "X-Source", "value": "switchboard" } ] } } ]
    })
}

/// Creates the issue's example workflow through the REST API; its id.
async fn created_ticket_workflow(app: &TestApp, cx: &Ctx) -> String {
    let made = send(
        app,
        &cx.key,
        "POST",
        "/api/v2/workflows",
        Some(ticket_workflow(&cx.connector)),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    made.body["id"].as_str().unwrap().to_owned()
}

async fn workflows_are_created_read_saved_and_deleted(app: &TestApp) {
    let cx = ctx(app).await;
    let made = send(
        app,
        &cx.key,
        "POST",
        "/api/v2/workflows",
        Some(ticket_workflow(&cx.connector)),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["version"], 1);
    assert_eq!(made.body["steps"][0]["action"]["method"], "POST");
    assert_eq!(
        made.body["steps"][0]["action"]["body"],
        ticket_workflow(&cx.connector)["steps"][0]["action"]["body"]
    );
    assert!(made.body["created_at"].is_i64() && made.body["updated_at"].is_i64());

    let got = send(
        app,
        &cx.key,
        "GET",
        &format!("/api/v2/workflows/{id}"),
        None,
    )
    .await;
    assert_eq!(got.body, made.body);
    let list = send(
        app,
        &cx.key,
        "GET",
        "/api/v2/workflows?search=provision",
        None,
    )
    .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);

    let mut edit = ticket_workflow(&cx.connector);
    edit["version"] = json!(1);
    edit["steps"][0]["action"]["path"] = json!("/api/v2/alerts/${input.resource.username}");
    let saved = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/workflows/{id}"),
        Some(edit.clone()),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["version"], 2);

    edit.as_object_mut().unwrap().remove("version");
    let unversioned = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/workflows/{id}"),
        Some(edit),
    )
    .await;
    assert_eq!(unversioned.status, 400);
    assert!(
        unversioned.body["fields"]["version"]
            .as_str()
            .unwrap()
            .contains("version you edited")
    );

    // A PUT that leaves out the steps, enabled or the description keeps them as stored: a
    // rename does not empty the workflow.
    let described = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/workflows/{id}"),
        Some(
            json!({"version": 2, "name": "Provisioning", "description": "Opens a ticket",
            "enabled": false, "trigger": saved.body["trigger"], "steps": saved.body["steps"]}),
        ),
    )
    .await;
    assert_eq!(described.status, 200, "{}", described.text);
    let renamed = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/workflows/{id}"),
        Some(json!({"version": 3, "name": "Provisioning ticket",
            "trigger": saved.body["trigger"]})),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["version"], 4);
    assert_eq!(renamed.body["name"], "Provisioning ticket");
    assert_eq!(renamed.body["steps"], saved.body["steps"], "steps kept");
    assert_eq!(renamed.body["enabled"], false, "still disabled");
    assert_eq!(renamed.body["description"], "Opens a ticket");
    // Written over an older version: still a conflict, not a merge of the newer one.
    let stale = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/workflows/{id}"),
        Some(json!({"version": 3, "name": "Stale", "trigger": saved.body["trigger"]})),
    )
    .await;
    assert_eq!(stale.status, 409, "{}", stale.text);

    // The canvas's server functions see the same workflow.
    let via_fn = app
        .call("/api/workflows/get", &[("id", &id)], Some(&cx.session))
        .await;
    assert_eq!(via_fn.body["version"], 4);
    let created = app
        .call(
            "/api/workflows/create",
            &[
                ("name", "On activation"),
                ("description", ""),
                ("kind", "event"),
            ],
            Some(&cx.session),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.body["trigger"]["type"], "event");
    assert_eq!(created.body["trigger"]["event_type"], "user.activated");
    assert_eq!(created.body["steps"], json!([]));

    let deleted = send(
        app,
        &cx.key,
        "DELETE",
        &format!("/api/v2/workflows/{id}"),
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    let gone = send(
        app,
        &cx.key,
        "GET",
        &format!("/api/v2/workflows/{id}"),
        None,
    )
    .await;
    assert_eq!(gone.status, 404);
    let audit = app.call("/api/audit/list", &[], Some(&cx.session)).await;
    for action in ["workflow.create", "workflow.save", "workflow.delete"] {
        assert!(audit.text.contains(action), "{action}");
    }
}

async fn invalid_steps_block_the_save_and_are_named(app: &TestApp) {
    let cx = ctx(app).await;
    for (edit, field, says) in [
        (
            json!({"path": "https://example.atlassian.net/rest/api/2/issue"}),
            "steps[0].action.path",
            "Create ticket (Endpoint Path): Enter only the path, e.g. /api/resource — the base URL comes from the connector.",
        ),
        (
            json!({"body": "{ \"summary\": ${input.x} \"oops\" }"}),
            "steps[0].action.body",
            "Create ticket (Request Body JSON): Line 1, column 25",
        ),
        (
            json!({"connector_id": ""}),
            "steps[0].action.connector_id",
            "Create ticket (Select Connector): Select a connector.",
        ),
        (
            json!({"headers": [{"key": "Authorization", "value": "Bearer x"}]}),
            "steps[0].action.headers[0].key",
            "cannot override",
        ),
        (
            json!({"headers": [{"key": "X-A", "value": "a\r\nInjected: 1"}]}),
            "steps[0].action.headers[0].value",
            "line breaks",
        ),
    ] {
        let mut body = ticket_workflow(&cx.connector);
        for (k, v) in edit.as_object().unwrap() {
            body["steps"][0]["action"][k] = v.clone();
        }
        let refused = send(app, &cx.key, "POST", "/api/v2/workflows", Some(body)).await;
        assert_eq!(refused.status, 422, "{edit}: {}", refused.text);
        assert_eq!(refused.body["kind"], "fields");
        let message = refused.body["fields"][field].as_str().unwrap_or_default();
        assert!(message.contains(says), "{edit}: {message}");
        let summary = refused.body["error"].as_str().unwrap();
        assert!(
            summary.starts_with("Not saved. Step 1 “Create ticket”"),
            "{summary}"
        );
    }
    let list = send(app, &cx.key, "GET", "/api/v2/workflows", None).await;
    assert_eq!(list.body, json!([]), "nothing invalid was saved");
    // Not JSON of a workflow at all: 400 saying what to send.
    let junk = send(
        app,
        &cx.key,
        "POST",
        "/api/v2/workflows",
        Some(json!({"name": 5})),
    )
    .await;
    assert_eq!(junk.status, 400);
    assert!(
        junk.body["error"]
            .as_str()
            .unwrap()
            .contains("not a workflow")
    );
    // A sample input's integer beyond 64 bits is refused, not stored rounded.
    let huge = serde_json::to_string(&ticket_workflow(&cx.connector))
        .unwrap()
        .replace(
            r#""username":"ada""#,
            r#""username":"ada","id":123456789012345678901234"#,
        );
    assert!(huge.contains("123456789012345678901234"));
    let refused = app
        .client
        .post(app.url("/api/v2/workflows"))
        .header("x-api-key", &cx.key)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let refused = Answer::read(refused).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(
        refused
            .text
            .contains("holds the number 123456789012345678901234"),
        "{}",
        refused.text
    );
}

async fn a_stale_save_is_a_conflict_not_an_overwrite(app: &TestApp) {
    let cx = ctx(app).await;
    let id = created_ticket_workflow(app, &cx).await;
    let mut first = ticket_workflow(&cx.connector);
    first["version"] = json!(1);
    first["name"] = json!("First admin's name");
    let mut second = first.clone();
    second["name"] = json!("Second admin's name");
    let ok = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/workflows/{id}"),
        Some(first),
    )
    .await;
    assert_eq!(ok.status, 200);
    // The canvas's save server function, from version 1 too.
    let stale = app
        .call_json(
            "/api/workflows/save",
            &json!({"id": id, "version": 1, "input": second}),
            &cx.session,
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    let says = stale.body["message"].as_str().unwrap();
    assert!(says.contains("saved this workflow (version 2)"), "{says}");
    let kept = send(
        app,
        &cx.key,
        "GET",
        &format!("/api/v2/workflows/{id}"),
        None,
    )
    .await;
    assert_eq!(kept.body["name"], "First admin's name");
    assert_eq!(kept.body["version"], 2);
}

async fn history_lists_versions_and_restores_one(app: &TestApp) {
    let cx = ctx(app).await;
    let id = created_ticket_workflow(app, &cx).await;
    let mut edit = ticket_workflow(&cx.connector);
    edit["version"] = json!(1);
    edit["steps"] = json!([]);
    let saved = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/workflows/{id}"),
        Some(edit),
    )
    .await;
    assert_eq!(saved.body["version"], 2);
    let off = app
        .call(
            "/api/workflows/set_enabled",
            &[("id", id.as_str()), ("enabled", "false")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(off.body["enabled"], false);
    assert_eq!(off.body["version"], 3, "a toggle is a version of its own");

    let versions = app
        .call("/api/workflows/versions", &[("id", &id)], Some(&cx.session))
        .await;
    let versions = versions.body.as_array().unwrap().clone();
    assert_eq!(
        versions
            .iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert_eq!(versions[2]["steps"], 1);
    assert!(
        versions[0]["saved_by"]
            .as_str()
            .unwrap()
            .contains("admin@example.com")
    );

    let restored = app
        .call(
            "/api/workflows/restore",
            &[("id", id.as_str()), ("version", "1")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(restored.body["version"], 4);
    // From a canvas still on version 3: someone saved since, so the restore is refused.
    let stale = app
        .call(
            "/api/workflows/restore",
            &[("id", id.as_str()), ("version", "2"), ("open", "3")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert!(
        stale.text.contains("after you opened version 3"),
        "{}",
        stale.text
    );
    assert_eq!(restored.body["steps"].as_array().unwrap().len(), 1);
    assert_eq!(restored.body["enabled"], true);

    let copy = app
        .call(
            "/api/workflows/duplicate",
            &[("id", &id)],
            Some(&cx.session),
        )
        .await;
    assert_eq!(copy.body["name"], "Copy of Provisioning ticket");
    assert_eq!(copy.body["enabled"], false, "a copy starts disabled");
    assert_ne!(copy.body["id"], restored.body["id"]);
    let audit = app.call("/api/audit/list", &[], Some(&cx.session)).await;
    for action in ["workflow.disable", "workflow.restore", "workflow.duplicate"] {
        assert!(audit.text.contains(action), "{action}");
    }
}

async fn a_connector_in_use_cannot_be_deleted(app: &TestApp) {
    let cx = ctx(app).await;
    let id = created_ticket_workflow(app, &cx).await;
    let connector = send(
        app,
        &cx.key,
        "GET",
        &format!("/api/v2/connectors/{}", cx.connector),
        None,
    )
    .await;
    assert_eq!(connector.body["used_by"], 1);
    let list = app
        .call("/api/connectors/list", &[], Some(&cx.session))
        .await;
    assert_eq!(list.body[0]["used_by"], 1);
    let usage = app
        .call(
            "/api/connectors/usage",
            &[("id", &cx.connector)],
            Some(&cx.session),
        )
        .await;
    assert_eq!(
        usage.body,
        json!([{"id": id, "name": "Provisioning ticket"}])
    );

    let refused = send(
        app,
        &cx.key,
        "DELETE",
        &format!("/api/v2/connectors/{}", cx.connector),
        None,
    )
    .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(
        refused.body["error"],
        "Jira is used by 1 workflow: Provisioning ticket. Remove it from their steps first, then delete it."
    );
    // The database reference refuses it too, should a save race the check.
    assert!(matches!(
        app.store.delete_connector(&cx.connector).await,
        Err(switchboard::storage::StoreError::Conflict { .. })
    ));

    send(
        app,
        &cx.key,
        "DELETE",
        &format!("/api/v2/workflows/{id}"),
        None,
    )
    .await;
    let deleted = send(
        app,
        &cx.key,
        "DELETE",
        &format!("/api/v2/connectors/{}", cx.connector),
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
}

async fn read_only_keys_read_workflows_but_cannot_change_them(app: &TestApp) {
    let cx = ctx(app).await;
    let id = created_ticket_workflow(app, &cx).await;
    let reader = app
        .call(
            "/api/api_keys/create",
            &[("name", "r"), ("role", "read_only")],
            Some(&cx.session),
        )
        .await;
    let reader = reader.body["key"].as_str().unwrap().to_owned();
    assert_eq!(
        send(app, &reader, "GET", "/api/v2/workflows", None)
            .await
            .status,
        200
    );
    assert_eq!(
        send(
            app,
            &reader,
            "GET",
            &format!("/api/v2/workflows/{id}"),
            None
        )
        .await
        .status,
        200
    );
    for (method, path) in [
        ("POST", "/api/v2/workflows".to_owned()),
        ("PUT", format!("/api/v2/workflows/{id}")),
        ("DELETE", format!("/api/v2/workflows/{id}")),
    ] {
        let answer = send(
            app,
            &reader,
            method,
            &path,
            Some(ticket_workflow(&cx.connector)),
        )
        .await;
        assert_eq!(answer.status, 403, "{method} {path}");
    }
}

async fn schedules_show_their_next_times_and_unknown_zones_are_refused(app: &TestApp) {
    let cx = ctx(app).await;
    let preview = app
        .call(
            "/api/workflows/schedule_preview",
            &[("cron", "0 9 * * mon-fri"), ("timezone", "Europe/Paris")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    let times = preview.body.as_array().unwrap();
    assert_eq!(times.len(), 5);
    for t in times {
        let t = t.as_str().unwrap();
        assert!(t.contains(" 09:00 CE"), "{t}");
        assert!(!t.starts_with("Sat") && !t.starts_with("Sun"), "{t}");
    }
    let bad = app
        .call(
            "/api/workflows/schedule_preview",
            &[("cron", "61 * * * *"), ("timezone", "Mars/Olympus")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.body["fields"]["trigger.cron"]
            .as_str()
            .unwrap()
            .contains("between 0 and 59")
    );
    assert!(
        bad.body["fields"]["trigger.timezone"]
            .as_str()
            .unwrap()
            .contains("IANA")
    );
    // The server checks the zone on save too (the browser has no zone database).
    let refused = send(
        app,
        &cx.key,
        "POST",
        "/api/v2/workflows",
        Some(json!({
            "name": "Nightly",
            "trigger": {"type": "schedule", "cron": "0 2 * * *", "timezone": "Europe/Pariss"},
        })),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.body["fields"]["trigger.timezone"]
            .as_str()
            .unwrap()
            .contains("Unknown time zone")
    );
    let unsigned = app
        .call(
            "/api/workflows/schedule_preview",
            &[("cron", "* * * * *"), ("timezone", "UTC")],
            None,
        )
        .await;
    assert_eq!(unsigned.status, 401);
}

/// Disabling is the emergency stop: it works even when the workflow no longer passes the checks
/// against its connectors as they are now. Enabling it again names what to fix.
async fn a_workflow_that_no_longer_passes_can_still_be_disabled(app: &TestApp) {
    let cx = ctx(app).await;
    let id = created_ticket_workflow(app, &cx).await;
    // The connector's authentication now sets the header the step sets.
    let changed = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/connectors/{}", cx.connector),
        Some(json!({
            "name": "Jira",
            "base_url": "https://example.atlassian.net/rest",
            "auth": {"type": "header", "header_name": "X-Source", "api_key": "k-123456"},
        })),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let toggle = |enabled: &'static str| {
        let id = id.clone();
        let session = cx.session.clone();
        async move {
            app.call(
                "/api/workflows/set_enabled",
                &[("id", id.as_str()), ("enabled", enabled)],
                Some(&session),
            )
            .await
        }
    };
    let off = toggle("false").await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body["enabled"], false);
    let on = toggle("true").await;
    assert_eq!(on.status, 422, "{}", on.text);
    assert!(on.text.contains("X-Source"), "{}", on.text);
    let read = send(
        app,
        &cx.key,
        "GET",
        &format!("/api/v2/workflows/{id}"),
        None,
    )
    .await;
    assert_eq!(read.body["enabled"], false, "{}", read.text);
}
