//! The network policy (SSRF guard) on the real HTTP client: more than 30 targets that reach
//! loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved and documentation
//! addresses — written as names, decimal, octal and hex IPv4, and IPv6 forms that embed IPv4 —
//! are refused with the allowlist off, and allowed only where listed.

mod upstream;

use std::time::Duration;

use domain::connector::{AuthSettings, Secrets};
use domain::egress::NetworkPolicy;
use domain::plan::PlannedRequest;
use domain::workflow::HttpMethod;
use switchboard::outbound::{Outbound, SendFailure};

/// Hosts (with an optional port) that must never be reached with the policy on.
const REFUSED: &[&str] = &[
    // Loopback, by name and in every spelling of 127.0.0.1.
    "localhost",
    "127.0.0.1",
    "127.0.0.2",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "017700000001",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    // IPv6 forms that embed an IPv4 address.
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:0:127.0.0.1]",
    "[64:ff9b::127.0.0.1]",
    "[64:ff9b::a9fe:a9fe]",
    "[2002:7f00:1::]",
    "[2002:a9fe:a9fe::]",
    // Cloud metadata and link-local.
    "169.254.169.254",
    "2852039166",
    "[fd00:ec2::254]",
    "[fe80::1]",
    // Private, CGNAT, unspecified, multicast, documentation and reserved ranges.
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "0.0.0.0",
    "0",
    "[::]",
    "224.0.0.1",
    "[ff02::1]",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "[2001:db8::1]",
    "240.0.0.1",
    "255.255.255.255",
    "[fc00::1]",
];

fn get(url: &str) -> PlannedRequest {
    PlannedRequest {
        method: HttpMethod::Get,
        url: url.to_owned(),
        headers: Vec::new(),
        body: None,
        auth: AuthSettings::None,
        secret_headers: Vec::new(),
    }
}

async fn send(outbound: &Outbound, url: &str) -> Result<u16, SendFailure> {
    outbound
        .send(&get(url), &Secrets::none(), Duration::from_secs(3), 1024)
        .await
        .map(|r| r.status)
}

#[tokio::test]
async fn private_targets_are_refused_in_every_spelling() {
    assert!(REFUSED.len() >= 30);
    let upstream = upstream::Upstream::start().await;
    let port = upstream.addr.port();
    let outbound = Outbound::new(NetworkPolicy::parse("").unwrap()).unwrap();
    for host in REFUSED {
        // The upstream listens on 127.0.0.1 at this port: a loopback target that got through
        // would answer.
        let url = format!("http://{host}:{port}/probe");
        match send(&outbound, &url).await {
            Err(SendFailure::Blocked(why)) => {
                assert!(why.contains("network policy"), "{host}: {why}")
            }
            other => panic!("{host} was not refused by the policy: {other:?}"),
        }
    }
    assert!(
        upstream.take().is_empty(),
        "nothing reached the loopback upstream"
    );
}

#[tokio::test]
async fn the_allowlist_opens_only_what_it_lists() {
    let upstream = upstream::Upstream::start().await;
    let port = upstream.addr.port();
    let outbound = Outbound::new(NetworkPolicy::parse("127.0.0.1").unwrap()).unwrap();
    assert_eq!(
        send(&outbound, &format!("http://127.0.0.1:{port}/ok"))
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        send(&outbound, &format!("http://2130706433:{port}/ok"))
            .await
            .unwrap(),
        200,
        "the same address, spelled in decimal"
    );
    for host in ["127.0.0.2", "[::1]", "169.254.169.254", "10.0.0.1"] {
        assert!(
            matches!(
                send(&outbound, &format!("http://{host}:{port}/no")).await,
                Err(SendFailure::Blocked(_))
            ),
            "{host} is not listed"
        );
    }
    // A CIDR and a host name.
    let outbound = Outbound::new(NetworkPolicy::parse("127.0.0.0/8,localhost").unwrap()).unwrap();
    assert_eq!(
        send(&outbound, &format!("http://127.0.0.2:{port}/ok"))
            .await
            .map_err(|e| e.to_string()),
        Err("connection refused: nothing is listening at that address and port".into()),
        "allowed, and nothing listens there"
    );
    assert_eq!(
        send(&outbound, &format!("http://localhost:{port}/ok"))
            .await
            .unwrap(),
        200
    );
    assert_eq!(upstream.take().len(), 3);
}

#[test]
fn path_tricks_cannot_leave_the_connector_origin() {
    use domain::plan::{ConnectorPlan, plan};
    use domain::render::RunContext;
    use domain::workflow::Action;
    let auth = AuthSettings::Bearer;
    let connector = ConnectorPlan {
        name: "Api",
        enabled: true,
        base_url: "https://api.example.com/v1",
        headers: &[],
        secret_headers: &[],
        auth: &auth,
    };
    let cx = RunContext::new(
        serde_json::json!({ "host": "127.0.0.1", "up": "..", "at": "@evil.example" }),
    );
    for path in [
        "//127.0.0.1/x",
        "//evil.example/x",
        "@evil.example/x",
        "/x@127.0.0.1",
        "http://127.0.0.1/x",
        "https:evil.example",
        "\\\\127.0.0.1\\x",
        "/../admin",
        "/%2e%2e/admin",
        "/a%2f..%2fadmin",
        "/${input.up}/admin",
    ] {
        let action = Action::ExternalAppConnector {
            connector_id: "c".into(),
            method: HttpMethod::Get,
            path: path.into(),
            body: String::new(),
            headers: Vec::new(),
            options: Default::default(),
        };
        assert!(
            plan(&connector, &action, &cx).is_err(),
            "{path} was planned"
        );
    }
    // Values are one encoded segment: they cannot name a host.
    for path in ["/${input.host}/x", "/u/${input.at}"] {
        let action = Action::ExternalAppConnector {
            connector_id: "c".into(),
            method: HttpMethod::Get,
            path: path.into(),
            body: String::new(),
            headers: Vec::new(),
            options: Default::default(),
        };
        let planned = plan(&connector, &action, &cx).unwrap();
        assert!(
            planned.url.starts_with("https://api.example.com/v1/"),
            "{}",
            planned.url
        );
    }
}
