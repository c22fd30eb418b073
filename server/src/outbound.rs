//! Requests to external APIs: one shared client (rustls, no environment proxies, no redirects)
//! whose DNS resolver applies the network policy to every resolved address, and failures told in
//! plain words. Errors never carry the URL: with Query authentication it holds the API key.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::connector::{BaseUrl, Secrets};
use domain::egress::{NetworkPolicy, Refusal};
use domain::endpoint::EndpointPath;
use domain::plan::PlannedRequest;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use secrecy::ExposeSecret;

/// The outbound HTTP client and the policy it enforces.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<NetworkPolicy>,
}

/// A host name that did not resolve.
#[derive(Debug)]
struct DnsFailure {
    host: String,
    detail: String,
}

impl std::fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not resolve {} ({})", self.host, self.detail)
    }
}

impl std::error::Error for DnsFailure {}

/// Resolves with the system resolver, then keeps only the addresses the policy accepts.
struct GuardedResolver {
    policy: Arc<NetworkPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| DnsFailure {
                    host: host.clone(),
                    detail: e.to_string(),
                })?
                .collect();
            if found.is_empty() {
                return Err(DnsFailure {
                    host,
                    detail: "no addresses".into(),
                }
                .into());
            }
            if policy.allows_host(&host) {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(r) => {
                        refusal.get_or_insert(r);
                        false
                    }
                })
                .collect();
            match refusal {
                // One refused address refuses the host: a name that mixes public and private
                // answers is what a rebinding attack looks like.
                Some(refusal) => Err(Box::new(refusal) as Box<dyn std::error::Error + Send + Sync>),
                None => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// What happened to a request that did not get an answer, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    Blocked(String),
    Dns(String),
    Tls(String),
    Refused,
    TimedOut(Duration),
    Other(String),
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendFailure::Blocked(why) => write!(f, "{why}"),
            SendFailure::Dns(why) => write!(f, "DNS: {why}; check the host name"),
            SendFailure::Tls(why) => {
                write!(f, "TLS: {why}; check the certificate and the URL scheme")
            }
            SendFailure::Refused => {
                f.write_str("connection refused: nothing is listening at that address and port")
            }
            SendFailure::TimedOut(after) => {
                write!(f, "timed out: no answer within {} s", after.as_secs())
            }
            SendFailure::Other(why) => write!(f, "the request failed: {why}"),
        }
    }
}

/// The answer to one request: status and time taken (the body is not kept: it may echo secrets).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub reason: Option<&'static str>,
    pub latency: Duration,
}

/// One attempt's answer, the body read up to a cap.
#[derive(Debug, Clone)]
pub struct Received {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was longer than the cap; the rest was discarded.
    pub truncated: bool,
    pub latency: Duration,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Outbound {
    pub fn new(policy: NetworkPolicy) -> Result<Outbound, reqwest::Error> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .build()?;
        Ok(Outbound { client, policy })
    }

    /// Sends a GET to `base`/`path` with the connector's plain headers and its secrets.
    pub async fn get(
        &self,
        base: &BaseUrl,
        path: &EndpointPath,
        headers: &[(String, String)],
        secrets: &Secrets,
        timeout: Duration,
    ) -> Result<Answer, SendFailure> {
        let url = reqwest::Url::parse(&path.join(base))
            .map_err(|e| SendFailure::Other(format!("the URL is not valid ({e})")))?;
        self.check_literal_host(&url)?;
        let mut request = self.client.get(url).timeout(timeout);
        for (key, value) in headers {
            request = request.header(key, value);
        }
        let credentials = secrets.credentials();
        for (key, value) in &credentials.headers {
            let mut value =
                reqwest::header::HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                    SendFailure::Other("a credential is not a valid header value".into())
                })?;
            value.set_sensitive(true);
            request = request.header(key, value);
        }
        let query: Vec<(&str, &str)> = credentials
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        if !query.is_empty() {
            request = request.query(&query);
        }
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| classify(e.without_url(), timeout))?;
        Ok(Answer {
            status: response.status().as_u16(),
            reason: response.status().canonical_reason(),
            latency: started.elapsed(),
        })
    }

    /// Sends a planned request with the connector's credentials. One attempt: retries are the
    /// caller's. The body is kept up to `max_body` bytes.
    pub async fn send(
        &self,
        planned: &PlannedRequest,
        secrets: &Secrets,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Received, SendFailure> {
        let mut url = reqwest::Url::parse(&planned.url)
            .map_err(|e| SendFailure::Other(format!("the URL is not valid ({e})")))?;
        self.check_literal_host(&url)?;
        let credentials = secrets.credentials();
        if !credentials.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &credentials.query {
                pairs.append_pair(key, value.expose_secret());
            }
        }
        let method = reqwest::Method::from_bytes(planned.method.as_str().as_bytes())
            .map_err(|_| SendFailure::Other("unknown HTTP method".into()))?;
        let mut request = self.client.request(method, url).timeout(timeout);
        for (key, value) in &planned.headers {
            request = request.header(key, value);
        }
        for (key, value) in &credentials.headers {
            let mut value =
                reqwest::header::HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                    SendFailure::Other("a credential is not a valid header value".into())
                })?;
            value.set_sensitive(true);
            request = request.header(key, value);
        }
        if let Some(body) = &planned.body {
            request = request.body(body.clone());
        }
        let started = Instant::now();
        let mut response = request
            .send()
            .await
            .map_err(|e| classify(e.without_url(), timeout))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = max_body.saturating_sub(body.len());
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(classify(e.without_url(), timeout)),
            }
        }
        Ok(Received {
            status,
            headers,
            body,
            truncated,
            latency: started.elapsed(),
        })
    }

    /// reqwest does not resolve IP-literal hosts, so the policy checks them here.
    fn check_literal_host(&self, url: &reqwest::Url) -> Result<(), SendFailure> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            _ => return Ok(()),
        };
        self.policy
            .check(ip)
            .map_err(|r| SendFailure::Blocked(r.to_string()))
    }
}

fn classify(error: reqwest::Error, timeout: Duration) -> SendFailure {
    if error.is_timeout() {
        return SendFailure::TimedOut(timeout);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    let mut words = Vec::new();
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return SendFailure::Blocked(refusal.to_string());
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return SendFailure::Tls(tls_words(tls));
        }
        if let Some(dns) = e.downcast_ref::<DnsFailure>() {
            return SendFailure::Dns(dns.to_string());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            // An io::Error's `source()` skips the error it wraps; look at that one directly.
            if let Some(tls) = wrapped_tls_error(io) {
                return SendFailure::Tls(tls_words(tls));
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return SendFailure::Refused,
                std::io::ErrorKind::TimedOut => return SendFailure::TimedOut(timeout),
                _ => {}
            }
        }
        words.push(e.to_string());
        source = e.source();
    }
    SendFailure::Other(words.last().cloned().unwrap_or_default())
}

/// The rustls error inside (possibly nested) io::Errors.
fn wrapped_tls_error(mut io: &std::io::Error) -> Option<&rustls::Error> {
    loop {
        let inner = io.get_ref()?;
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        io = inner.downcast_ref::<std::io::Error>()?;
    }
}

/// Why a certificate was refused, in words (rustls's own text falls back to Rust's debug form,
/// `UnknownIssuer`, for the commonest cases).
fn certificate_words(why: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match why {
        E::UnknownIssuer => "it is not signed by an authority this server trusts: self-signed, \
                             or from a private certificate authority"
            .into(),
        E::Expired | E::ExpiredContext { .. } => "it has expired".into(),
        E::NotValidYet | E::NotValidYetContext { .. } => "it is not valid yet".into(),
        E::Revoked => "it was revoked".into(),
        E::NotValidForName => "it is for another host name".into(),
        // Names the host asked for and those the certificate is for.
        E::NotValidForNameContext { .. } => why.to_string(),
        E::BadSignature | E::BadEncoding => "it is malformed or its signature is wrong".into(),
        other => other.to_string(),
    }
}

fn tls_words(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidMessage(_) => {
            "the server did not answer in TLS; does it use http:// rather than https://?".into()
        }
        rustls::Error::InvalidCertificate(why) => {
            format!(
                "the server's certificate is not trusted ({}); check the host name and the certificate",
                certificate_words(why)
            )
        }
        other => format!(
            "the secure connection failed ({other}); check the certificate and the URL scheme"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::tls_words;
    use rustls::CertificateError as E;

    #[test]
    fn a_refused_certificate_is_told_in_words() {
        for (why, says) in [
            (E::UnknownIssuer, "self-signed"),
            (E::Expired, "it has expired"),
            (E::NotValidForName, "another host name"),
        ] {
            let shown = tls_words(&rustls::Error::InvalidCertificate(why.clone()));
            assert!(shown.contains(says), "{why:?}: {shown}");
            assert!(!shown.contains(&format!("{why:?}")), "{shown}");
        }
    }
}
