//! Load on loopback against the real binary (SQLite; `make test` runs it on the release build
//! with `SWITCHBOARD_TEST_BIN=target/release/switchboard … --ignored`): 10,000 webhook calls at concurrency 64,
//! each starting a one-step run that posts to a local upstream. Every call is accepted and its
//! run completes exactly once. Then the same again with the server killed (SIGKILL) halfway and
//! restarted: callers retry with their `Idempotency-Key` until they hear 202, so exactly 10,000
//! runs exist and complete; steps in flight at the kill reach the upstream twice (at least
//! once), and are counted and printed.

mod binary;
mod upstream;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use binary::{admin_and_key, post_json, serve_with};
use serde_json::json;

const CALLS: usize = 10_000;
const CONCURRENCY: usize = 64;
const WORKERS: usize = 16;

const ENV: [(&str, &str); 4] = [
    ("SWITCHBOARD_WORKERS", "16"),
    ("SWITCHBOARD_CONNECTOR_CONCURRENCY", "32"),
    ("SWITCHBOARD_RUN_LEASE_SECONDS", "2"),
    ("RUST_LOG", "warn,switchboard::cli=info"),
];

/// Calls the webhook `calls` times from `CONCURRENCY` tasks, call `n` going to server
/// `n % origins.len()`. Each call carries the key `<prefix>-<n>` (as header and body) and is
/// retried on the next server, after a connection error or a 5xx, until it is answered 202.
/// `accepted` counts the 202s.
async fn fire(
    origins: Arc<RwLock<Vec<String>>>,
    path: String,
    prefix: &'static str,
    calls: usize,
    accepted: Arc<AtomicUsize>,
) -> usize {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, origins, path, next, retries, accepted) = (
            client.clone(),
            origins.clone(),
            path.clone(),
            next.clone(),
            retries.clone(),
            accepted.clone(),
        );
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= calls {
                    break;
                }
                let key = format!("{prefix}-{n}");
                let deadline = Instant::now() + Duration::from_secs(120);
                for attempt in n.. {
                    let url = {
                        let origins = origins.read().unwrap();
                        format!("{}{path}", origins[attempt % origins.len()])
                    };
                    let sent = client
                        .post(url)
                        .header("idempotency-key", &key)
                        .json(&json!({ "n": key }))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().as_u16() == 202 => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Ok(r) if !r.status().is_server_error() => {
                            panic!("call {key} answered {}", r.status())
                        }
                        _ => {
                            retries.fetch_add(1, Ordering::SeqCst);
                            assert!(Instant::now() < deadline, "call {key} never accepted");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    retries.load(Ordering::SeqCst)
}

/// The database the servers share, read directly by the test.
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

const BY_STATUS: &str = "SELECT status, COUNT(*) FROM runs WHERE workflow_id = $1 GROUP BY status";

impl Db {
    async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// `sql` (a text and a count per row) with `workflow` as `$1`, on either backend.
    async fn counts(&self, sql: &str, workflow: &str) -> Vec<(String, i64)> {
        let rows = match self {
            Db::Sqlite(pool) => {
                sqlx::query_as::<_, (String, i64)>(sql)
                    .bind(workflow)
                    .fetch_all(pool)
                    .await
            }
            Db::Postgres(pool) => {
                sqlx::query_as::<_, (String, i64)>(sql)
                    .bind(workflow)
                    .fetch_all(pool)
                    .await
            }
        };
        rows.unwrap()
    }
}

/// Now, as the server stamps its rows (milliseconds since the Unix epoch).
fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The call (`n`) a webhook run was queued for, from its input (`{"body": {"n": …}, …}`).
fn call_of(input: &str) -> String {
    let input: serde_json::Value = serde_json::from_str(input).unwrap();
    input["body"]["n"].as_str().unwrap().to_owned()
}

/// The lease prefix a server logged at start-up (`run workers started`, JSON logs).
fn lease_prefix(logs: &str) -> String {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|line| line["lease_prefix"].as_str().map(str::to_owned))
        .filter(|prefix| prefix.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("the server logs its lease prefix at start-up")
}

/// Runs of `workflow` by status.
async fn statuses(db: &Db, workflow: &str) -> HashMap<String, i64> {
    db.counts(BY_STATUS, workflow).await.into_iter().collect()
}

/// Waits until every run of `workflow` has ended; returns the statuses.
async fn settled(db: &Db, workflow: &str) -> HashMap<String, i64> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let now = statuses(db, workflow).await;
        if !now.contains_key("queued") && !now.contains_key("running") {
            return now;
        }
        assert!(Instant::now() < deadline, "runs did not settle: {now:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The `n` of each request the upstream received on `path`, with how often it arrived.
fn arrivals(seen: &[upstream::Seen], path: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for s in seen.iter().filter(|s| s.path == path) {
        let body: serde_json::Value = serde_json::from_str(&s.body).unwrap();
        *out.entry(body["n"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    out
}

/// A webhook workflow with one step posting `{"n": <body.n>}` to `sink`: its id and URL path.
async fn webhook_workflow(
    client: &reqwest::Client,
    origin: &str,
    key: &str,
    cookie: &str,
    connector_id: &serde_json::Value,
    name: &str,
    sink: &str,
) -> (String, String) {
    let workflow = post_json(
        client,
        &format!("{origin}/api/v2/workflows"),
        key,
        &json!({ "name": name, "trigger": { "type": "webhook" },
                 "steps": [{ "key": "post", "name": "Post", "action": {
                    "type": "external_app_connector", "connector_id": connector_id,
                    "method": "POST", "path": sink, "body": "{\"n\": \"${input.body.n}\"}",
                    "headers": [] } }] }),
        201,
    )
    .await;
    let id = workflow["id"].as_str().unwrap().to_owned();
    let path = binary::webhook_path(client, origin, cookie, &id).await;
    (id, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes on a debug build: `make test` runs it against the release binary (SWITCHBOARD_TEST_BIN)"]
async fn ten_thousand_webhooks_complete_once_even_across_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _logs) = serve_with(dir.path(), &ENV).await;
    let origin = format!("http://{addr}");
    let client = reqwest::Client::new();
    let (cookie, key) = admin_and_key(&client, &origin).await;
    let upstream = upstream::Upstream::start().await;
    let connector =
        binary::plain_connector(&client, &origin, &key, "Sink", &upstream.base_url("")).await;
    let mut hooks = Vec::new();
    for (name, sink) in [("Load", "/load"), ("Load across a kill", "/kill")] {
        hooks.push(
            webhook_workflow(
                &client,
                &origin,
                &key,
                &cookie,
                &connector["id"],
                name,
                sink,
            )
            .await,
        );
    }
    let db = Db::Sqlite(
        sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            dir.path().join("switchboard.db").display()
        ))
        .await
        .unwrap(),
    );
    let origin = Arc::new(RwLock::new(vec![origin]));

    // 1. Plain load.
    let (workflow, path) = hooks[0].clone();
    let accepted = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let retries = fire(origin.clone(), path, "load", CALLS, accepted.clone()).await;
    let fired = start.elapsed();
    let ended = settled(&db, &workflow).await;
    let done = start.elapsed();
    assert_eq!(accepted.load(Ordering::SeqCst), CALLS);
    assert_eq!(retries, 0, "no call should need a retry without a fault");
    assert_eq!(
        ended,
        HashMap::from([("succeeded".to_owned(), CALLS as i64)])
    );
    let seen = upstream.take();
    let load = arrivals(&seen, "/load");
    assert_eq!(load.len(), CALLS, "every run's request arrived");
    assert!(
        load.values().all(|&n| n == 1),
        "no duplicates without a fault"
    );
    println!(
        "load: {CALLS} webhooks at concurrency {CONCURRENCY}: accepted in {:.1} s ({:.0}/s), all {CALLS} runs completed in {:.1} s ({:.0}/s), upstream got each exactly once",
        fired.as_secs_f64(),
        CALLS as f64 / fired.as_secs_f64(),
        done.as_secs_f64(),
        CALLS as f64 / done.as_secs_f64()
    );

    // 2. The same with kill -9 halfway and a restart.
    let (workflow, path) = hooks[1].clone();
    let accepted = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let load = tokio::spawn(fire(origin.clone(), path, "kill", CALLS, accepted.clone()));
    while accepted.load(Ordering::SeqCst) < CALLS / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at_kill = accepted.load(Ordering::SeqCst);
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = child.wait().await;
    let (restarted, addr, _logs) = serve_with(dir.path(), &ENV).await;
    child = restarted;
    *origin.write().unwrap() = vec![format!("http://{addr}")];
    let retries = load.await.unwrap();
    let ended = settled(&db, &workflow).await;
    let done = start.elapsed();
    assert_eq!(accepted.load(Ordering::SeqCst), CALLS);
    assert_eq!(
        ended,
        HashMap::from([("succeeded".to_owned(), CALLS as i64)]),
        "exactly one run per call, each completed"
    );
    let seen = upstream.take();
    let kill = arrivals(&seen, "/kill");
    assert_eq!(kill.len(), CALLS, "every run's request arrived");
    let duplicates: usize = kill.values().map(|&n| n - 1).sum();
    assert!(
        duplicates <= WORKERS,
        "{duplicates} duplicates: more than the {WORKERS} steps that can be in flight"
    );
    println!(
        "load with kill -9 after {at_kill} accepted calls: {CALLS} calls accepted ({retries} retries while the server was down), exactly {CALLS} runs, all completed in {:.1} s; {duplicates} step(s) sent twice (in flight at the kill)",
        done.as_secs_f64()
    );
    db.close().await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

/// Three servers on one PostgreSQL database: 5,000 webhook calls spread over them, one server
/// killed (SIGKILL) halfway and not restarted. Callers retry on another server with the same
/// `Idempotency-Key`; the two left resume the dead one's runs once their leases run out. Every
/// accepted call has exactly one run, every run completes, and each step reaches the upstream
/// once, except steps in flight at the kill (counted, at most the dead server's workers).
/// Sessions work on every server, and a schedule fires one run per tick across the three.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes on a debug build: `make test` runs it against the release binary (SWITCHBOARD_TEST_BIN)"]
async fn three_replicas_on_postgres_finish_five_thousand_webhooks_across_a_kill() {
    const REPLICA_CALLS: usize = 5_000;
    const REPLICA_WORKERS: usize = 8;
    let Some(database) = binary::TestDatabase::create().await else {
        return;
    };
    let workers = REPLICA_WORKERS.to_string();
    let env = [
        ("DATABASE_URL", database.url.as_str()),
        (
            "SWITCHBOARD_MASTER_KEY",
            "dGhyZWUtcmVwbGljYXMtb25lLW1hc3Rlci1rZXktMzI=",
        ),
        ("SWITCHBOARD_WORKERS", &workers),
        ("SWITCHBOARD_CONNECTOR_CONCURRENCY", "32"),
        ("SWITCHBOARD_RUN_LEASE_SECONDS", "2"),
        ("SWITCHBOARD_SCHEDULE_POLL_SECONDS", "1"),
        ("RUST_LOG", "warn,switchboard::cli=info"),
    ];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut servers = binary::serve_each(&dirs, &env).await;
    let origins: Vec<String> = servers
        .iter()
        .map(|(_, addr, _)| format!("http://{addr}"))
        .collect();
    let client = reqwest::Client::new();
    let (cookie, key) = admin_and_key(&client, &origins[0]).await;
    let session_works = |origin: String| {
        let (client, cookie) = (client.clone(), cookie.clone());
        async move {
            client
                .get(format!("{origin}/api/v1/me"))
                .header("cookie", format!("sb_session={cookie}"))
                .send()
                .await
                .unwrap()
                .status()
                == 200
        }
    };
    for origin in &origins {
        assert!(
            session_works(origin.clone()).await,
            "the session works on {origin}"
        );
    }
    let upstream = upstream::Upstream::start().await;
    let connector =
        binary::plain_connector(&client, &origins[1], &key, "Sink", &upstream.base_url("")).await;
    let (workflow, path) = webhook_workflow(
        &client,
        &origins[2],
        &key,
        &cookie,
        &connector["id"],
        "Replicated",
        "/replicas",
    )
    .await;
    let scheduled = post_json(
        &client,
        &format!("{}/api/v2/workflows", origins[0]),
        &key,
        &json!({ "name": "Every minute", "trigger": { "type": "schedule", "cron": "* * * * *", "timezone": "UTC" },
            "steps": [{ "key": "tick", "name": "Tick", "action": { "type": "external_app_connector",
                "connector_id": connector["id"], "method": "POST", "path": "/tick",
                "body": "{\"n\": \"${input.scheduled_at}\"}", "headers": [] } }] }),
        201,
    )
    .await;
    let db = Db::Postgres(sqlx::PgPool::connect(&database.url).await.unwrap());
    let ticks_started = Instant::now();

    let live = Arc::new(RwLock::new(origins.clone()));
    let accepted = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let load = tokio::spawn(fire(
        live.clone(),
        path,
        "replica",
        REPLICA_CALLS,
        accepted.clone(),
    ));
    while accepted.load(Ordering::SeqCst) < REPLICA_CALLS / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The kill must catch the victim holding runs, or nothing would be taken over. A step lasts
    // about a millisecond, so runs seen held could all end before the signal lands: the upstream
    // holds its answers back meanwhile, and every server's steps wait for it.
    let answers_held = upstream.hold().await;
    // Runs whose answer came just before the hold are still "running" until their end is
    // written, a moment later: counted now, they could be all the victim held, and all end
    // before or just after the kill (CI once saw none left). After this pause, the runs it holds
    // are the ones waiting on the upstream.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut victim, _, victim_logs) = servers.remove(1);
    let prefix = lease_prefix(&victim_logs.all());
    let held_by_victim = format!(
        "FROM runs WHERE workflow_id = $1 AND status = 'running' AND lease_owner LIKE '{prefix}:%'"
    );
    let held_sql = format!("SELECT 'held', COUNT(*) {held_by_victim}");
    let holding = Instant::now();
    while db.counts(&held_sql, &workflow).await[0].1 < 3 {
        assert!(
            holding.elapsed() < Duration::from_secs(20),
            "the server to kill held fewer than 3 runs for 20 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let at_kill = accepted.load(Ordering::SeqCst);
    // SIGKILL, sent at once (spawning `kill` would give its runs time to end).
    victim.start_kill().unwrap();
    let _ = victim.wait().await;
    let killed_at = Instant::now();
    // A statement it sent just before dying may still commit: look a moment later, well before
    // its leases (2 s, renewed every 0.67 s) run out and the others take its runs.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The calls behind the runs it held (a run's input is its call: `{"body": {"n": …}, …}`).
    let held_runs = db
        .counts(&format!("SELECT input, claims {held_by_victim}"), &workflow)
        .await;
    let orphaned: HashSet<String> = held_runs.iter().map(|(input, _)| call_of(input)).collect();
    // Runs are told apart by their call from here on: each call must have queued one run.
    assert_eq!(
        orphaned.len(),
        held_runs.len(),
        "two held runs came from one call"
    );
    drop(answers_held);
    let held = orphaned.len();
    // Leases last SWITCHBOARD_RUN_LEASE_SECONDS (2 s), renewals included: every lease seen
    // ends at most that long after the query returned. (The setting once went unread, and a
    // killed server's runs waited out the 30-s default.)
    let leases = db
        .counts(
            "SELECT 'lease', COALESCE(MAX(lease_until), 0) FROM runs WHERE workflow_id = $1 \
             AND status = 'running'",
            &workflow,
        )
        .await[0]
        .1;
    let lease_left = leases - epoch_ms();
    assert!(
        lease_left <= 2_000,
        "a run's lease ends {lease_left} ms from now; SWITCHBOARD_RUN_LEASE_SECONDS is 2"
    );
    assert!(
        held > 0,
        "the killed server's runs ended while the upstream held its answers: no takeover to prove"
    );
    let retries = load.await.unwrap();
    let fired = start.elapsed();
    let ended = settled(&db, &workflow).await;
    let done = start.elapsed();
    let after_kill = killed_at.elapsed();
    assert_eq!(accepted.load(Ordering::SeqCst), REPLICA_CALLS);
    assert_eq!(
        ended,
        HashMap::from([("succeeded".to_owned(), REPLICA_CALLS as i64)]),
        "exactly one run per accepted call, each completed"
    );
    for origin in [&origins[0], &origins[2]] {
        assert!(
            session_works(origin.clone()).await,
            "the session still works on {origin} after the kill"
        );
    }

    // Each run the killed server held was resumed by another once its lease ran out.
    let claimed_again: HashSet<String> = db
        .counts(
            "SELECT input, claims FROM runs WHERE workflow_id = $1 AND claims > 1",
            &workflow,
        )
        .await
        .iter()
        .map(|(input, _)| call_of(input))
        .collect();
    let resumed = claimed_again.len();
    for call in &orphaned {
        assert!(
            claimed_again.contains(call),
            "call {call}'s run, held by the killed server, ended without being claimed again"
        );
    }

    // The schedule: wait for a tick whose runs have all ended (at most a minute and a bit from
    // its creation), then count every run per tick, whatever its status.
    let scheduled_id = scheduled["id"].as_str().unwrap();
    let waiting = Instant::now();
    let ticks = loop {
        let pending = statuses(&db, scheduled_id).await;
        let ticks = db
            .counts(
                "SELECT input, COUNT(*) FROM runs WHERE workflow_id = $1 GROUP BY input",
                scheduled_id,
            )
            .await;
        if !ticks.is_empty() && !pending.contains_key("queued") && !pending.contains_key("running")
        {
            assert_eq!(
                pending.get("succeeded").copied().unwrap_or(0),
                ticks.iter().map(|(_, n)| n).sum::<i64>(),
                "every tick's run succeeded: {pending:?}"
            );
            break ticks;
        }
        // (And 10 s more from here, should the load above have lasted past the first tick.)
        assert!(
            ticks_started.elapsed() < Duration::from_secs(75)
                || waiting.elapsed() < Duration::from_secs(10),
            "no schedule tick ran to its end within 75 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        ticks.iter().all(|(_, runs)| *runs == 1),
        "one run per tick across the servers: {ticks:?}"
    );

    let seen = upstream.take();
    let arrived = arrivals(&seen, "/replicas");
    assert_eq!(arrived.len(), REPLICA_CALLS, "every run's request arrived");
    let duplicates: usize = arrived.values().map(|&n| n - 1).sum();
    // At-least-once only where the kill forced it: a step sent twice is a step of a run the
    // killed server held, and no step is sent three times.
    for (call, &times) in &arrived {
        assert!(
            times == 1 || (times == 2 && orphaned.contains(call)),
            "call {call}'s step reached the upstream {times} times; the killed server held its run: {}",
            orphaned.contains(call)
        );
    }
    let tick_arrivals = arrivals(&seen, "/tick");
    let tick_duplicates: usize = tick_arrivals.values().map(|&n| n - 1).sum();
    assert!(
        duplicates + tick_duplicates <= REPLICA_WORKERS,
        "{duplicates} + {tick_duplicates} duplicates: more than the {REPLICA_WORKERS} steps the killed server could have in flight"
    );
    println!(
        "three replicas on PostgreSQL: {REPLICA_CALLS} webhooks spread over 3 servers, one killed (SIGKILL) after {at_kill} accepted, holding {held} run(s); \
         all accepted in {:.1} s ({retries} retries on another server), exactly {REPLICA_CALLS} runs, all completed in {:.1} s ({:.0}/s), the last {:.1} s after the kill; \
         {resumed} run(s) taken over from the killed server, {duplicates} step(s) sent twice (in flight at the kill); schedule ticks {:?}, one run each",
        fired.as_secs_f64(),
        done.as_secs_f64(),
        REPLICA_CALLS as f64 / done.as_secs_f64(),
        after_kill.as_secs_f64(),
        ticks
            .iter()
            .map(|(input, _)| input.as_str())
            .collect::<Vec<_>>()
    );
    db.close().await;
    for (mut child, _, _) in servers {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().unwrap().to_string()])
            .status();
        let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    }
    database.drop_now().await;
}
