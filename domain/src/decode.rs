//! Messages about bodies that did not decode, fit to send back.

/// serde's message without the value it quotes: "invalid type: integer `123`, expected a
/// string" becomes "invalid type: integer, expected a string", and "unknown variant `xyz`,
/// expected one of …" becomes "unknown variant, expected one of …". A secret sent with the wrong
/// JSON type, or pasted into the wrong field, is not echoed back in the error (nor into a proxy's
/// or client's log of it). Names (unknown or missing fields) are kept: they are not values.
pub fn without_quoted_value(message: &str) -> String {
    without_rust_names(&quoted_value_left_out(message))
}

/// serde names the Rust type it expected (`expected struct ConnectorInput`, `expected
/// internally tagged enum Trigger`): said instead in JSON's words.
fn without_rust_names(message: &str) -> String {
    // Longest first: "struct variant X" is not "struct X".
    const SAID: [(&str, &str); 13] = [
        (
            "data did not match any variant of untagged enum ",
            "the value matches none of the accepted forms",
        ),
        ("internally tagged enum ", "an object with a \"type\""),
        ("adjacently tagged enum ", "an object with a \"type\""),
        ("untagged enum ", "one of the accepted forms"),
        ("newtype variant ", "a value"),
        ("newtype struct ", "a value"),
        ("struct variant ", "a JSON object"),
        ("tuple variant ", "a JSON array"),
        ("unit variant ", "a name"),
        ("unit struct ", "null"),
        ("tuple struct ", "a JSON array"),
        ("struct ", "a JSON object"),
        ("enum ", "one of the documented values"),
    ];
    let mut out = message.to_owned();
    for (rust, json) in SAID {
        while let Some(at) = out.find(rust) {
            let name_end = out[at + rust.len()..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(out.len(), |n| at + rust.len() + n);
            if name_end == at + rust.len() {
                break; // Not followed by a type name: leave it.
            }
            out.replace_range(at..name_end, json);
        }
    }
    out
}

fn quoted_value_left_out(message: &str) -> String {
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

/// The most levels of objects and arrays a JSON document from outside may nest (a run's input,
/// a webhook's or an event's body, a sample input, a request body template). serde_json stops
/// reading at 128, and a run's input is read again inside the levels its run record and views
/// add: well below that, every copy of it can be read back.
pub const MAX_JSON_DEPTH: usize = 64;

/// How many levels of objects and arrays `value` nests (a scalar: 0). Walks without recursion.
pub fn json_depth(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    let mut deepest = 0;
    let mut stack = vec![(value, 0_usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(fields) => Box::new(fields.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    deepest
}

/// `Err` with a message naming `what` when `value` nests deeper than [`MAX_JSON_DEPTH`].
pub fn check_json_depth(value: &serde_json::Value, what: &str) -> Result<(), String> {
    let depth = json_depth(value);
    if depth > MAX_JSON_DEPTH {
        return Err(format!(
            "{what} nests objects and arrays {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted. Send a flatter document."
        ));
    }
    Ok(())
}

/// `Err` naming the first integer in a JSON text that no 64-bit integer holds
/// (`123456789012345678901234`): read, it would become a float with other digits
/// (`1.2345678901234568e23`), so the value a workflow sends on would not be the one received.
/// Numbers with a fraction or an exponent are floats already and pass.
pub fn check_exact_integers(text: &str, what: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let (mut i, mut in_string, mut escaped) = (0, false, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < bytes.len()
                && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
            {
                i += 1;
            }
            let token = &text[start..i];
            let integer = !token.contains(['.', 'e', 'E']);
            if integer && token.parse::<i64>().is_err() && token.parse::<u64>().is_err() {
                let shown: String = token.chars().take(24).collect();
                let more = if token.len() > 24 { "…" } else { "" };
                return Err(format!(
                    "{what} holds the number {shown}{more}, too large to keep exactly (a JSON number is kept as a 64-bit integer). Send it as a string: \"{shown}{more}\"."
                ));
            }
            continue;
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{MAX_JSON_DEPTH, check_json_depth, json_depth, without_quoted_value};
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
        // Rust's type names are said in JSON's words.
        for (serde_says, shown) in [
            (
                "invalid type: string, expected struct ConnectorInput at line 1 column 5",
                "invalid type: string, expected a JSON object at line 1 column 5",
            ),
            (
                "invalid type: null, expected internally tagged enum Trigger",
                "invalid type: null, expected an object with a \"type\"",
            ),
            (
                "data did not match any variant of untagged enum Value",
                "the value matches none of the accepted forms",
            ),
            (
                "expected enum Role",
                "expected one of the documented values",
            ),
            (
                "invalid type: map, expected struct variant Trigger::Manual",
                "invalid type: map, expected a JSON object",
            ),
            ("expected unit struct Empty", "expected null"),
        ] {
            assert_eq!(without_quoted_value(serde_says), shown);
        }
    }

    #[test]
    fn depth_counts_levels_of_objects_and_arrays() {
        use serde_json::json;
        assert_eq!(json_depth(&json!(1)), 0);
        assert_eq!(json_depth(&json!({})), 1);
        assert_eq!(json_depth(&json!({"a": [1, {"b": []}], "c": 2})), 4);
        let mut deep = json!(null);
        for _ in 0..MAX_JSON_DEPTH {
            deep = json!([deep]);
        }
        assert_eq!(json_depth(&deep), MAX_JSON_DEPTH);
        assert!(check_json_depth(&deep, "The body").is_ok());
        let deeper = json!({ "x": deep });
        assert_eq!(
            check_json_depth(&deeper, "The body").unwrap_err(),
            "The body nests objects and arrays 65 levels deep; at most 64 are accepted. Send a flatter document."
        );
    }

    #[test]
    fn integers_beyond_64_bits_are_named() {
        use super::check_exact_integers as check;
        for ok in [
            r#"{"id": 9223372036854775807, "u": 18446744073709551615, "n": -9223372036854775808}"#,
            r#"{"f": 1.5e300, "g": 123456789012345678901234.5, "s": "123456789012345678901234"}"#,
            r#"{"escaped \" 123456789012345678901234": [1, -2, 3e4]}"#,
            "",
        ] {
            assert_eq!(check(ok, "The body"), Ok(()), "{ok}");
        }
        assert_eq!(
            check(r#"{"a": [1, 123456789012345678901234]}"#, "The body").unwrap_err(),
            "The body holds the number 123456789012345678901234, too large to keep exactly (a JSON number is kept as a 64-bit integer). Send it as a string: \"123456789012345678901234\"."
        );
        assert!(check("-18446744073709551616", "The input").is_err());
    }
}
