//! Running workflows against a real local upstream, on both backends: each authentication type
//! arrives, both placeholder syntaxes render, hostile input stays in its place, retries honour
//! Retry-After, timeouts hold, redirects keep credentials on their origin, responses are redacted,
//! and nothing stored or answered holds a secret.

#[macro_use]
mod common;
mod upstream;

use std::time::{Duration, Instant};

use common::{Answer, TestApp};
use serde_json::{Value, json};
use upstream::Upstream;

const PASSWORD: &str = "correct horse battery";

on_both_backends!(
    each_auth_type_arrives_and_secrets_stay_out_of_history,
    hostile_input_stays_valid_json_and_one_path_segment,
    retries_honour_retry_after_and_stop_on_client_errors,
    timeouts_and_redirects_are_enforced,
    a_redirect_echoing_the_query_key_does_not_carry_it_off_the_origin,
    failures_name_the_step_and_later_steps_see_earlier_outputs,
    runs_are_listed_filtered_and_guarded,
    test_this_step_sends_once_and_shows_the_masked_request,
    runs_queued_by_callers_that_went_away_still_run_at_once,
    a_secret_header_missing_from_the_store_stops_the_step,
);

struct Ctx {
    session: String,
    key: String,
    upstream: Upstream,
}

async fn ctx(app: &TestApp) -> Ctx {
    let session = app.set_up("admin@example.com", PASSWORD).await;
    let made = app
        .call(
            "/api/api_keys/create",
            &[("name", "runs"), ("role", "administrator")],
            Some(&session),
        )
        .await;
    Ctx {
        session,
        key: made.body["key"].as_str().unwrap().to_owned(),
        upstream: Upstream::start().await,
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

async fn connector(app: &TestApp, cx: &Ctx, name: &str, base_path: &str, auth: Value) -> String {
    let headers = json!([ { "key": "X-Organization-ID", "value": "42" } ]);
    connector_with(app, cx, name, base_path, auth, headers).await
}

/// A connector to the upstream under `base_path` with these header rows.
async fn connector_with(
    app: &TestApp,
    cx: &Ctx,
    name: &str,
    base_path: &str,
    auth: Value,
    headers: Value,
) -> String {
    let made = send(
        app,
        &cx.key,
        "POST",
        "/api/v2/connectors",
        Some(json!({
            "name": name,
            "base_url": cx.upstream.base_url(base_path),
            "auth": auth,
            "headers": headers,
        })),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    made.body["id"].as_str().unwrap().to_owned()
}

fn step(key: &str, connector: &str, method: &str, path: &str, body: &str, options: Value) -> Value {
    json!({
        "key": key, "name": key.replace('_', " "),
        "action": { "type": "external_app_connector", "connector_id": connector, "method": method,
                    "path": path, "body": body, "headers": [ { "key": "X-Source", "value": "switchboard" } ],
                    "options": options }
    })
}

async fn workflow(app: &TestApp, cx: &Ctx, name: &str, steps: Vec<Value>) -> String {
    let made = send(
        app,
        &cx.key,
        "POST",
        "/api/v2/workflows",
        Some(json!({
            "name": name,
            "trigger": { "type": "manual", "sample_input": { "resource": { "username": "ada", "id": "u1" } } },
            "steps": steps,
        })),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    made.body["id"].as_str().unwrap().to_owned()
}

/// Starts a run over REST and waits for its end.
async fn run(app: &TestApp, cx: &Ctx, workflow: &str, input: Value) -> Value {
    let id = start_run(app, cx, workflow, input).await;
    wait(app, cx, &id).await
}

/// Starts a run over REST; its id.
async fn start_run(app: &TestApp, cx: &Ctx, workflow: &str, input: Value) -> String {
    let started = send(
        app,
        &cx.key,
        "POST",
        &format!("/api/v2/workflows/{workflow}/runs"),
        Some(json!({ "input": input })),
    )
    .await;
    assert_eq!(started.status, 202, "{}", started.text);
    assert_eq!(started.body["status"], "queued");
    started.body["id"].as_str().unwrap().to_owned()
}

async fn wait(app: &TestApp, cx: &Ctx, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = send(
            app,
            &cx.key,
            "GET",
            &format!("/api/v2/workflows/runs/{id}"),
            None,
        )
        .await;
        assert_eq!(got.status, 200, "{}", got.text);
        if matches!(got.body["status"].as_str(), Some("succeeded" | "failed")) {
            return got.body;
        }
        assert!(
            Instant::now() < deadline,
            "run {id} did not finish: {}",
            got.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn each_auth_type_arrives_and_secrets_stay_out_of_history(app: &TestApp) {
    let cx = ctx(app).await;
    let secrets = [
        "basic-pw-7f3a",
        "bearer-tok-9c1d",
        "header-key-2b8e",
        "query key&=4d6f",
    ];
    let none = connector(app, &cx, "None", "/v1", json!({"type": "none"})).await;
    let basic = connector(
        app,
        &cx,
        "Basic",
        "/v1",
        json!({"type": "basic", "username": "svc", "password": secrets[0]}),
    )
    .await;
    let bearer = connector(
        app,
        &cx,
        "Bearer",
        "/v1",
        json!({"type": "bearer", "token": secrets[1]}),
    )
    .await;
    let header = connector(
        app,
        &cx,
        "Header",
        "/v1",
        json!({"type": "header", "header_name": "X-Api-Key", "api_key": secrets[2]}),
    )
    .await;
    let query = connector(
        app,
        &cx,
        "Query",
        "/v1",
        json!({"type": "query", "param_name": "apiKey", "api_key": secrets[3]}),
    )
    .await;
    let body = r#"{ "summary": "New user ${input.resource.username}", "by": "{{ .input.body.actor.email }}", "id": "${input.resource.id}", "n": ${input.n} }"#;
    let steps = [&none, &basic, &bearer, &header, &query]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            step(
                &format!("s{i}"),
                c,
                "POST",
                "/api/v2/alerts",
                body,
                json!({}),
            )
        })
        .collect();
    let wf = workflow(app, &cx, "Every auth", steps).await;
    let input = json!({ "resource": { "username": "ada", "id": 7 }, "body": { "actor": { "email": "root@example.com" } }, "n": 1.5 });
    let done = run(app, &cx, &wf, input).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let seen = cx.upstream.take();
    assert_eq!(seen.len(), 5);
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.path, "/v1/api/v2/alerts");
        assert_eq!(s.header("x-organization-id"), Some("42"));
        assert_eq!(s.header("x-source"), Some("switchboard"));
        assert_eq!(s.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_str(&s.body).unwrap();
        assert_eq!(
            body,
            json!({ "summary": "New user ada", "by": "root@example.com", "id": 7, "n": 1.5 })
        );
    }
    assert_eq!(seen[0].header("authorization"), None);
    use base64::Engine;
    let basic_value = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("svc:{}", secrets[0]))
    );
    assert_eq!(seen[1].header("authorization"), Some(basic_value.as_str()));
    assert_eq!(
        seen[2].header("authorization"),
        Some(format!("Bearer {}", secrets[1]).as_str())
    );
    assert_eq!(seen[3].header("x-api-key"), Some(secrets[2]));
    assert_eq!(seen[4].query.as_deref(), Some("apiKey=query+key%26%3D4d6f"));

    let steps = done["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    assert_eq!(
        steps[1]["request"]["headers"]["Authorization"],
        "Basic ••••••"
    );
    assert_eq!(
        steps[2]["request"]["headers"]["Authorization"],
        "Bearer ••••••"
    );
    assert_eq!(steps[3]["request"]["headers"]["X-Api-Key"], "••••••");
    assert_eq!(
        steps[4]["request"]["url"],
        cx.upstream.base_url("/v1/api/v2/alerts?apiKey=••••••")
    );
    assert_eq!(steps[0]["response"]["status"], 200);
    assert_eq!(steps[0]["attempts"], 1);
    // The run, every listing, and the database hold no secret.
    let listed = send(app, &cx.key, "GET", "/api/v2/workflows/runs", None).await;
    let everything = format!("{done}{}", listed.text);
    for secret in secrets {
        assert!(!everything.contains(secret), "{secret} leaked");
        assert!(
            !everything.contains(&secret.replace(' ', "+")),
            "{secret} leaked"
        );
    }
    assert!(
        !everything.contains(&basic_value[6..]),
        "basic credentials leaked"
    );
}

async fn hostile_input_stays_valid_json_and_one_path_segment(app: &TestApp) {
    let cx = ctx(app).await;
    let c = connector(app, &cx, "Api", "/v1", json!({"type": "none"})).await;
    let wf = workflow(
        app,
        &cx,
        "Hostile",
        vec![step(
            "put_user",
            &c,
            "PUT",
            "/users/${input.id}/profile?note=${input.note}",
            r#"{"name": "${input.name}", "note": "Note: {{ .input.note }}", "blob": "${input.blob}"}"#,
            json!({}),
        )],
    )
    .await;
    let name = "ada\"}, \"admin\": true, \"x\": {\"";
    let note = "line1\nline2 \\ \u{1F600} ${input.name} &x=1#frag";
    let blob = "é".repeat(300_000);
    let done = run(
        app,
        &cx,
        &wf,
        json!({ "id": "../admin", "name": name, "note": note, "blob": blob }),
    )
    .await;
    assert_eq!(done["status"], "succeeded", "{}", done["error"]);
    let seen = cx.upstream.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/users/..%2Fadmin/profile");
    assert!(
        seen[0].query.as_deref().unwrap().starts_with(
            "note=line1%0Aline2%20%5C%20%F0%9F%98%80%20%24%7Binput.name%7D%20%26x%3D1%23frag"
        ),
        "{:?}",
        seen[0].query
    );
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body.as_object().unwrap().len(), 3, "no new keys");
    assert_eq!(body["name"], name);
    assert_eq!(body["note"], format!("Note: {note}"));
    assert_eq!(body["blob"].as_str().unwrap().len(), blob.len());

    // A value that would move the path, or break a header, fails the step before sending.
    let wf = workflow(
        app,
        &cx,
        "Hostile 2",
        vec![step(
            "get_user",
            &c,
            "GET",
            "/users/${input.id}",
            "",
            json!({}),
        )],
    )
    .await;
    let done = run(app, &cx, &wf, json!({ "id": ".." })).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["error"].as_str().unwrap().contains("out of its place"),
        "{done}"
    );
    assert!(cx.upstream.take().is_empty());
}

async fn retries_honour_retry_after_and_stop_on_client_errors(app: &TestApp) {
    let cx = ctx(app).await;
    let c = connector(app, &cx, "Api", "", json!({"type": "none"})).await;
    let cont = json!({ "continue_on_failure": true });
    let wf = workflow(
        app,
        &cx,
        "Retries",
        vec![
            step("limited", &c, "GET", "/limited", "", cont.clone()),
            step("flaky", &c, "GET", "/flaky/2", "", cont.clone()),
            step("missing", &c, "GET", "/status/404", "", cont.clone()),
            step(
                "down",
                &c,
                "GET",
                "/status/503",
                "",
                json!({ "attempts": 2, "continue_on_failure": true }),
            ),
        ],
    )
    .await;
    let started = Instant::now();
    let done = run(app, &cx, &wf, json!({})).await;
    let steps = done["steps"].as_array().unwrap();
    assert_eq!(steps[0]["status"], "succeeded");
    assert_eq!(steps[0]["attempts"], 2, "429 retried");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(steps[1]["status"], "succeeded");
    assert_eq!(steps[1]["attempts"], 3, "503 twice, then 200");
    assert_eq!(steps[2]["status"], "failed");
    assert_eq!(steps[2]["attempts"], 1, "404 is not retried");
    assert_eq!(steps[2]["error"], "The API answered 404 Not Found.");
    assert_eq!(steps[3]["attempts"], 2);
    assert_eq!(
        done["status"], "succeeded",
        "every failing step continues on failure"
    );
    let seen = cx.upstream.take();
    assert_eq!(seen.iter().filter(|s| s.path == "/limited").count(), 2);
    assert_eq!(seen.iter().filter(|s| s.path == "/flaky/2").count(), 3);
    assert_eq!(seen.iter().filter(|s| s.path == "/status/404").count(), 1);
    assert_eq!(seen.iter().filter(|s| s.path == "/status/503").count(), 2);
}

/// The connector's limit counts requests in flight: a step waiting to retry gives its place up.
/// With one request at a time to the connector, another run's step goes out while the first
/// run's step waits out a `Retry-After: 1`, not after it.
#[tokio::test]
async fn a_step_waiting_to_retry_does_not_hold_its_place_under_the_connectors_limit() {
    let app = TestApp::spawn_tuned(|runner| runner.per_connector = 1).await;
    let cx = ctx(&app).await;
    let c = connector(&app, &cx, "Api", "", json!({"type": "none"})).await;
    let backs_off = step("limited", &c, "GET", "/limited", "", json!({}));
    let backs_off = workflow(&app, &cx, "Backs off", vec![backs_off]).await;
    let quick = workflow(
        &app,
        &cx,
        "Quick",
        vec![step("quick", &c, "GET", "/quick", "", json!({}))],
    )
    .await;

    let first = start_run(&app, &cx, &backs_off, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while cx.upstream.seen().is_empty() {
        assert!(Instant::now() < deadline, "the first step was not sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = start_run(&app, &cx, &quick, json!({})).await;
    let quick_done = wait(&app, &cx, &second).await;
    let first_done = wait(&app, &cx, &first).await;
    let seen: Vec<String> = cx.upstream.take().into_iter().map(|s| s.path).collect();

    assert_eq!(quick_done["status"], "succeeded", "{quick_done}");
    assert_eq!(first_done["status"], "succeeded", "{first_done}");
    assert_eq!(first_done["steps"][0]["attempts"], 2, "429, then 200");
    assert_eq!(seen, ["/limited", "/quick", "/limited"]);
    app.stop().await;
}

/// A URL encoded for the mock's `/redirect?to=`: a step's path may not hold a full URL, but a
/// query value may.
fn as_query_value(url: String) -> String {
    url.replace(':', "%3A").replace('/', "%2F")
}

async fn timeouts_and_redirects_are_enforced(app: &TestApp) {
    let cx = ctx(app).await;
    let other = Upstream::start().await;
    // A secret header too: like the authentication, it stays on the connector's origin.
    let c = connector_with(
        app,
        &cx,
        "Api",
        "/v1",
        json!({"type": "bearer", "token": "tok-redirect-1"}),
        json!([ { "key": "X-Tenant-Key", "value": "tk-redirect-2", "secret": true } ]),
    )
    .await;
    let elsewhere = as_query_value(other.base_url("/landing"));
    let here = as_query_value(cx.upstream.base_url("/v1/landing"));
    let follow = json!({ "follow_redirects": true, "continue_on_failure": true });
    let wf = workflow(
        app,
        &cx,
        "Edges",
        vec![
            step(
                "slow",
                &c,
                "GET",
                "/slow/10000",
                "",
                json!({ "timeout_seconds": 1, "attempts": 1, "continue_on_failure": true }),
            ),
            step(
                "away",
                &c,
                "GET",
                &format!("/redirect?to={elsewhere}"),
                "",
                follow.clone(),
            ),
            step(
                "home",
                &c,
                "GET",
                &format!("/redirect?to={here}"),
                "",
                follow,
            ),
            step(
                "unfollowed",
                &c,
                "GET",
                &format!("/redirect?to={elsewhere}"),
                "",
                json!({ "continue_on_failure": true }),
            ),
            step(
                "metadata",
                &c,
                "GET",
                "/redirect?to=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data",
                "",
                json!({ "follow_redirects": true, "continue_on_failure": true }),
            ),
        ],
    )
    .await;
    let done = run(app, &cx, &wf, json!({})).await;
    let steps = done["steps"].as_array().unwrap();
    assert_eq!(steps[0]["status"], "failed");
    assert!(
        steps[0]["error"].as_str().unwrap().contains("timed out"),
        "{}",
        steps[0]
    );
    // The step's own time (the upstream answers after 10 s), not the whole run's: five steps and
    // their writes on a busy debug build leave too little of a bound on the run.
    let took = steps[0]["duration_ms"].as_i64().unwrap();
    assert!(
        (900..5_000).contains(&took),
        "the 1-s timeout held: the step took {took} ms"
    );
    assert_eq!(steps[1]["status"], "succeeded", "{}", steps[1]);
    assert_eq!(steps[2]["status"], "succeeded", "{}", steps[2]);
    assert_eq!(steps[3]["status"], "failed");
    assert_eq!(steps[3]["error"], "The API answered 302 Found.");
    assert_eq!(steps[4]["status"], "failed");
    assert!(
        steps[4]["error"]
            .as_str()
            .unwrap()
            .contains("blocked by the network policy: 169.254.169.254"),
        "a redirect to the metadata address is refused: {}",
        steps[4]
    );
    let landed = other.take();
    assert_eq!(landed.len(), 1, "followed once, to the other origin");
    assert_eq!(
        landed[0].header("authorization"),
        None,
        "credentials stay on the connector's origin"
    );
    assert_eq!(
        landed[0].header("x-tenant-key"),
        None,
        "so do secret headers"
    );
    assert!(
        steps[1]["request"]["headers"]["X-Tenant-Key"] == "••••••",
        "the run shows the secret header masked: {}",
        steps[1]["request"]
    );
    let home = cx
        .upstream
        .take()
        .into_iter()
        .filter(|s| s.path == "/v1/landing")
        .collect::<Vec<_>>();
    assert_eq!(home.len(), 1);
    assert_eq!(
        home[0].header("authorization"),
        Some("Bearer tok-redirect-1")
    );
    assert_eq!(home[0].header("x-tenant-key"), Some("tk-redirect-2"));
}

async fn a_redirect_echoing_the_query_key_does_not_carry_it_off_the_origin(app: &TestApp) {
    let cx = ctx(app).await;
    let other = Upstream::start().await;
    let c = connector(
        app,
        &cx,
        "Keyed",
        "/v1",
        json!({"type": "query", "param_name": "apiKey", "api_key": "qk-redirect-7c1d"}),
    )
    .await;
    // The upstream's redirect keeps the request's query, the key included, in its Location.
    let follow = json!({ "follow_redirects": true, "continue_on_failure": true });
    let wf = workflow(
        app,
        &cx,
        "Echoed",
        vec![
            step(
                "away",
                &c,
                "GET",
                &format!(
                    "/redirect?to={}",
                    as_query_value(other.base_url("/landing"))
                ),
                "",
                follow.clone(),
            ),
            step(
                "home",
                &c,
                "GET",
                &format!(
                    "/redirect?to={}",
                    as_query_value(cx.upstream.base_url("/v1/landing"))
                ),
                "",
                follow,
            ),
        ],
    )
    .await;
    let done = run(app, &cx, &wf, json!({})).await;
    let steps = done["steps"].as_array().unwrap();
    assert_eq!(steps[0]["status"], "succeeded", "{}", steps[0]);
    assert_eq!(steps[1]["status"], "succeeded", "{}", steps[1]);
    let sent = cx.upstream.take();
    let first = sent.iter().find(|s| s.path == "/v1/redirect").unwrap();
    assert!(
        first
            .query
            .as_deref()
            .unwrap()
            .ends_with("&apiKey=qk-redirect-7c1d"),
        "the key went to the connector: {:?}",
        first.query
    );
    let landed = other.take();
    assert_eq!(landed.len(), 1, "followed once, to the other origin");
    assert_eq!(
        landed[0].query, None,
        "the echoed key is not carried to another origin"
    );
    // On the connector's origin the key is sent once, not once echoed and once added.
    let home: Vec<_> = sent.iter().filter(|s| s.path == "/v1/landing").collect();
    assert_eq!(home.len(), 1);
    assert_eq!(home[0].query.as_deref(), Some("apiKey=qk-redirect-7c1d"));
}

async fn failures_name_the_step_and_later_steps_see_earlier_outputs(app: &TestApp) {
    let cx = ctx(app).await;
    let c = connector(
        app,
        &cx,
        "Api",
        "/v1",
        json!({"type": "header", "header_name": "X-Api-Key", "api_key": "echo-secret-5e2a"}),
    )
    .await;
    let wf = workflow(
        app,
        &cx,
        "Chain",
        vec![
            step("lookup", &c, "GET", "/lookup", "", json!({})),
            step(
                "echo",
                &c,
                "POST",
                "/users/${steps.lookup.body.id}/echo",
                r#"{"from": "${steps.lookup.status}", "wf": "${workflow.name}"}"#,
                json!({}),
            ),
            step(
                "missing",
                &c,
                "GET",
                "/users/${input.resource.email}",
                "",
                json!({}),
            ),
            step("never", &c, "GET", "/never", "", json!({})),
        ],
    )
    .await;
    let done = run(app, &cx, &wf, json!({ "resource": { "username": "ada" } })).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(
        done["error"],
        "Step 3 “missing” failed: input.resource.email is not in the trigger input: input.resource has no field \"email\"."
    );
    let steps = done["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "the run stops at the failing step");
    let seen = cx.upstream.take();
    assert_eq!(seen[1].path, "/v1/users/up-1/echo");
    assert_eq!(
        serde_json::from_str::<Value>(&seen[1].body).unwrap(),
        json!({ "from": 200, "wf": "Chain" })
    );
    // The upstream echoed the API key back: the stored response has it redacted.
    let echoed = steps[1]["response"]["body"].as_str().unwrap();
    assert!(echoed.contains("[REDACTED]"), "{echoed}");
    assert!(!done.to_string().contains("echo-secret-5e2a"));

    // A disabled connector fails its steps at run time: at once, though the last run loaded
    // it a moment ago (an edit through this process drops the copy runs use).
    let disabled = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/connectors/{c}"),
        Some(json!({
            "name": "Api", "enabled": false, "base_url": cx.upstream.base_url("/v1"),
            "auth": {"type": "header", "header_name": "X-Api-Key"},
        })),
    )
    .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let done = run(app, &cx, &wf, json!({})).await;
    assert_eq!(
        done["error"],
        "Step 1 “lookup” failed: connector “Api” is disabled; enable it in Settings › Connectors."
    );
}

async fn runs_are_listed_filtered_and_guarded(app: &TestApp) {
    let cx = ctx(app).await;
    let c = connector(app, &cx, "Api", "", json!({"type": "none"})).await;
    let ok = workflow(
        app,
        &cx,
        "Ok",
        vec![step("a", &c, "GET", "/a", "", json!({}))],
    )
    .await;
    let bad = workflow(
        app,
        &cx,
        "Bad",
        vec![step("b", &c, "GET", "/status/400", "", json!({}))],
    )
    .await;
    let first = run(app, &cx, &ok, json!({})).await;
    run(app, &cx, &bad, json!({})).await;
    // Without a body, the trigger's sample input is used.
    let started = send(
        app,
        &cx.key,
        "POST",
        &format!("/api/v2/workflows/{ok}/runs"),
        None,
    )
    .await;
    assert_eq!(started.status, 202, "{}", started.text);
    let sampled = wait(app, &cx, started.body["id"].as_str().unwrap()).await;
    assert_eq!(
        sampled["input"],
        json!({ "resource": { "username": "ada", "id": "u1" } })
    );
    assert!(
        first["started_by"]
            .as_str()
            .unwrap()
            .starts_with("api key "),
        "{}",
        first["started_by"]
    );
    assert_eq!(first["workflow_name"], "Ok");

    let list = |query: &str| {
        let key = cx.key.clone();
        let query = query.to_owned();
        async move {
            send(
                app,
                &key,
                "GET",
                &format!("/api/v2/workflows/runs{query}"),
                None,
            )
            .await
        }
    };
    assert_eq!(list("").await.body.as_array().unwrap().len(), 3);
    let failed = list("?status=failed").await;
    assert_eq!(failed.body.as_array().unwrap().len(), 1);
    assert_eq!(failed.body[0]["workflow_name"], "Bad");
    let by_workflow = send(
        app,
        &cx.key,
        "GET",
        &format!("/api/v2/workflows/runs?workflow_id={ok}"),
        None,
    )
    .await;
    assert_eq!(by_workflow.body.as_array().unwrap().len(), 2);
    assert_eq!(list("?status=bogus").await.status, 400);
    assert_eq!(list("?limit=1").await.body.as_array().unwrap().len(), 1);
    // Paging one at a time with the last run's queued_at and id lists all three, in order.
    let everything = list("").await.body;
    let mut paged = Vec::new();
    let mut next = "?limit=1".to_owned();
    while let Some(run) = list(&next).await.body.as_array().unwrap().first().cloned() {
        next = format!(
            "?limit=1&before={}&before_id={}",
            run["queued_at"],
            run["id"].as_str().unwrap()
        );
        paged.push(run);
    }
    assert_eq!(json!(paged), everything);
    assert_eq!(
        list("?within_hours=1").await.body.as_array().unwrap().len(),
        3
    );
    let old = send(
        app,
        &cx.key,
        "GET",
        &format!("/api/v2/workflows/runs?before={}", first["queued_at"]),
        None,
    )
    .await;
    assert_eq!(
        old.body,
        json!([]),
        "nothing was queued before the first run"
    );
    let none = send(app, &cx.key, "GET", "/api/v2/workflows/runs/nope", None).await;
    assert_eq!(none.status, 404);
    let unknown = send(app, &cx.key, "POST", "/api/v2/workflows/nope/runs", None).await;
    assert_eq!(unknown.status, 404);
    let junk = app
        .client
        .post(app.url(&format!("/api/v2/workflows/{ok}/runs")))
        .header("x-api-key", &cx.key)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), 400);
    let mut deep = json!({});
    for _ in 0..64 {
        deep = json!({ "a": deep });
    }
    let nested = send(
        app,
        &cx.key,
        "POST",
        &format!("/api/v2/workflows/{ok}/runs"),
        Some(json!({ "input": deep })),
    )
    .await;
    assert_eq!(nested.status, 400, "{}", nested.text);
    let huge = app
        .client
        .post(app.url(&format!("/api/v2/workflows/{ok}/runs")))
        .header("x-api-key", &cx.key)
        .body(r#"{"input": {"employee_number": 99999999999999999999}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 400);
    let huge: serde_json::Value = huge.json().await.unwrap();
    assert!(
        huge["fields"]["input"]
            .as_str()
            .unwrap()
            .contains("99999999999999999999"),
        "{huge}"
    );
    assert!(
        nested.body["fields"]["input"]
            .as_str()
            .unwrap()
            .starts_with("The input nests objects and arrays 65 levels deep"),
        "{}",
        nested.text
    );

    // A disabled workflow does not run.
    let off = send(
        app,
        &cx.key,
        "GET",
        &format!("/api/v2/workflows/{ok}"),
        None,
    )
    .await;
    let mut body = off.body.clone();
    body["enabled"] = json!(false);
    let saved = send(
        app,
        &cx.key,
        "PUT",
        &format!("/api/v2/workflows/{ok}"),
        Some(body),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    let refused = send(
        app,
        &cx.key,
        "POST",
        &format!("/api/v2/workflows/{ok}/runs"),
        None,
    )
    .await;
    assert_eq!(refused.status, 409);
    assert!(refused.body["error"].as_str().unwrap().contains("disabled"));

    // Read Only reads runs but cannot start one; no key, no runs.
    let made = app
        .call(
            "/api/api_keys/create",
            &[("name", "ro"), ("role", "read_only")],
            Some(&cx.session),
        )
        .await;
    let ro = made.body["key"].as_str().unwrap().to_owned();
    assert_eq!(
        send(app, &ro, "GET", "/api/v2/workflows/runs", None)
            .await
            .status,
        200
    );
    assert_eq!(
        send(
            app,
            &ro,
            "POST",
            &format!("/api/v2/workflows/{bad}/runs"),
            None
        )
        .await
        .status,
        403
    );
    let anonymous = app.get("/api/v2/workflows/runs").await;
    assert_eq!(anonymous.status(), 401);
    // The server functions answer the same.
    let listed = app
        .call_json(
            "/api/runs/list",
            &json!({ "query": { "status": "succeeded" } }),
            &cx.session,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    let started = app
        .call(
            "/api/runs/start",
            &[("workflow_id", &bad), ("input", "{\"x\": 1}")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    let broken = app
        .call(
            "/api/runs/start",
            &[("workflow_id", &bad), ("input", "{x")],
            Some(&cx.session),
        )
        .await;
    assert_eq!(broken.status, 400, "{}", broken.text);
    assert!(
        broken.body["message"]
            .as_str()
            .unwrap_or(&broken.text)
            .contains("not valid JSON")
    );
    // The audit log has the manual runs.
    let audit = app.call("/api/audit/list", &[], Some(&cx.session)).await;
    assert!(audit.text.contains("run.started"), "{}", audit.text);
}

async fn test_this_step_sends_once_and_shows_the_masked_request(app: &TestApp) {
    let cx = ctx(app).await;
    let c = connector(
        app,
        &cx,
        "Api",
        "/v1",
        json!({"type": "bearer", "token": "tok-test-step-3"}),
    )
    .await;
    let test = |path: &str| {
        json!({ "test": {
            "workflow_id": null,
            "workflow_name": "Unsaved",
            "trigger": { "type": "manual", "sample_input": { "resource": { "username": "ada" } } },
            "step": step("try", &c, "POST", path, r#"{"u": "${input.resource.username}"}"#, json!({})),
        }})
    };
    let tried = app
        .call_json("/api/runs/test_step", &test("/echo"), &cx.session)
        .await;
    assert_eq!(tried.status, 200, "{}", tried.text);
    assert_eq!(tried.body["error"], Value::Null);
    assert_eq!(tried.body["request"]["method"], "POST");
    assert_eq!(
        tried.body["request"]["headers"]["Authorization"],
        "Bearer ••••••"
    );
    assert_eq!(tried.body["request"]["body"], r#"{"u":"ada"}"#);
    assert_eq!(tried.body["response"]["status"], 200);
    assert!(!tried.text.contains("tok-test-step-3"), "{}", tried.text);
    assert!(
        tried.body["response"]["body"]
            .as_str()
            .unwrap()
            .contains("[REDACTED]")
    );
    let seen = cx.upstream.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer tok-test-step-3")
    );

    // One attempt only, even against a failing API; the failure is shown, not thrown.
    let failing = app
        .call_json("/api/runs/test_step", &test("/status/503"), &cx.session)
        .await;
    assert_eq!(failing.status, 200);
    assert_eq!(
        failing.body["error"],
        "The API answered 503 Service Unavailable."
    );
    assert_eq!(cx.upstream.take().len(), 1);
    // The audit entry names the connector and where the request went, and the workflow as
    // stored: a name the caller makes up is not credited (this one does not exist).
    let claimed = json!({ "test": {
        "workflow_id": "no-such-workflow",
        "workflow_name": "Payroll sync",
        "trigger": { "type": "manual" },
        "step": step("try", &c, "GET", "/echo", "", json!({})),
    }});
    let tried = app
        .call_json("/api/runs/test_step", &claimed, &cx.session)
        .await;
    assert_eq!(tried.status, 200, "{}", tried.text);
    cx.upstream.take();
    let audit = app
        .call(
            "/api/audit/list",
            &[("action", "step.tested")],
            Some(&cx.session),
        )
        .await;
    let newest = &audit.body["entries"][0];
    assert_eq!(newest["target"], "(unsaved workflow)", "{}", audit.text);
    let detail: Value = serde_json::from_str(newest["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["connector"], "Api");
    assert_eq!(detail["connector_id"], c.as_str());
    assert_eq!(detail["method"], "GET");
    assert!(
        detail["url"].as_str().unwrap().ends_with("/v1/echo"),
        "{detail}"
    );
    assert_eq!(detail["workflow_id"], Value::Null);
    assert!(!audit.text.contains("Payroll sync"), "{}", audit.text);
    assert!(!audit.text.contains("tok-test-step-3"), "{}", audit.text);
}

/// A webhook client that hangs up while its run is being queued drops the request's future
/// mid-await. The run was written and claimed for a free worker: it must still be handed over
/// at once (not after its lease runs out), and the worker must not stay promised to it.
async fn runs_queued_by_callers_that_went_away_still_run_at_once(app: &TestApp) {
    let cx = ctx(app).await;
    let api = connector(app, &cx, "Quick", "/api", json!({ "type": "none" })).await;
    let id = workflow(
        app,
        &cx,
        "Abandoned",
        vec![step("ping", &api, "POST", "/ping", "{}", json!({}))],
    )
    .await;
    let record = app.store.workflow(&id).await.unwrap().unwrap();
    let started = Instant::now();
    // More abandoned calls than workers (2): a leaked promise would stop the later ones.
    for _ in 0..6 {
        let run = switchboard::runs::new_run(&record, &json!({}), "test").unwrap();
        // Polled once (the write reaches the writer), then dropped.
        let _ = tokio::time::timeout(Duration::ZERO, app.runs.queue("manual", run)).await;
    }
    let finished = loop {
        let runs = app
            .store
            .runs(&switchboard::storage::RunFilter {
                workflow_id: Some(id.clone()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        if runs.len() == 6 && runs.iter().all(|r| r.status == "succeeded") {
            break runs;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "abandoned runs did not finish: {:?}",
            runs.iter().map(|r| &r.status).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        finished.iter().all(|r| r.claims == 1),
        "each ran on its first claim, none waited for a lease to run out"
    );
    // The workers are free again: a run started normally finishes too.
    let done = run(app, &cx, &id, json!({})).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(cx.upstream.take().len(), 7);
}

/// A secret header named in the connector's headers but missing from its ciphertext (a partial
/// restore, a hand edit): the step fails saying what to do, and nothing is sent without it.
async fn a_secret_header_missing_from_the_store_stops_the_step(app: &TestApp) {
    let cx = ctx(app).await;
    let id = connector_with(
        app,
        &cx,
        "Tenant",
        "/v1",
        json!({"type": "none"}),
        json!([ { "key": "X-Tenant-Key", "value": "tk-missing-1", "secret": true } ]),
    )
    .await;
    let row = app.store.connector(&id).await.unwrap().unwrap();
    let lost = switchboard::storage::ConnectorWrite {
        name: row.name.clone(),
        name_key: row.name.to_lowercase(),
        enabled: row.enabled,
        base_url: row.base_url.clone(),
        auth_settings: row.auth_settings.clone(),
        secret: None,
        headers: row.headers.clone(),
        header_secrets: None,
    };
    app.store.update_connector(&id, &lost).await.unwrap();
    let wf = workflow(
        app,
        &cx,
        "Missing secret",
        vec![step("call", &id, "GET", "/me", "", json!({}))],
    )
    .await;
    let done = run(app, &cx, &wf, json!({})).await;
    assert_eq!(done["steps"][0]["status"], "failed", "{done}");
    assert!(
        done["steps"][0]["error"]
            .as_str()
            .unwrap()
            .contains("missing a stored secret"),
        "{done}"
    );
    assert!(cx.upstream.take().is_empty(), "nothing was sent without it");
}

/// A brief database fault under a run (a failover, the pool's timeout under load) neither fails
/// the run nor sends a step again: the step's record and the run's end are written once the
/// database answers. SQLite only: the fault is a trigger that refuses step records for a moment.
#[tokio::test]
async fn a_brief_database_fault_neither_fails_a_run_nor_sends_a_step_twice() {
    let app = TestApp::spawn().await;
    let cx = ctx(&app).await;
    let api = connector(&app, &cx, "Api", "/v1", json!({"type": "none"})).await;
    // The first step's record, written as the second starts, is refused for a moment.
    let two = workflow(
        &app,
        &cx,
        "Two steps",
        vec![
            step("first", &api, "POST", "/one", "{}", json!({})),
            step("second", &api, "POST", "/two", "{}", json!({})),
        ],
    )
    .await;
    let (run, seen) = run_through_a_fault(&app, &cx, &two).await;
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/v1/one", "/v1/two"], "each step sent once");
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{run}");
    assert!(steps.iter().all(|s| s["status"] == "succeeded"), "{run}");

    // The run's end, written with its only step's record, is refused for a moment.
    let one = workflow(
        &app,
        &cx,
        "One step",
        vec![step("only", &api, "POST", "/three", "{}", json!({}))],
    )
    .await;
    let (_, seen) = run_through_a_fault(&app, &cx, &one).await;
    assert_eq!(seen.len(), 1, "sent once");
}

/// Runs `workflow` while the database refuses step records, from before the run starts until
/// 300 ms after its first request reaches the upstream; the run, which must have succeeded, and
/// every request the upstream saw.
async fn run_through_a_fault(
    app: &TestApp,
    cx: &Ctx,
    workflow: &str,
) -> (Value, Vec<upstream::Seen>) {
    use sqlx::Connection as _;
    let mut db = sqlx::SqliteConnection::connect(app.db_url()).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER steps_away BEFORE INSERT ON run_steps \
         BEGIN SELECT RAISE(ABORT, 'database away'); END",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let started = send(
        app,
        &cx.key,
        "POST",
        &format!("/api/v2/workflows/{workflow}/runs"),
        Some(json!({ "input": {} })),
    )
    .await;
    assert_eq!(started.status, 202, "{}", started.text);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.is_empty() {
        assert!(Instant::now() < deadline, "the first step was not sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
        seen.extend(cx.upstream.take());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("DROP TRIGGER steps_away")
        .execute(&mut db)
        .await
        .unwrap();
    let run = wait(app, cx, started.body["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    seen.extend(cx.upstream.take());
    (run, seen)
}
