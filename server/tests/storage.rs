//! The storage conformance suite: every test runs unchanged on SQLite and on PostgreSQL.

mod common;

use common::TestDb;
use domain::{EmailAddress, Role};
use std::sync::Arc;
use switchboard::storage::{
    AuditFilter, Backend, ConnectorSecrets, ConnectorUpdate, ConnectorWrite, EventQueued,
    EventToQueue, HOOK_CACHE_FOR, InsertClaim, NewAccount, NewAuditEntry, NewRun, RunFilter,
    RunStepRecord, RunWrite, RunWriter, RunWritten, Store, StoreError, WebhookRecord,
    WorkflowRecord, WorkflowUpdate, WorkflowWrite,
};

/// Declares each suite test twice, once per backend. A PostgreSQL test that cannot reach the
/// server is skipped with a printed notice, unless PostgreSQL is mandatory (see `TestDb`).
macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let db = super::TestDb::sqlite();
                    super::run(&db, super::$test).await;
                    db.remove().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::run(&db, super::$test).await;
                    db.remove().await;
                }
            )*
        }
    };
}

conformance!(
    fresh_database_is_not_ready_until_migrated,
    migrating_twice_is_harmless,
    accounts_round_trip,
    duplicate_email_is_a_conflict,
    audit_lists_newest_first_with_filters,
    audit_pages_backwards,
    connectors_round_trip_and_keep_secrets,
    connector_names_are_unique_without_case,
    connector_search_matches_parts_of_names_literally,
    vault_keys_are_set_up_once,
    runs_are_claimed_once_and_reclaimed_after_their_lease,
    run_writes_share_a_transaction_and_fail_alone_in_the_writer,
    event_batches_queue_all_or_nothing_and_skip_deleted_workflows,
);

/// Two replicas queue batches naming the same event ids in opposite orders, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_event_batches_start_each_event_once_on_sqlite() {
    let db = TestDb::sqlite();
    concurrent_event_batches_start_each_event_once(&db.url).await;
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_event_batches_start_each_event_once_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    concurrent_event_batches_start_each_event_once(&db.url).await;
    db.remove().await;
}

/// Two stores on one database stand for two replicas; the webhook cache is per store.
#[tokio::test]
async fn webhooks_found_by_token_follow_changes_on_sqlite() {
    let db = TestDb::sqlite();
    webhooks_found_by_token_follow_changes(&db.url).await;
    db.remove().await;
}

#[tokio::test]
async fn webhooks_found_by_token_follow_changes_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    webhooks_found_by_token_follow_changes(&db.url).await;
    db.remove().await;
}

async fn run<F, Fut>(db: &TestDb, test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let store = Store::connect(&db.url).await.expect("connect");
    test(store.clone()).await;
    store.close().await;
}

async fn migrated(store: &Store) {
    store.migrate().await.expect("migrate");
}

fn new_account(email: &str, role: Role) -> NewAccount {
    NewAccount {
        email: EmailAddress::parse(email).unwrap(),
        name: "Ada Lovelace".into(),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    }
}

async fn fresh_database_is_not_ready_until_migrated(store: Store) {
    let before = store.readiness().await.unwrap();
    assert!(!before.is_ready());
    // Every migration file is pending, numbered from 1.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite"))
        .unwrap()
        .count();
    let expected: Vec<i64> = (1..=i64::try_from(files).unwrap()).collect();
    assert_eq!(before.pending_migrations, expected);
    migrated(&store).await;
    let after = store.readiness().await.unwrap();
    assert!(after.is_ready(), "{after:?}");
}

async fn migrating_twice_is_harmless(store: Store) {
    migrated(&store).await;
    store
        .insert_account(&new_account("a@example.com", Role::Administrator))
        .await
        .unwrap();
    migrated(&store).await;
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn accounts_round_trip(store: Store) {
    migrated(&store).await;
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    let created = store
        .insert_account(&new_account(
            "Ada@Example.com",
            Role::AdministratorWithBilling,
        ))
        .await
        .unwrap();
    assert_eq!(created.email.as_str(), "ada@example.com");

    let found = store
        .account_by_email(&EmailAddress::parse("ADA@example.COM").unwrap())
        .await
        .unwrap()
        .expect("found by any casing");
    assert_eq!(found, created);
    assert_eq!(found.role, Role::AdministratorWithBilling);
    assert_eq!(found.disabled_at, None);
    assert!(
        found.created_at > 1_700_000_000_000,
        "epoch ms: {}",
        found.created_at
    );

    let missing = store
        .account_by_email(&EmailAddress::parse("bob@example.com").unwrap())
        .await
        .unwrap();
    assert!(missing.is_none());
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn duplicate_email_is_a_conflict(store: Store) {
    migrated(&store).await;
    store
        .insert_account(&new_account("ada@example.com", Role::Administrator))
        .await
        .unwrap();
    let err = store
        .insert_account(&new_account(" ADA@example.com ", Role::ReadOnly))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(err.to_string(), "an account with this email already exists");
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn audit_lists_newest_first_with_filters(store: Store) {
    migrated(&store).await;
    let entries = [
        ("ada@example.com", "account.sign_in", None),
        (
            "bob@example.com",
            "account.sign_in_failed",
            Some("bob@example.com"),
        ),
        ("ada@example.com", "connector.create", Some("Jira")),
    ];
    for (actor, action, target) in entries {
        store
            .append_audit(&NewAuditEntry {
                actor: actor.into(),
                action: action.into(),
                target: target.map(Into::into),
                detail: Some(serde_json::json!({ "note": "quote \" and unicode ✓" })),
                ip: Some("127.0.0.1".into()),
            })
            .await
            .unwrap();
    }

    let all = store.list_audit(&AuditFilter::default()).await.unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "connector.create",
            "account.sign_in_failed",
            "account.sign_in"
        ]
    );
    assert_eq!(all[0].target.as_deref(), Some("Jira"));
    let detail: serde_json::Value = serde_json::from_str(&all[0].detail).unwrap();
    assert_eq!(detail["note"], "quote \" and unicode ✓");

    let by_ada = store
        .list_audit(&AuditFilter {
            actor: Some("ada@example.com".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_ada.len(), 2);

    let failed = store
        .list_audit(&AuditFilter {
            action: Some("account.sign_in_failed".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].actor, "bob@example.com");

    let both = store
        .list_audit(&AuditFilter {
            actor: Some("bob@example.com".into()),
            action: Some("connector.create".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(both.is_empty());
}

async fn audit_pages_backwards(store: Store) {
    migrated(&store).await;
    for n in 0..5 {
        store
            .append_audit(&NewAuditEntry {
                actor: "system".into(),
                action: format!("test.{n}"),
                ..NewAuditEntry::default()
            })
            .await
            .unwrap();
    }
    let page1 = store
        .list_audit(&AuditFilter {
            limit: 2,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page1.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["test.4", "test.3"]
    );
    let page2 = store
        .list_audit(&AuditFilter {
            limit: 2,
            before_id: Some(page1[1].id),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page2.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["test.2", "test.1"]
    );
    assert_eq!(page2[0].detail, "{}");
}

fn connector_write(name: &str, secret: Option<Option<(String, i64)>>) -> ConnectorWrite {
    ConnectorWrite {
        name: name.into(),
        name_key: name.trim().to_lowercase(),
        enabled: true,
        base_url: "https://api.example.com/v1".into(),
        auth_settings: r#"{"type":"bearer"}"#.into(),
        secret,
        headers: r#"[["X-Org","42"]]"#.into(),
        header_secrets: None,
    }
}

async fn connectors_round_trip_and_keep_secrets(store: Store) {
    migrated(&store).await;
    assert!(store.insert_vault_key(1, "wrapped").await.unwrap());
    let made = store
        .insert_connector(&connector_write("Jira", Some(Some(("cipher-1".into(), 1)))))
        .await
        .unwrap();
    assert!(made.enabled);
    assert_eq!(made.secret_ciphertext.as_deref(), Some("cipher-1"));
    assert_eq!(made.secret_key_version, Some(1));

    // Keep the secret (None), then replace it, then clear it.
    let mut edit = connector_write("Jira Cloud", None);
    edit.enabled = false;
    let kept = store
        .update_connector(&made.id, &edit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.name, "Jira Cloud");
    assert!(!kept.enabled);
    assert_eq!(kept.secret_ciphertext.as_deref(), Some("cipher-1"));
    edit.secret = Some(Some(("cipher-2".into(), 1)));
    let replaced = store
        .update_connector(&made.id, &edit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replaced.secret_ciphertext.as_deref(), Some("cipher-2"));
    edit.secret = Some(None);
    let cleared = store
        .update_connector(&made.id, &edit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.secret_ciphertext, None);
    assert_eq!(cleared.secret_key_version, None);

    // Secret headers carry their own key version, whatever the authentication secret does; a
    // version no vault key has is refused by the database (as a stale server's write would be).
    edit.headers = r#"[["X-Org","42"],["X-App-Key",null]]"#.into();
    edit.header_secrets = Some(("sealed-headers".into(), 1));
    let with_headers = store
        .update_connector(&made.id, &edit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        with_headers.header_secrets.as_deref(),
        Some("sealed-headers")
    );
    assert_eq!(with_headers.header_secrets_key_version, Some(1));
    assert_eq!(with_headers.secret_ciphertext, None);
    assert_eq!(with_headers.secret_key_version, None);
    assert_eq!(with_headers.headers, edit.headers);
    edit.header_secrets = Some(("sealed-by-a-gone-key".into(), 7));
    assert!(store.update_connector(&made.id, &edit).await.is_err());
    edit.header_secrets = None;
    edit.secret = None;
    let gone = store
        .update_connector(&made.id, &edit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.header_secrets, None);
    assert_eq!(gone.header_secrets_key_version, None);
    edit.secret = Some(Some(("cipher-3".into(), 1)));
    edit.header_secrets = Some(("sealed-2".into(), 1));
    store.update_connector(&made.id, &edit).await.unwrap();
    assert_eq!(
        store.connector_secrets().await.unwrap(),
        [ConnectorSecrets {
            id: made.id.clone(),
            secret: Some(("cipher-3".to_owned(), 1)),
            header_secrets: Some(("sealed-2".to_owned(), 1)),
        }]
    );
    edit.secret = Some(None);
    edit.header_secrets = None;
    store.update_connector(&made.id, &edit).await.unwrap();
    assert!(store.connector_secrets().await.unwrap().is_empty());

    // Every change moves updated_at forward, even several within one millisecond, so an edit
    // made from an earlier read is told apart and refused.
    let read = store.connector(&made.id).await.unwrap().unwrap().updated_at;
    assert!(store.set_connector_enabled(&made.id, true).await.unwrap());
    let toggled = store.connector(&made.id).await.unwrap().unwrap();
    assert!(toggled.enabled);
    assert!(toggled.updated_at > read);
    let stale = store
        .update_connector_if(&made.id, &edit, Some(read))
        .await
        .unwrap();
    assert!(matches!(stale, ConnectorUpdate::Changed), "{stale:?}");
    let saved = store
        .update_connector_if(&made.id, &edit, Some(toggled.updated_at))
        .await
        .unwrap();
    let ConnectorUpdate::Saved(saved) = saved else {
        panic!("{saved:?}");
    };
    assert!(saved.updated_at > toggled.updated_at);
    let again = store
        .update_connector_if(&made.id, &edit, Some(saved.updated_at))
        .await
        .unwrap();
    assert!(matches!(&again, ConnectorUpdate::Saved(r) if r.updated_at > saved.updated_at));
    assert!(matches!(
        store
            .update_connector_if("nope", &edit, None)
            .await
            .unwrap(),
        ConnectorUpdate::NotFound
    ));
    assert!(
        store
            .update_connector("nope", &edit)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.delete_connector(&made.id).await.unwrap());
    assert!(!store.delete_connector(&made.id).await.unwrap());
    assert!(store.connector(&made.id).await.unwrap().is_none());
}

async fn connector_names_are_unique_without_case(store: Store) {
    migrated(&store).await;
    let first = store
        .insert_connector(&connector_write("Jira", None))
        .await
        .unwrap();
    let clash = store
        .insert_connector(&connector_write(" JIRA", None))
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict { .. })),
        "{clash:?}"
    );
    assert!(store.name_taken("jira", None).await.unwrap());
    assert!(!store.name_taken("jira", Some(&first.id)).await.unwrap());
    let other = store
        .insert_connector(&connector_write("SIEM", None))
        .await
        .unwrap();
    let rename = store
        .update_connector(&other.id, &connector_write("jira", None))
        .await;
    assert!(
        matches!(rename, Err(StoreError::Conflict { .. })),
        "{rename:?}"
    );
}

async fn connector_search_matches_parts_of_names_literally(store: Store) {
    migrated(&store).await;
    for name in ["Jira", "HR 100%", "HR_tool", "Slack"] {
        store
            .insert_connector(&connector_write(name, None))
            .await
            .unwrap();
    }
    let names = |list: Vec<switchboard::storage::ConnectorRecord>| {
        list.into_iter().map(|c| c.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(store.list_connectors(None).await.unwrap()),
        ["HR 100%", "HR_tool", "Jira", "Slack"]
    );
    assert_eq!(
        names(store.list_connectors(Some("JI")).await.unwrap()),
        ["Jira"]
    );
    assert_eq!(
        names(store.list_connectors(Some("%")).await.unwrap()),
        ["HR 100%"]
    );
    assert_eq!(
        names(store.list_connectors(Some("r_")).await.unwrap()),
        ["HR_tool"]
    );
}

async fn vault_keys_are_set_up_once(store: Store) {
    migrated(&store).await;
    assert_eq!(store.latest_vault_key().await.unwrap(), None);
    assert!(store.insert_vault_key(1, "first").await.unwrap());
    assert!(
        !store.insert_vault_key(1, "second").await.unwrap(),
        "a racing replica loses"
    );
    assert_eq!(
        store.latest_vault_key().await.unwrap(),
        Some((1, "first".to_owned()))
    );
}

/// Workflow `wf-1`, manual, no steps: what run rows refer to.
async fn manual_workflow(store: &Store) -> switchboard::storage::WorkflowRecord {
    store
        .insert_workflow(
            "wf-1",
            &WorkflowWrite {
                name: "Wf".into(),
                description: String::new(),
                enabled: true,
                trigger_type: "manual".into(),
                definition: r#"{"trigger":{"type":"manual"},"steps":[]}"#.into(),
                connector_ids: Vec::new(),
                actor: "t".into(),
            },
        )
        .await
        .unwrap()
}

/// A run of workflow `workflow_id` started by a `trigger` (`webhook`, `event`…), with `{}` input.
fn trigger_run(id: &str, workflow_id: &str, trigger: &str) -> NewRun {
    NewRun {
        id: id.into(),
        workflow_id: workflow_id.into(),
        workflow_name: "Wf".into(),
        workflow_version: 1,
        definition: "{}".into(),
        trigger_type: trigger.into(),
        started_by: trigger.into(),
        input: "{}".into(),
    }
}

async fn runs_are_claimed_once_and_reclaimed_after_their_lease(store: Store) {
    migrated(&store).await;
    let workflow = manual_workflow(&store).await;
    let new_run = |id: &str| NewRun {
        id: id.into(),
        workflow_id: workflow.id.clone(),
        workflow_name: "Wf".into(),
        workflow_version: 1,
        definition: workflow.definition.clone(),
        trigger_type: "manual".into(),
        started_by: "t".into(),
        input: "{}".into(),
    };
    for id in ["r1", "r2", "r3"] {
        store.insert_run(&new_run(id)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert_eq!(store.queued_runs().await.unwrap(), 3);

    // Eight workers race for three runs: each run goes to exactly one, oldest first.
    let mut racing = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = store.clone();
        racing.spawn(async move {
            let mut claimed = store.claim_runs(&format!("w{i}"), 60_000, 1).await.unwrap();
            assert!(claimed.len() <= 1, "a claim of one takes at most one");
            (i, claimed.pop())
        });
    }
    let mut claims = vec![None; 8];
    while let Some(joined) = racing.join_next().await {
        let (i, claim) = joined.unwrap();
        claims[i] = claim;
    }
    let mut claimed: Vec<String> = claims.iter().flatten().map(|r| r.id.clone()).collect();
    claimed.sort();
    assert_eq!(claimed, ["r1", "r2", "r3"], "each run claimed once");
    assert!(
        claims
            .iter()
            .flatten()
            .all(|r| r.status == "running" && r.claims == 1)
    );
    assert!(
        store
            .claim_runs("late", 60_000, 8)
            .await
            .unwrap()
            .is_empty()
    );
    let owner_of = |id: &str| {
        claims
            .iter()
            .enumerate()
            .find_map(|(i, r)| r.as_ref().filter(|r| r.id == id).map(|_| format!("w{i}:1")))
            .unwrap()
    };
    assert!(
        claims
            .iter()
            .flatten()
            .all(|r| r.lease_owner.as_deref() == Some(owner_of(&r.id).as_str())),
        "the owner names the process and the claim"
    );

    // Only the owner renews, records and finishes.
    assert!(
        store
            .renew_lease("r1", &owner_of("r1"), 60_000)
            .await
            .unwrap()
    );
    assert!(!store.renew_lease("r1", "stranger", 60_000).await.unwrap());
    let step = RunStepRecord {
        position: 0,
        key: "a".into(),
        name: "A".into(),
        status: "running".into(),
        attempts: 1,
        error: None,
        request: None,
        response: None,
        started_at: 1,
        finished_at: None,
    };
    assert!(
        store
            .save_run_step("r1", &owner_of("r1"), &step)
            .await
            .unwrap()
    );
    assert!(
        !store.save_run_step("r1", "stranger", &step).await.unwrap(),
        "only the lease holder records steps"
    );
    store
        .save_run_step(
            "r1",
            &owner_of("r1"),
            &RunStepRecord {
                status: "succeeded".into(),
                finished_at: Some(2),
                ..step.clone()
            },
        )
        .await
        .unwrap();
    // Text PostgreSQL cannot store (a NUL) is that row's fault, not the database's: the run
    // fails rather than being retried and sent again for ever. SQLite stores it.
    let unstorable = store
        .save_run_step(
            "r1",
            &owner_of("r1"),
            &RunStepRecord {
                position: 5,
                name: "A\0".into(),
                ..step.clone()
            },
        )
        .await;
    match (store.backend(), unstorable) {
        (Backend::Postgres, Err(error)) => assert!(error.is_a_rows_fault(), "{error}"),
        (Backend::Sqlite, Ok(_)) => {}
        (backend, other) => panic!("{backend:?}: {other:?}"),
    }
    let steps = store.run_steps("r1").await.unwrap();
    let steps: Vec<_> = steps.into_iter().filter(|s| s.position == 0).collect();
    assert_eq!(steps.len(), 1, "a step is recorded once and updated");
    assert_eq!(steps[0].status, "succeeded");
    assert!(
        !store
            .finish_run("r1", "stranger", "succeeded", None)
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_run("r1", &owner_of("r1"), "succeeded", None)
            .await
            .unwrap()
    );

    // A released run (graceful shutdown) is claimable at once; a run whose lease ran out (its
    // worker died) is claimed again, counted as resumed.
    store.release_run("r2", &owner_of("r2")).await.unwrap();
    let again = store.claim_runs("w9", 60_000, 1).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id.as_str(), again[0].claims), ("r2", 2));
    assert_eq!(again[0].lease_owner.as_deref(), Some("w9:2"));
    assert!(store.renew_lease("r3", &owner_of("r3"), -1).await.unwrap());
    let resumed = store.claim_runs("w10", 60_000, 5).await.unwrap();
    assert_eq!(resumed.len(), 1, "only the run whose lease ran out");
    assert_eq!((resumed[0].id.as_str(), resumed[0].claims), ("r3", 2));
    assert!(
        !store
            .finish_run("r3", &owner_of("r3"), "failed", None)
            .await
            .unwrap(),
        "the old owner lost it"
    );

    let listed = store
        .runs(&RunFilter {
            status: Some("running".into()),
            limit: 10,
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        store.purge_runs(i64::MAX).await.unwrap(),
        1,
        "only finished runs are purged"
    );
    assert!(store.run("r1").await.unwrap().is_none());
    assert!(
        store.run_steps("r1").await.unwrap().is_empty(),
        "steps go with their run"
    );
}

async fn run_writes_share_a_transaction_and_fail_alone_in_the_writer(store: Store) {
    migrated(&store).await;
    manual_workflow(&store).await;
    let new_run = |id: &str, workflow_id: &str| trigger_run(id, workflow_id, "webhook");
    let insert = |id: &str, workflow_id: &str, claim: bool| RunWrite::Insert {
        run: new_run(id, workflow_id),
        claim: claim.then(|| InsertClaim {
            process: "p1".into(),
            lease_ms: 60_000,
        }),
        // Each run's start is audited in the same transaction.
        audit: Some(Box::new(NewAuditEntry {
            actor: "ada@example.com".into(),
            action: "run.started".into(),
            target: Some(id.into()),
            detail: Some(serde_json::json!({ "run_id": id })),
            ip: Some("127.0.0.1".into()),
        })),
    };
    let audited = || async {
        let mut targets: Vec<String> = store
            .list_audit(&AuditFilter {
                action: Some("run.started".into()),
                ..AuditFilter::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter_map(|entry| entry.target)
            .collect();
        targets.sort();
        targets
    };

    // A run of a workflow that does not exist fails the whole transaction: nothing is written.
    let failed = store
        .write_runs(&[
            insert("a", "wf-1", false),
            insert("b", "no-such-workflow", false),
        ])
        .await;
    assert!(failed.is_err());
    assert!(store.run("a").await.unwrap().is_none(), "all or nothing");
    assert!(
        audited().await.is_empty(),
        "no audit entry for a run not written"
    );

    // The writer applies the others one by one, each with its own answer.
    let writer = RunWriter::start(store.clone());
    let (a, b, c) = tokio::join!(
        writer.write(insert("a", "wf-1", false)),
        writer.write(insert("b", "no-such-workflow", false)),
        writer.write(insert("c", "wf-1", true)),
    );
    assert!(matches!(a, Ok(RunWritten::Inserted(_))), "{a:?}");
    // Told apart from a fault: the manual start answers 404 and a webhook call "not found".
    assert!(b.as_ref().is_err_and(|e| e.is_missing_reference()), "{b:?}");
    let Ok(RunWritten::Inserted(c)) = c else {
        panic!("{c:?}")
    };
    // Claimed as it was queued: running, owned by the process's first claim, no claim needed.
    assert_eq!(
        (c.status.as_str(), c.lease_owner.as_deref(), c.claims),
        ("running", Some("p1:1"), 1)
    );
    assert_eq!(
        store.run("c").await.unwrap().as_ref(),
        Some(&*c),
        "as written"
    );
    assert_eq!(store.queued_runs().await.unwrap(), 1, "only a is waiting");
    assert_eq!(
        audited().await,
        ["a", "c"],
        "each run written has its entry"
    );

    // One transaction: a step of c, the end of c with its last step, and a claim that sees a.
    let step = |status: &str| RunStepRecord {
        position: 0,
        key: "a".into(),
        name: "A".into(),
        status: status.into(),
        attempts: 1,
        error: None,
        request: None,
        response: None,
        started_at: 1,
        finished_at: (status != "running").then_some(2),
    };
    let written = store
        .write_runs(&[
            RunWrite::Step {
                run_id: "c".into(),
                owner: "p1:1".into(),
                step: step("running"),
            },
            RunWrite::Finish {
                run_id: "c".into(),
                owner: "someone else".into(),
                status: "succeeded",
                error: None,
                step: Some(step("succeeded")),
            },
            RunWrite::Finish {
                run_id: "c".into(),
                owner: "p1:1".into(),
                status: "succeeded",
                error: None,
                step: Some(step("succeeded")),
            },
            RunWrite::Claim {
                process: "p2".into(),
                lease_ms: 60_000,
                limit: 10,
            },
        ])
        .await
        .unwrap();
    assert_eq!(written[0], RunWritten::Held(true));
    assert_eq!(
        written[1],
        RunWritten::Held(false),
        "only the owner finishes"
    );
    assert_eq!(written[2], RunWritten::Held(true));
    let RunWritten::Claimed(claimed) = &written[3] else {
        panic!("{:?}", written[3])
    };
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].id.as_str(), claimed[0].lease_owner.as_deref()),
        ("a", Some("p2:1"))
    );
    let c = store.run("c").await.unwrap().unwrap();
    assert_eq!((c.status.as_str(), c.lease_owner), ("succeeded", None));
    let steps = store.run_steps("c").await.unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(
        steps[0].status, "succeeded",
        "the last step is written with the end"
    );

    // An owner that finishes a run whose lease has just run out, in the same batch as another
    // process's claim: the finish wins, whatever the order in the batch, and the run is not taken
    // over (to send its last step again).
    let mut late = insert("late", "wf-1", true);
    if let RunWrite::Insert {
        claim: Some(claim), ..
    } = &mut late
    {
        claim.lease_ms = 1;
    }
    let Ok(RunWritten::Inserted(late)) = writer.write(late).await else {
        panic!("late not queued")
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let written = store
        .write_runs(&[
            RunWrite::Claim {
                process: "p3".into(),
                lease_ms: 60_000,
                limit: 10,
            },
            RunWrite::Finish {
                run_id: "late".into(),
                owner: late.lease_owner.clone().unwrap(),
                status: "succeeded",
                error: None,
                step: Some(step("succeeded")),
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        written[1],
        RunWritten::Held(true),
        "the owner's finish is kept"
    );
    assert_eq!(
        written[0],
        RunWritten::Claimed(Vec::new()),
        "nothing left to claim"
    );
    let late = store.run("late").await.unwrap().unwrap();
    assert_eq!((late.status.as_str(), late.claims), ("succeeded", 1));

    // A fault that is not one row's (here: no database at all) fails the batch at once, not
    // write by write.
    store.close().await;
    let started = std::time::Instant::now();
    let (d, e) = tokio::join!(
        writer.write(insert("d", "wf-1", false)),
        writer.write(insert("e", "wf-1", false)),
    );
    assert!(d.is_err() && e.is_err(), "{d:?} {e:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

fn webhook_workflow(enabled: bool) -> WorkflowWrite {
    WorkflowWrite {
        name: "Hooked".into(),
        description: String::new(),
        enabled,
        trigger_type: "webhook".into(),
        definition: r#"{"trigger":{"type":"webhook"},"steps":[]}"#.into(),
        connector_ids: Vec::new(),
        actor: "t".into(),
    }
}

/// A webhook call reads its workflow from a cache kept for `HOOK_CACHE_FOR`: a change made
/// through the same store applies to the next lookup; another replica's, once that time is up.
async fn webhooks_found_by_token_follow_changes(url: &str) {
    let here = Store::connect(url).await.expect("connect");
    migrated(&here).await;
    let elsewhere = Store::connect(url).await.expect("connect");
    let enabled =
        |found: Option<Arc<(WebhookRecord, WorkflowRecord)>>| found.map(|found| found.1.enabled);

    let workflow = here
        .insert_workflow("wf-h", &webhook_workflow(true))
        .await
        .unwrap();
    assert_eq!(here.webhook_by_token("h1").await.unwrap(), None);
    assert!(
        here.insert_webhook("wf-h", "h1", "sealed-1", 1)
            .await
            .unwrap()
    );
    assert_eq!(
        enabled(here.webhook_by_token("h1").await.unwrap()),
        Some(true),
        "found at once though it was just looked up and missing: misses are not kept"
    );

    // Changes made here: seen by the next lookup.
    let saved = here
        .update_workflow("wf-h", workflow.version, &webhook_workflow(false))
        .await
        .unwrap();
    let WorkflowUpdate::Saved(workflow) = saved else {
        panic!("not saved: {saved:?}")
    };
    assert_eq!(
        enabled(here.webhook_by_token("h1").await.unwrap()),
        Some(false)
    );
    assert!(
        here.rotate_webhook_token("wf-h", "h2", "sealed-2", 1)
            .await
            .unwrap()
    );
    assert_eq!(
        here.webhook_by_token("h1").await.unwrap(),
        None,
        "the old token"
    );
    let found = here
        .webhook_by_token("h2")
        .await
        .unwrap()
        .expect("new token");
    assert_eq!(found.0.secret_ciphertext, None);
    assert!(
        here.set_webhook_secret("wf-h", Some("sealed-secret"), 1)
            .await
            .unwrap()
    );
    let found = here.webhook_by_token("h2").await.unwrap().expect("found");
    assert_eq!(found.0.secret_ciphertext.as_deref(), Some("sealed-secret"));

    // A change made by another replica: seen here once the cached lookup is older than
    // HOOK_CACHE_FOR (and not before, unless this machine stalled that long meanwhile).
    let looked_up = std::time::Instant::now();
    assert_eq!(
        enabled(here.webhook_by_token("h2").await.unwrap()),
        Some(false)
    );
    let saved = elsewhere
        .update_workflow("wf-h", workflow.version, &webhook_workflow(true))
        .await
        .unwrap();
    assert!(matches!(saved, WorkflowUpdate::Saved(_)), "{saved:?}");
    let stale = enabled(here.webhook_by_token("h2").await.unwrap());
    if looked_up.elapsed() < HOOK_CACHE_FOR / 2 {
        assert_eq!(stale, Some(false), "the cached lookup is used");
    }
    tokio::time::sleep(HOOK_CACHE_FOR + std::time::Duration::from_millis(100)).await;
    assert_eq!(
        enabled(here.webhook_by_token("h2").await.unwrap()),
        Some(true)
    );

    // Deleted here: gone at once.
    assert!(here.delete_workflow("wf-h").await.unwrap());
    assert_eq!(here.webhook_by_token("h2").await.unwrap(), None);

    elsewhere.close().await;
    here.close().await;
}

/// An event batch is queued in one transaction: the runs of workflows that still exist (one
/// deleted since the listeners were listed is skipped, left out of the answer and of the event's
/// record), a repeated id answered from the first, and a fault part-way queues nothing.
async fn event_batches_queue_all_or_nothing_and_skip_deleted_workflows(store: Store) {
    migrated(&store).await;
    manual_workflow(&store).await;
    let new_run = |id: &str, workflow_id: &str| trigger_run(id, workflow_id, "event");
    let event = |id: &str, runs: Vec<NewRun>| EventToQueue {
        id: id.into(),
        event_type: "user.created".into(),
        runs,
    };
    let answers = store
        .queue_event_batch(&[
            event(
                "event-1",
                vec![new_run("ev-a", "wf-1"), new_run("ev-b", "wf-deleted")],
            ),
            event("event-1", vec![new_run("ev-x", "wf-1")]),
            event("event-0", vec![new_run("ev-c", "wf-deleted")]),
        ])
        .await
        .unwrap();
    // The answers keep the batch's order, though event-0 is claimed first (by id).
    let [
        EventQueued::Started(first),
        EventQueued::Duplicate(again),
        EventQueued::Started(none),
    ] = answers.as_slice()
    else {
        panic!("{answers:?}");
    };
    assert_eq!(
        first.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["ev-a"]
    );
    assert_eq!(again, &[("wf-1".to_owned(), "ev-a".to_owned())]);
    assert!(none.is_empty(), "every listener gone: recorded with no run");
    assert!(store.run("ev-a").await.unwrap().is_some());
    for id in ["ev-b", "ev-x", "ev-c"] {
        assert!(store.run(id).await.unwrap().is_none(), "{id}");
    }

    // The second event's run collides with a stored one: the whole batch is rolled back, so a
    // retry of the first event starts it, rather than answering it as a duplicate.
    let failed = store
        .queue_event_batch(&[
            event("event-3", vec![new_run("ev-d", "wf-1")]),
            event("event-4", vec![new_run("ev-a", "wf-1")]),
        ])
        .await;
    assert!(failed.is_err());
    assert!(store.run("ev-d").await.unwrap().is_none(), "all or nothing");
    let retried = store
        .queue_event_batch(&[event("event-3", vec![new_run("ev-d", "wf-1")])])
        .await
        .unwrap();
    assert!(
        matches!(retried.as_slice(), [EventQueued::Started(runs)] if runs.len() == 1),
        "{retried:?}"
    );
    assert!(store.queue_event_batch(&[]).await.unwrap().is_empty());

    // A batch's runs share one queued_at: paging two at a time by (queued_at, id) lists every
    // run once, as one page of all of them does; by queued_at alone it would skip the rest of
    // a millisecond.
    let batch: Vec<EventToQueue> = (0..5)
        .map(|n| {
            event(
                &format!("page-{n}"),
                vec![new_run(&format!("pg-{n}"), "wf-1")],
            )
        })
        .collect();
    store.queue_event_batch(&batch).await.unwrap();
    let all = run_ids(&store).await;
    assert_eq!(all.len(), 7, "{all:?}");
    let mut paged = Vec::new();
    let mut after: Option<(i64, String)> = None;
    loop {
        let page = store
            .runs(&RunFilter {
                before: after.as_ref().map(|(at, _)| *at),
                before_id: after.as_ref().map(|(_, id)| id.clone()),
                limit: 2,
                ..RunFilter::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.queued_at, last.id.clone()));
        paged.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(paged, all);
}

/// Rounds of two batches, on two stores (two replicas), naming the same event ids in opposite
/// orders and sent at once. Neither fails, and each event starts its run once: one batch answers
/// it as started, the other as a duplicate naming that run. Claims taken in each batch's own
/// order would deadlock on PostgreSQL (one transaction waits on the other's first id while
/// holding its own): without the sort in `queue_event_batch` this fails in the first round with
/// "deadlock detected". The later rounds find the ids claimed over a day ago: both batches forget
/// those claims and the events start again, once each. (That the stale claims are locked in id
/// order is not shown here: PostgreSQL visits these few rows in id order with or without the
/// `ORDER BY`.)
async fn concurrent_event_batches_start_each_event_once(url: &str) {
    const EVENTS: usize = 12;
    const ROUNDS: usize = 15;
    let here = Store::connect(url).await.expect("connect");
    let elsewhere = Store::connect(url).await.expect("connect");
    migrated(&here).await;
    manual_workflow(&here).await;
    let ids: Vec<String> = (0..EVENTS).map(|e| format!("event-{e:02}")).collect();
    let batch = |round: usize, replica: &str, reversed: bool| -> Vec<EventToQueue> {
        let mut events: Vec<EventToQueue> = ids
            .iter()
            .map(|id| EventToQueue {
                id: id.clone(),
                event_type: "user.created".into(),
                runs: vec![trigger_run(
                    &format!("{replica}-{round}-{id}"),
                    "wf-1",
                    "event",
                )],
            })
            .collect();
        if reversed {
            events.reverse();
        }
        events
    };
    let mut started_runs = Vec::new();
    for round in 0..ROUNDS {
        // From the second round on, the claims are a day old (and one minute more).
        if round > 0 {
            age_event_claims(url, 24 * 3600 * 1000 + 60_000).await;
        }
        let (one, other) = (here.clone(), elsewhere.clone());
        let (forward, backward) = (batch(round, "a", false), batch(round, "b", true));
        let a = tokio::spawn(async move { one.queue_event_batch(&forward).await });
        let b = tokio::spawn(async move { other.queue_event_batch(&backward).await });
        let a = a
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("round {round}, a: {e}"));
        let mut b = b
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("round {round}, b: {e}"));
        b.reverse();
        for ((id, a), b) in ids.iter().zip(&a).zip(&b) {
            let started = match (a, b) {
                (EventQueued::Started(runs), EventQueued::Duplicate(earlier))
                | (EventQueued::Duplicate(earlier), EventQueued::Started(runs)) => {
                    let runs: Vec<(String, String)> = runs
                        .iter()
                        .map(|r| (r.workflow_id.clone(), r.id.clone()))
                        .collect();
                    assert_eq!(
                        &runs, earlier,
                        "round {round}, {id}: the duplicate names the run"
                    );
                    runs
                }
                other => panic!("round {round}, {id}: started once? {other:?}"),
            };
            assert_eq!(started.len(), 1, "round {round}, {id}");
            started_runs.push(started[0].1.clone());
        }
    }
    assert_eq!(started_runs.len(), EVENTS * ROUNDS);
    let mut stored = run_ids(&here).await;
    stored.sort();
    started_runs.sort();
    assert_eq!(stored, started_runs, "the runs answered, each queued once");
    elsewhere.close().await;
    here.close().await;
}

/// Moves every event claim `by_ms` into the past, as if it had been received that long before.
async fn age_event_claims(url: &str, by_ms: i64) {
    let sql = "UPDATE events_received SET received_at = received_at - $1";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).bind(by_ms).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).bind(by_ms).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// The ids of every stored run (up to 1,000), newest first.
async fn run_ids(store: &Store) -> Vec<String> {
    store
        .runs(&RunFilter {
            limit: 1000,
            ..RunFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// After a key rotation reports an error, the CLI keeps the new key unless the database is seen
/// still to use the current one: an error may come after the commit went through.
#[tokio::test]
async fn a_rotations_outcome_is_read_from_the_database() {
    use switchboard::vault::{
        KeyBytes, MasterKeySource, RotationOutcome, open_vault, rotate_master_key, rotation_outcome,
    };
    let db = TestDb::sqlite();
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let (current, new) = (KeyBytes::random(), KeyBytes::random());
    let source = MasterKeySource::Env(current.to_base64().to_string());
    open_vault(&store, &source).await.unwrap();
    assert_eq!(
        rotation_outcome(&store, &current, &new).await,
        RotationOutcome::RolledBack
    );
    rotate_master_key(&store, &current, &new).await.unwrap();
    assert_eq!(
        rotation_outcome(&store, &current, &new).await,
        RotationOutcome::Committed
    );
    let (other, another) = (KeyBytes::random(), KeyBytes::random());
    assert_eq!(
        rotation_outcome(&store, &other, &another).await,
        RotationOutcome::Unknown
    );
    store.close().await;
    assert_eq!(
        rotation_outcome(&store, &new, &current).await,
        RotationOutcome::Unknown,
        "a database that cannot be read tells nothing"
    );
}
