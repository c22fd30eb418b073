//! An endpoint path: where a request goes, relative to its connector's base URL. A full URL is
//! refused, so a workflow can never send a connector's credentials to another host.

use serde::{Deserialize, Serialize};

use crate::connector::BaseUrl;

/// A path (with an optional query) under a connector's base URL: `/issues`, `users/42?expand=1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointPath(String);

impl EndpointPath {
    pub const MAX_CHARS: usize = 2048;

    /// Parses a path as typed; empty means the base URL itself.
    pub fn parse(input: &str) -> Result<EndpointPath, String> {
        let path = input.trim();
        if path.chars().count() > Self::MAX_CHARS {
            return Err(format!("Use at most {} characters.", Self::MAX_CHARS));
        }
        let (path_part, _query) = path.split_once('?').unwrap_or((path, ""));
        let scheme_like = path_part
            .split_once(':')
            .is_some_and(|(before, _)| !before.contains('/'));
        if path.starts_with("//") || path.contains("://") || scheme_like {
            return Err(
                "Enter only the path, e.g. /api/resource — the base URL comes from the connector."
                    .into(),
            );
        }
        if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(
                "A path cannot contain spaces or control characters; encode them (%20).".into(),
            );
        }
        if path.contains('\\') {
            return Err("Use / in a path, not \\.".into());
        }
        if path.contains('#') {
            return Err("Remove the #fragment: it is never sent to the server.".into());
        }
        let segments = path_part.split('/');
        if segments.map(|s| s.to_ascii_lowercase()).any(|s| {
            s == ".." || s == "." || s == "%2e%2e" || s == "%2e" || s == ".%2e" || s == "%2e."
        }) {
            return Err(
                "A path cannot contain . or .. segments: it must stay under the base URL.".into(),
            );
        }
        if path_part.to_ascii_lowercase().contains("%2f") || path_part.contains('@') {
            return Err("A path cannot contain an encoded / or an @.".into());
        }
        Ok(EndpointPath(path.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full URL: the base URL, one `/`, then this path.
    pub fn join(&self, base: &BaseUrl) -> String {
        let rest = self.0.trim_start_matches('/');
        if rest.is_empty() {
            base.as_str().to_owned()
        } else if rest.starts_with('?') {
            format!("{}{rest}", base.as_str())
        } else {
            format!("{}/{rest}", base.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_join_under_the_base() {
        let base = BaseUrl::parse("https://api.example.com/v1/").unwrap();
        for (path, url) in [
            ("", "https://api.example.com/v1"),
            ("/issues", "https://api.example.com/v1/issues"),
            ("issues/42", "https://api.example.com/v1/issues/42"),
            ("/search?q=a:b", "https://api.example.com/v1/search?q=a:b"),
            ("?page=2", "https://api.example.com/v1?page=2"),
        ] {
            assert_eq!(
                EndpointPath::parse(path).unwrap().join(&base),
                url,
                "{path}"
            );
        }
    }

    #[test]
    fn full_urls_and_escapes_are_refused() {
        for (path, says) in [
            ("https://evil.example/x", "Enter only the path"),
            ("//evil.example/x", "Enter only the path"),
            ("http:evil.example", "Enter only the path"),
            ("javascript:alert(1)", "Enter only the path"),
            ("/a/../../admin", ". or .."),
            ("/a/%2e%2e/admin", ". or .."),
            ("/a%2fb", "encoded /"),
            ("@evil.example/x", "@"),
            ("/a b", "spaces"),
            ("/a\r\nX-Evil: 1", "spaces"),
            ("\\\\evil.example", "not \\"),
            ("/a#frag", "fragment"),
        ] {
            let err = EndpointPath::parse(path).unwrap_err();
            assert!(err.contains(says), "{path}: {err}");
        }
        assert!(EndpointPath::parse(&"a".repeat(3000)).is_err());
    }
}
