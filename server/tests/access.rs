//! Accounts, sessions, API keys and the role checks, end to end over HTTP, on both backends.

#[macro_use]
mod common;

use app::auth::policy::{Access, REST_ACCESS, SERVER_FN_ACCESS};
use common::TestApp;
use std::collections::BTreeSet;

const ADMIN: &str = "admin@example.com";
const PASSWORD: &str = "correct horse battery";

on_both_backends!(
    every_route_refuses_callers_without_the_role,
    first_run_setup_happens_once,
    racing_setups_create_one_administrator,
    wrong_email_and_wrong_password_look_the_same,
    repeated_failures_are_throttled,
    sign_out_and_password_reset_end_sessions,
    changing_your_own_password_ends_your_other_sessions,
    disabling_an_account_ends_its_sessions,
    the_last_billing_administrator_stays,
    api_keys_work_until_revoked,
    keys_cannot_manage_access_and_stand_behind_their_creator,
    a_change_made_meanwhile_is_refused_not_undone,
    cross_site_changes_are_refused,
    the_audit_log_records_and_exports,
    nul_characters_and_huge_emails_are_bad_input,
    the_csv_export_pages_past_storage_limits_and_says_where_it_stopped,
    rest_errors_are_json_with_a_message,
);

/// Creates a Read Only account through the API and signs it in.
async fn read_only_session(app: &TestApp, admin: &str) -> String {
    let made = app
        .call(
            "/api/accounts/create",
            &[
                ("email", "reader@example.com"),
                ("name", "Reader"),
                ("role", "read_only"),
                ("password", "reader password 1"),
            ],
            Some(admin),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.text);
    app.sign_in("reader@example.com", "reader password 1").await
}

async fn every_route_refuses_callers_without_the_role(app: &TestApp) {
    // The policy table and the registered server functions are the same set: a server function
    // added without a policy entry fails here.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect();
    let listed: BTreeSet<String> = SERVER_FN_ACCESS
        .iter()
        .map(|(p, _)| (*p).to_owned())
        .collect();
    assert_eq!(
        registered, listed,
        "server functions and policy table differ"
    );

    let admin = app.set_up(ADMIN, PASSWORD).await;
    let reader = read_only_session(app, &admin).await;
    let mut checked = 0;
    // Signing out last: it would end the sessions the other checks use.
    let mut routes: Vec<_> = SERVER_FN_ACCESS.iter().collect();
    routes.sort_by_key(|(path, _)| *path == "/api/sign_out");
    for (path, access) in routes {
        let anonymous = app.call(path, &[], None).await;
        let as_reader = app.call(path, &[], Some(&reader)).await;
        match access {
            Access::Public => {
                assert_ne!(anonymous.status, 401, "{path}");
                assert_ne!(anonymous.status, 403, "{path}");
            }
            Access::Signed(permission) => {
                assert_eq!(
                    anonymous.status, 401,
                    "{path} let an anonymous caller in: {}",
                    anonymous.text
                );
                assert_eq!(anonymous.body["kind"], "unauthenticated", "{path}");
                if access.is_change() || !domain::Role::ReadOnly.allows(*permission) {
                    assert_eq!(
                        as_reader.status, 403,
                        "{path} let Read Only in: {}",
                        as_reader.text
                    );
                    assert!(anonymous.status != 500 && as_reader.status != 500);
                } else {
                    assert!(as_reader.status < 500, "{path}: {}", as_reader.text);
                }
                checked += 1;
            }
        }
    }
    // The loop above signed the reader out last.
    let reader = app.sign_in("reader@example.com", "reader password 1").await;
    for (method, pattern, access) in REST_ACCESS {
        let path = pattern.replace("{id}", "some-id");
        let send = |session: Option<&str>| {
            let mut request = app
                .client
                .request(method.parse().unwrap(), app.url(&path))
                .header("origin", format!("http://{}", app.addr))
                .json(&serde_json::json!({}));
            if let Some(session) = session {
                request = request.header("cookie", format!("sb_session={session}"));
            }
            request.send()
        };
        let anonymous = Answer::read(send(None).await.unwrap()).await;
        assert_eq!(
            anonymous.status, 401,
            "{method} {pattern}: {}",
            anonymous.text
        );
        assert!(
            anonymous.body["error"].is_string(),
            "{method} {pattern}: REST error shape"
        );
        if access.is_change() {
            let as_reader = Answer::read(send(Some(&reader)).await.unwrap()).await;
            assert_eq!(as_reader.status, 403, "{method} {pattern} let Read Only in");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} routes checked");
    // Unknown API paths are refused, not passed to a handler.
    assert_eq!(
        app.call("/api/no_such_function", &[], Some(&admin))
            .await
            .status,
        404
    );
}

use common::Answer;

async fn first_run_setup_happens_once(app: &TestApp) {
    let info = app.call("/api/session", &[], None).await;
    assert_eq!(info.body["setup_needed"], true);
    let session = app.set_up(ADMIN, PASSWORD).await;
    let info = app.call("/api/session", &[], Some(&session)).await;
    assert_eq!(info.body["setup_needed"], false);
    assert_eq!(info.body["user"]["email"], ADMIN);
    assert_eq!(info.body["user"]["role"], "administrator_with_billing");

    let again = app
        .call(
            "/api/setup",
            &[
                ("email", "b@example.com"),
                ("name", "B"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(again.session.is_none());

    // Validation names the field and the fix, and is a 400.
    let fresh = TestApp::spawn_on("sqlite").await.unwrap();
    let short = fresh
        .call(
            "/api/setup",
            &[
                ("email", "a@example.com"),
                ("name", "A"),
                ("password", "short"),
                ("password_again", "short"),
            ],
            None,
        )
        .await;
    assert_eq!(short.status, 400);
    assert_eq!(short.body["field"], "password");
    assert!(
        short.body["message"]
            .as_str()
            .unwrap()
            .contains("12 characters")
    );
    fresh.stop().await;
}

async fn racing_setups_create_one_administrator(app: &TestApp) {
    let forms: Vec<_> = (0..4).map(|i| format!("admin{i}@example.com")).collect();
    let calls = forms.iter().map(|email| async move {
        app.call(
            "/api/setup",
            &[
                ("email", email.as_str()),
                ("name", "Racer"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
            None,
        )
        .await
    });
    let answers = futures_join_all(calls).await;
    let won = answers.iter().filter(|a| a.status == 200).count();
    let lost = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!(
        (won, lost),
        (1, 3),
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    assert_eq!(app.store.count_accounts().await.unwrap(), 1);
}

async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    // Start them all before awaiting any.
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(done.into_iter().map(Option::unwrap));
    out
}

async fn wrong_email_and_wrong_password_look_the_same(app: &TestApp) {
    app.set_up(ADMIN, PASSWORD).await;
    let timed = |email: &'static str, password: &'static str| async move {
        let start = std::time::Instant::now();
        let answer = app
            .call(
                "/api/sign_in",
                &[("email", email), ("password", password)],
                None,
            )
            .await;
        (answer, start.elapsed())
    };
    // One call first pays the one-off costs (the blocking pool's thread, first statements). Then
    // each kind twice, alternating, and the faster of each compared: a single sample on a busy
    // 2-core machine can be descheduled for longer than an Argon2 check lasts. (Five failures in
    // all: the throttle lets five through from one address.)
    timed("warm-up@example.com", PASSWORD).await;
    let mut fastest = [std::time::Duration::MAX; 2];
    let mut answers = Vec::new();
    for round in 0..2 {
        for (kind, (email, password)) in [
            (
                ["nobody@example.com", "nobody-else@example.com"][round],
                PASSWORD,
            ),
            (ADMIN, "wrong password here"),
        ]
        .into_iter()
        .enumerate()
        {
            let (answer, took) = timed(email, password).await;
            fastest[kind] = fastest[kind].min(took);
            answers.push(answer);
        }
    }
    let (unknown, wrong) = (&answers[0], &answers[1]);
    assert_eq!(unknown.status, 400);
    for answer in &answers {
        assert_eq!(answer.text, unknown.text);
        assert!(answer.session.is_none());
    }
    assert_eq!(wrong.status, 400);
    // Both run one Argon2 verification: neither is several times faster than the other.
    let (a, b) = (fastest[0].as_secs_f64(), fastest[1].as_secs_f64());
    assert!(
        a.max(b) / a.min(b) < 3.0,
        "unknown email {a:.3}s vs wrong password {b:.3}s (the faster of two each)"
    );
}

async fn repeated_failures_are_throttled(app: &TestApp) {
    app.set_up(ADMIN, PASSWORD).await;
    for _ in 0..5 {
        let answer = app
            .call(
                "/api/sign_in",
                &[("email", ADMIN), ("password", "wrong password here")],
                None,
            )
            .await;
        assert_eq!(answer.status, 400);
    }
    // Even the right password waits now.
    let answer = app
        .call(
            "/api/sign_in",
            &[("email", ADMIN), ("password", PASSWORD)],
            None,
        )
        .await;
    assert_eq!(answer.status, 429, "{}", answer.text);
    assert!(answer.body["retry_after_secs"].as_u64().unwrap() > 0);
    let audit = app.store.list_audit(&Default::default()).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "account.sign_in_throttled")
    );
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "account.sign_in_failed")
            .count(),
        5
    );
}

async fn sign_out_and_password_reset_end_sessions(app: &TestApp) {
    let first = app.set_up(ADMIN, PASSWORD).await;
    let second = app.sign_in(ADMIN, PASSWORD).await;
    let out = app.call("/api/sign_out", &[], Some(&first)).await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(out.session.as_deref(), Some(""), "the cookie is cleared");
    assert_eq!(
        app.call("/api/accounts/list", &[], Some(&first))
            .await
            .status,
        401
    );
    assert_eq!(
        app.call("/api/accounts/list", &[], Some(&second))
            .await
            .status,
        200
    );

    let accounts = app.call("/api/accounts/list", &[], Some(&second)).await;
    let id = accounts.body[0]["id"].as_str().unwrap().to_owned();
    let reset = app
        .call(
            "/api/accounts/reset_password",
            &[("id", &id), ("password", "a brand new password")],
            Some(&second),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(
        app.call("/api/accounts/list", &[], Some(&second))
            .await
            .status,
        401
    );
    app.sign_in(ADMIN, "a brand new password").await;
}

async fn disabling_an_account_ends_its_sessions(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    let reader = read_only_session(app, &admin).await;
    assert_eq!(
        app.call("/api/audit/list", &[], Some(&reader)).await.status,
        200
    );
    let accounts = app.call("/api/accounts/list", &[], Some(&admin)).await;
    let id = accounts
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "reader@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let off = app
        .call(
            "/api/accounts/update",
            &[("id", &id), ("role", "read_only"), ("disabled", "true")],
            Some(&admin),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body["disabled"], true);
    assert_eq!(
        app.call("/api/audit/list", &[], Some(&reader)).await.status,
        401
    );
    let again = app
        .call(
            "/api/sign_in",
            &[
                ("email", "reader@example.com"),
                ("password", "reader password 1"),
            ],
            None,
        )
        .await;
    assert_eq!(again.status, 400, "a disabled account cannot sign in");
}

async fn the_last_billing_administrator_stays(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    let accounts = app.call("/api/accounts/list", &[], Some(&admin)).await;
    let id = accounts.body[0]["id"].as_str().unwrap().to_owned();
    for (role, disabled) in [
        ("administrator", "false"),
        ("read_only", "false"),
        ("administrator_with_billing", "true"),
    ] {
        let refused = app
            .call(
                "/api/accounts/update",
                &[("id", &id), ("role", role), ("disabled", disabled)],
                Some(&admin),
            )
            .await;
        assert_eq!(refused.status, 409, "{role}/{disabled}: {}", refused.text);
        assert!(refused.body[0].is_null());
    }
    // With a second billing administrator the first may step down.
    let made = app
        .call(
            "/api/accounts/create",
            &[
                ("email", "two@example.com"),
                ("name", "Two"),
                ("role", "administrator_with_billing"),
                ("password", PASSWORD),
            ],
            Some(&admin),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.text);
    let down = app
        .call(
            "/api/accounts/update",
            &[
                ("id", &id),
                ("role", "administrator"),
                ("disabled", "false"),
            ],
            Some(&admin),
        )
        .await;
    assert_eq!(down.status, 200, "{}", down.text);
    // Now an Administrator: account management is refused.
    assert_eq!(
        app.call("/api/accounts/list", &[], Some(&admin))
            .await
            .status,
        403
    );
}

async fn api_keys_work_until_revoked(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    let created = app
        .call(
            "/api/api_keys/create",
            &[("name", "SIEM export"), ("role", "read_only")],
            Some(&admin),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let key = created.body["key"].as_str().unwrap().to_owned();
    let prefix = created.body["view"]["prefix"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&prefix));

    let me = app.get_with_key("/api/v1/me", &key).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["role"], "read_only");
    assert_eq!(me.body["via"]["prefix"], prefix.as_str());
    // A Read Only key cannot change anything.
    let refused = app
        .client
        .post(app.url("/api/api_keys/create"))
        .header("x-api-key", &key)
        .form(&[("name", "x"), ("role", "administrator")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    // Listed without the key itself.
    let list = app.call("/api/api_keys/list", &[], Some(&admin)).await;
    assert!(!list.text.contains(&key[prefix.len()..]));
    assert_eq!(list.body[0]["name"], "SIEM export");
    assert_eq!(list.body[0]["created_by"], ADMIN);
    assert!(list.body[0]["last_used_at"].is_i64());

    let revoked = app
        .call("/api/api_keys/revoke", &[("prefix", &prefix)], Some(&admin))
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    // A script is told its key stopped working, not asked to sign in.
    for sent in [key.as_str(), "sb_nonsense"] {
        let refused = app.get_with_key("/api/v1/me", sent).await;
        assert_eq!(refused.status, 401);
        assert!(
            refused.body["error"]
                .as_str()
                .unwrap()
                .starts_with("The API key is not valid: it is mistyped, expired or revoked."),
            "{}",
            refused.text
        );
    }
}

/// Creates bob@example.com with `role` (password `PASSWORD`); his account id.
async fn make_bob(app: &TestApp, admin: &str, role: &str) -> String {
    let made = app
        .call(
            "/api/accounts/create",
            &[
                ("email", "bob@example.com"),
                ("name", "Bob"),
                ("role", role),
                ("password", PASSWORD),
            ],
            Some(admin),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.text);
    made.body["id"].as_str().unwrap().to_owned()
}

async fn keys_cannot_manage_access_and_stand_behind_their_creator(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    let bob_id = make_bob(app, &admin, "administrator_with_billing").await;
    let bob = app.sign_in("bob@example.com", PASSWORD).await;
    let mut keys = Vec::new();
    for role in ["administrator_with_billing", "administrator", "read_only"] {
        let created = app
            .call(
                "/api/api_keys/create",
                &[("name", role), ("role", role)],
                Some(&bob),
            )
            .await;
        assert_eq!(created.status, 200, "{}", created.text);
        keys.push(created.body["key"].as_str().unwrap().to_owned());
    }
    let works = |key: String| async move { app.get_with_key("/api/v1/me", &key).await.status };

    // The top key may do what its role does, but not make keys or accounts.
    let top = &keys[0];
    assert_eq!(works(top.clone()).await, 200);
    for (path, form) in [
        (
            "/api/api_keys/create",
            vec![("name", "heir"), ("role", "administrator_with_billing")],
        ),
        (
            "/api/accounts/create",
            vec![
                ("email", "heir@example.com"),
                ("name", "Heir"),
                ("role", "administrator_with_billing"),
                ("password", PASSWORD),
            ],
        ),
    ] {
        let refused = app
            .client
            .post(app.url(path))
            .header("x-api-key", top)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{path}");
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("API keys cannot manage accounts or API keys"),
            "{path}"
        );
    }
    assert_eq!(app.store.list_api_keys().await.unwrap().len(), 3);

    // Bob steps down to Administrator: his billing key goes, the others stay.
    let update = |role: &'static str, disabled: &'static str| {
        let (admin, bob_id) = (admin.clone(), bob_id.clone());
        async move {
            app.call(
                "/api/accounts/update",
                &[("id", &bob_id), ("role", role), ("disabled", disabled)],
                Some(&admin),
            )
            .await
        }
    };
    let down = update("administrator", "false").await;
    assert_eq!(down.status, 200, "{}", down.text);
    assert_eq!(works(keys[0].clone()).await, 401);
    assert_eq!(works(keys[1].clone()).await, 200);
    assert_eq!(works(keys[2].clone()).await, 200);
    // Disabled: every key he made goes, and the audit entry names them.
    let off = update("administrator", "true").await;
    assert_eq!(off.status, 200, "{}", off.text);
    for key in &keys {
        assert_eq!(works(key.clone()).await, 401);
    }
    let audit = app
        .call(
            "/api/audit/list",
            &[("action", "account.update")],
            Some(&admin),
        )
        .await;
    let revoked: Vec<usize> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let detail: serde_json::Value = match &e["detail"] {
                serde_json::Value::String(text) => serde_json::from_str(text).unwrap(),
                other => other.clone(),
            };
            detail["revoked_api_keys"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(revoked, [2, 1], "newest first: {}", audit.text);
    // The key of the administrator who did it is untouched.
    let own = app
        .call(
            "/api/api_keys/create",
            &[("name", "own"), ("role", "read_only")],
            Some(&admin),
        )
        .await;
    let own = own.body["key"].as_str().unwrap().to_owned();
    assert_eq!(works(own).await, 200);
}

async fn a_change_made_meanwhile_is_refused_not_undone(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    let bob = make_bob(app, &admin, "administrator").await;
    let update =
        |role: &'static str, disabled: &'static str, shown: (&'static str, &'static str)| {
            let (admin, bob) = (admin.clone(), bob.clone());
            async move {
                app.call(
                    "/api/accounts/update",
                    &[
                        ("id", &bob),
                        ("role", role),
                        ("disabled", disabled),
                        ("shown_role", shown.0),
                        ("shown_disabled", shown.1),
                    ],
                    Some(&admin),
                )
                .await
            }
        };
    // One page disables Bob.
    let off = update("administrator", "true", ("administrator", "false")).await;
    assert_eq!(off.status, 200, "{}", off.text);
    // Another, opened before, makes him Read Only: it would also have re-enabled him.
    let stale = update("read_only", "false", ("administrator", "false")).await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert!(
        stale.text.contains("it is now Administrator, disabled"),
        "{}",
        stale.text
    );
    let accounts = app.call("/api/accounts/list", &[], Some(&admin)).await;
    let now = accounts
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == bob.as_str())
        .unwrap();
    assert_eq!(now["disabled"], true);
    assert_eq!(now["role"], "administrator");
    // From the page as it is now, the change goes through.
    let fresh = update("read_only", "true", ("administrator", "true")).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    assert_eq!(fresh.body["role"], "read_only");
}

async fn cross_site_changes_are_refused(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    let forged = app
        .client
        .post(app.url("/api/api_keys/create"))
        .header("origin", "http://evil.example")
        .header("cookie", format!("sb_session={admin}"))
        .form(&[("name", "x"), ("role", "administrator")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let no_origin = app
        .client
        .post(app.url("/api/api_keys/create"))
        .header("cookie", format!("sb_session={admin}"))
        .form(&[("name", "x"), ("role", "administrator")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 403);
    assert!(app.store.list_api_keys().await.unwrap().is_empty());

    // Without a cookie: another site's form cannot sign its visitor in to an account it chose
    // (login CSRF). A client that names no origin (a script) still signs in.
    let sign_in = |origin: Option<String>| {
        let mut request = app.client.post(app.url("/api/sign_in"));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request
            .form(&[("email", ADMIN), ("password", PASSWORD)])
            .send()
    };
    let forged = sign_in(Some("http://evil.example".into())).await.unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("set-cookie").is_none());
    let ours = sign_in(Some(format!("http://{}", app.addr))).await.unwrap();
    assert_eq!(ours.status(), 200);
    assert!(ours.headers().get("set-cookie").is_some());
    let script = sign_in(None).await.unwrap();
    assert_eq!(script.status(), 200);
}

async fn the_audit_log_records_and_exports(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    read_only_session(app, &admin).await;
    let page = app.call("/api/audit/list", &[], Some(&admin)).await;
    let actions: Vec<&str> = page.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["account.sign_in", "account.create", "account.setup"],
        "newest first"
    );
    let filtered = app
        .call(
            "/api/audit/list",
            &[("action", "account.create")],
            Some(&admin),
        )
        .await;
    assert_eq!(filtered.body["entries"].as_array().unwrap().len(), 1);
    let by_actor = app
        .call(
            "/api/audit/list",
            &[("actor", "reader@example.com")],
            Some(&admin),
        )
        .await;
    assert_eq!(by_actor.body["entries"][0]["action"], "account.sign_in");

    let csv = app
        .client
        .get(app.url("/api/v1/audit-log.csv?action=account.create"))
        .header("cookie", format!("sb_session={admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id,occurred_at_utc,actor,action,target,detail,ip");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].contains("admin@example.com,account.create,reader@example.com"));
}

async fn changing_your_own_password_ends_your_other_sessions(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    let other = app.sign_in(ADMIN, PASSWORD).await;
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let admin = admin.clone();
        async move {
            app.call(
                "/api/account/change_password",
                &[
                    ("current_password", current),
                    ("new_password", new),
                    ("new_password_again", again),
                ],
                Some(&admin),
            )
            .await
        }
    };
    let wrong = change(
        "not my password",
        "a new long password",
        "a new long password",
    )
    .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.body["field"], "current_password");
    let mismatch = change(PASSWORD, "a new long password", "a new long passwort").await;
    assert_eq!(mismatch.body["field"], "new_password");

    let changed = change(PASSWORD, "a new long password", "a new long password").await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let fresh = changed.session.expect("a fresh session for this browser");
    for old in [&admin, &other] {
        assert_eq!(
            app.call("/api/audit/list", &[], Some(old)).await.status,
            401
        );
    }
    let audit = app.call("/api/audit/list", &[], Some(&fresh)).await;
    assert_eq!(audit.status, 200);
    assert_eq!(
        audit.body["entries"][0]["action"],
        "account.change_password"
    );
    app.sign_in(ADMIN, "a new long password").await;
}

/// PostgreSQL cannot store a NUL in text: refused up front as bad input (400), never a 500, on
/// either backend; and a sign-in records at most 254 characters of whatever email was typed.
async fn nul_characters_and_huge_emails_are_bad_input(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    // Anonymous, a form body: `email=a%00b`.
    let signed = app
        .call(
            "/api/sign_in",
            &[("email", "a\0b@example.com"), ("password", "x")],
            None,
        )
        .await;
    assert_eq!(signed.status, 400, "{}", signed.text);
    assert!(signed.text.contains("NUL character"), "{}", signed.text);
    // A JSON body, a path and a query.
    let saved = app
        .call_json(
            "/api/connectors/save",
            &serde_json::json!({"id": null, "input": {"name": "a\u{0}", "base_url": "https://api.example.com"}}),
            &admin,
        )
        .await;
    assert_eq!(saved.status, 400, "{}", saved.text);
    for path in ["/api/v2/connectors/%00", "/api/v2/workflows?search=%00"] {
        let got = app
            .client
            .get(app.url(path))
            .header("cookie", format!("sb_session={admin}"))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 400, "{path}");
        let body: serde_json::Value = got.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("NUL"), "{body}");
    }
    // An escaped backslash before `u0000` is not a NUL: this save fails on its own merits.
    let escaped = app
        .call_json(
            "/api/connectors/save",
            &serde_json::json!({"id": null, "input": {"name": "a\\u0000", "base_url": "not a url"}}),
            &admin,
        )
        .await;
    assert!(!escaped.text.contains("NUL"), "{}", escaped.text);
    // The route decides how a body is read, not the content type the caller names: JSON sent as
    // a form (curl -d's default), a form sent as text, are checked as what they are.
    let sent_as = |path: &'static str, content_type: &'static str, body: &'static str| {
        let admin = admin.clone();
        async move {
            let response = app
                .client
                .post(app.url(path))
                .header("cookie", format!("sb_session={admin}"))
                .header("origin", app.url(""))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let form = "application/x-www-form-urlencoded";
    let (status, text) = sent_as("/api/v2/workflows", form, r#"{"name": "a\u0000"}"#).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("NUL"), "{text}");
    let (status, text) = sent_as(
        "/api/api_keys/create",
        "text/plain",
        "name=a%00&role=read_only",
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("NUL"), "{text}");
    assert!(app.store.list_api_keys().await.unwrap().is_empty());
    // A JSON string is still a form to a form route, and the `%00` in it a NUL (it gave a
    // PostgreSQL 500 when the gate went by what the body looked like).
    let (status, text) = sent_as(
        "/api/audit/list",
        "application/json",
        r#""x=&actor=a%00&y=""#,
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("NUL"), "{text}");
    // `%00` inside JSON is text, not a NUL: this one fails on its own merits (no trigger).
    let (status, text) = sent_as("/api/v2/workflows", form, r#"{"name": "100%00 sure"}"#).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("missing field `trigger`"), "{text}");
    // A page's save over the limit: an error the page can read, saying what to do.
    let too_big = app
        .call_json(
            "/api/workflows/save",
            &serde_json::json!({"id": "x", "version": 1, "input": {"name": "x".repeat(3 * 1024 * 1024)}}),
            &admin,
        )
        .await;
    assert_eq!(
        too_big.status,
        413,
        "{}",
        &too_big.text[..200.min(too_big.text.len())]
    );
    assert_eq!(too_big.body["kind"], "invalid", "{}", too_big.text);
    assert!(
        too_big.body["message"]
            .as_str()
            .unwrap()
            .contains("larger than 2048 KiB"),
        "{}",
        too_big.text
    );
    // A REST body over the limit: 413 in the REST error shape.
    let huge_body = app
        .client
        .post(app.url("/api/v2/connectors"))
        .header("cookie", format!("sb_session={admin}"))
        .header("origin", app.url(""))
        .header("content-type", "application/json")
        .body(format!(r#"{{"name": "{}"}}"#, "x".repeat(3 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge_body.status(), 413);
    let body: serde_json::Value = huge_body.json().await.unwrap();
    assert_eq!(body["kind"], "too_large", "{body}");
    assert_eq!(body["fields"], serde_json::json!({}));
    assert!(
        body["error"].as_str().unwrap().contains("2048 KiB"),
        "{body}"
    );

    // A 100,000-character email is answered as any wrong one. What is not an email address (too
    // long, or a password typed in the wrong box) is not shown in the audit log, which every role
    // reads; a mistyped address is.
    let huge = format!("{}@example.com", "a".repeat(100_000));
    for email in [huge.as_str(), "Tr0ub4dor&3", "nobody@example.com"] {
        let wrong = app
            .call("/api/sign_in", &[("email", email), ("password", "x")], None)
            .await;
        assert_eq!(wrong.status, 400, "{}", wrong.text);
        assert!(!wrong.text.contains("NUL"), "{}", wrong.text);
    }
    let page = app
        .call(
            "/api/audit/list",
            &[("action", "account.sign_in_failed")],
            Some(&admin),
        )
        .await;
    let targets: Vec<&str> = page.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "nobody@example.com",
            "(not an email address)",
            "(not an email address)"
        ],
        "{}",
        page.text
    );
}

/// Storage lists 1,000 entries at a time: an export reads page after page up to its 10,000 rows,
/// and names in `x-switchboard-more-before` where the next export (`?before_id=`) goes on.
async fn the_csv_export_pages_past_storage_limits_and_says_where_it_stopped(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    let entry = |n: usize| switchboard::storage::NewAuditEntry {
        actor: "bulk@example.com".into(),
        action: "test.bulk".into(),
        target: Some(format!("t{n}")),
        detail: None,
        ip: None,
    };
    let mut adds = tokio::task::JoinSet::new();
    for chunk in 0..8 {
        let store = app.store.clone();
        adds.spawn(async move {
            for n in (chunk..10_050).step_by(8) {
                store.append_audit(&entry(n)).await.unwrap();
            }
        });
    }
    adds.join_all().await;
    let export = |query: String| {
        let admin = admin.clone();
        async move {
            let got = app
                .client
                .get(app.url(&format!("/api/v1/audit-log.csv?action=test.bulk{query}")))
                .header("cookie", format!("sb_session={admin}"))
                .send()
                .await
                .unwrap();
            assert_eq!(got.status(), 200);
            let more = got
                .headers()
                .get("x-switchboard-more-before")
                .map(|v| v.to_str().unwrap().to_owned());
            let text = got.text().await.unwrap();
            let ids: Vec<i64> = text
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap().parse().unwrap())
                .collect();
            (ids, more)
        }
    };
    let (first, more) = export(String::new()).await;
    assert_eq!(first.len(), 10_000);
    assert!(
        first.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    let more = more.expect("older entries are left");
    assert_eq!(more, first.last().unwrap().to_string());
    let (rest, none) = export(format!("&before_id={more}")).await;
    assert_eq!(rest.len(), 50);
    assert!(rest[0] < *first.last().unwrap());
    assert_eq!(none, None, "nothing is left after the last rows");
}

/// Every REST error is `{"error": "…", …}`, unreadable queries and addresses included.
async fn rest_errors_are_json_with_a_message(app: &TestApp) {
    let admin = app.set_up(ADMIN, PASSWORD).await;
    for (path, status, says) in [
        ("/api/v2/workflows/runs?limit=abc", 400, "query string"),
        ("/api/v1/audit-log.csv?before_id=x", 400, "query string"),
        ("/api/v2/workflows/%FF", 400, "address"),
    ] {
        let got = app
            .client
            .get(app.url(path))
            .header("cookie", format!("sb_session={admin}"))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), status, "{path}");
        let body: serde_json::Value = got.json().await.unwrap();
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{path}: {body}");
    }
    let anonymous = app.get("/api/v1/me").await;
    assert_eq!(anonymous.status(), 401);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
}
