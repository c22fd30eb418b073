//! Messages about bodies that did not decode, fit to send back.

/// serde's message without the value it quotes: "invalid type: integer `123`, expected a
/// string" becomes "invalid type: integer, expected a string", and "unknown variant `xyz`,
/// expected one of …" becomes "unknown variant, expected one of …". A secret sent with the wrong
/// JSON type, or pasted into the wrong field, is not echoed back in the error (nor into a proxy's
/// or client's log of it). Names (unknown or missing fields) are kept: they are not values.
pub fn without_quoted_value(message: &str) -> String {
    for kind in ["invalid type: ", "invalid value: "] {
        if let Some(start) = message.find(kind) {
            let rest = &message[start + kind.len()..];
            // The last one: a quoted value may hold ", expected" itself.
            if let Some(end) = rest.rfind(", expected") {
                let what = rest[..end]
                    .split(['`', '"'])
                    .next()
                    .unwrap_or_default()
                    .trim();
                return format!("{}{kind}{what}{}", &message[..start], &rest[end..]);
            }
        }
    }
    let kind = "unknown variant ";
    if let Some(start) = message.find(kind) {
        let rest = &message[start + kind.len()..];
        if let Some(end) = rest.rfind("`, expected") {
            return format!("{}unknown variant{}", &message[..start], &rest[end + 1..]);
        }
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::without_quoted_value;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        None,
        Bearer,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        token: String,
        flag: bool,
        kind: Kind,
    }

    fn message(json: &str) -> String {
        without_quoted_value(&serde_json::from_str::<Body>(json).unwrap_err().to_string())
    }

    #[test]
    fn values_serde_quotes_are_left_out_and_names_kept() {
        let secret = "SECRET-4f1a";
        for (json, expected) in [
            (
                r#"{"token": 987654321}"#,
                "invalid type: integer, expected a string",
            ),
            (
                r#"{"token": 1.5e300}"#,
                "invalid type: floating point, expected a string",
            ),
            (
                r#"{"token": true}"#,
                "invalid type: boolean, expected a string",
            ),
            (
                r#"{"token": "t", "flag": "SECRET-4f1a, expected x"}"#,
                "invalid type: string, expected a boolean",
            ),
            (
                r#"{"token": "t", "flag": true, "kind": "SECRET-4f1a"}"#,
                "unknown variant, expected `none` or `bearer`",
            ),
            (r#"{"tokn": "SECRET-4f1a"}"#, "unknown field `tokn`"),
            (r#"{"flag": true}"#, "missing field `token`"),
        ] {
            let shown = message(json);
            assert!(shown.contains(expected), "{json}: {shown}");
            assert!(!shown.contains(secret), "{json}: {shown}");
        }
        assert!(!message(r#"{"token": 987654321}"#).contains("987654321"));
        // Anything else passes unchanged.
        assert_eq!(
            without_quoted_value("EOF while parsing"),
            "EOF while parsing"
        );
    }
}
