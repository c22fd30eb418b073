//! The API key format: `sb_<prefix>_<secret>`, e.g. `sb_3f9a1c07e2_9c4e…` (64 hex digits of secret).
//!
//! The prefix is shown in lists and used to find the key; only a hash of the whole key is stored,
//! so the key itself is shown once, when it is created.

use std::fmt;

/// Bytes of the public prefix (10 hex digits).
pub const PREFIX_BYTES: usize = 5;
/// Bytes of randomness in the secret part (256 bits).
pub const SECRET_BYTES: usize = 32;

/// A whole key, as handed to a script. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Builds a key from random bytes, which the caller draws from the operating system.
    pub fn from_random(prefix: [u8; PREFIX_BYTES], secret: [u8; SECRET_BYTES]) -> ApiKey {
        ApiKey(format!("sb_{}_{}", hex(&prefix), hex(&secret)))
    }

    /// Accepts a key as sent in the `x-api-key` header; `None` if it cannot be one of ours.
    pub fn parse(input: &str) -> Option<ApiKey> {
        let rest = input.trim().strip_prefix("sb_")?;
        let (prefix, secret) = rest.split_once('_')?;
        let is_hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        (is_hex(prefix, PREFIX_BYTES * 2) && is_hex(secret, SECRET_BYTES * 2))
            .then(|| ApiKey(input.trim().to_owned()))
    }

    /// The part that identifies the key in lists and on the command line, e.g. `sb_3f9a1c07e2`.
    pub fn prefix(&self) -> &str {
        &self.0[..3 + PREFIX_BYTES * 2]
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}_<redacted>)", self.prefix())
    }
}

/// Accepts a prefix as typed on the command line (`sb_3f9a1c07e2`, or the whole key).
pub fn parse_api_key_prefix(input: &str) -> Option<String> {
    let input = input.trim();
    let candidate = input.get(..3 + PREFIX_BYTES * 2)?;
    let rest = &input[candidate.len()..];
    let prefix_ok = candidate.starts_with("sb_")
        && candidate[3..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (prefix_ok && (rest.is_empty() || rest.starts_with('_'))).then(|| candidate.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ApiKey {
        ApiKey::from_random([0x3f, 0x9a, 0x1c, 0x07, 0xe2], [0xab; SECRET_BYTES])
    }

    #[test]
    fn keys_round_trip_through_parse() {
        let key = sample();
        assert_eq!(key.prefix(), "sb_3f9a1c07e2");
        assert_eq!(key.expose().len(), 3 + 10 + 1 + 64);
        assert_eq!(ApiKey::parse(key.expose()), Some(key.clone()));
        assert_eq!(ApiKey::parse(&format!(" {} ", key.expose())), Some(key));
    }

    #[test]
    fn anything_else_is_not_a_key() {
        let key = sample();
        let good = key.expose();
        for bad in [
            "",
            "sb_",
            &good[..good.len() - 1],
            &good.replace("sb_", "sk_"),
            &good.to_uppercase(),
            &format!("{good}0"),
        ] {
            assert_eq!(ApiKey::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_shows_only_the_prefix() {
        let shown = format!("{:?}", sample());
        assert!(shown.contains("sb_3f9a1c07e2"));
        assert!(!shown.contains("abab"));
    }

    #[test]
    fn prefixes_are_accepted_alone_or_from_the_whole_key() {
        let key = sample();
        assert_eq!(
            parse_api_key_prefix("sb_3f9a1c07e2").as_deref(),
            Some("sb_3f9a1c07e2")
        );
        assert_eq!(
            parse_api_key_prefix(key.expose()).as_deref(),
            Some("sb_3f9a1c07e2")
        );
        assert_eq!(parse_api_key_prefix("sb_3f9a1c07"), None);
        assert_eq!(parse_api_key_prefix("sb_3f9a1c07e2x"), None);
    }
}
