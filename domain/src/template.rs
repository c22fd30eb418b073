//! Templates: text with placeholders in two forms, `${input.resource.username}` and
//! `{{ .input.body.actor.email }}`. This module finds and checks them; `render` fills them in
//! with the escaping each place needs.

use std::fmt;

/// One step of a placeholder's path: `resource` or `[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// A placeholder found in a template, with its byte range in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub start: usize,
    pub end: usize,
    pub path: Vec<PathSegment>,
}

impl Placeholder {
    /// The path as written in the `${…}` form: `input.resource.groups[0]`.
    pub fn dotted(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                PathSegment::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

/// A template that cannot be read, with where (a character offset, 0-based) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.offset + 1)
    }
}

/// The roots a placeholder may start from.
pub const ROOTS: [&str; 4] = ["input", "steps", "workflow", "run"];

/// Finds every placeholder; refuses an unclosed one, a malformed path or an unknown root.
pub fn placeholders(text: &str) -> Result<Vec<Placeholder>, TemplateError> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        // `$${` is a literal `${`, not a placeholder.
        if rest.starts_with("$${") {
            i += 3;
            continue;
        }
        let (open, close) = if rest.starts_with("${") {
            ("${", "}")
        } else if rest.starts_with("{{") && opens_placeholder(&rest[2..]) {
            ("{{", "}}")
        } else if rest.starts_with("{{") {
            // Literal braces: Jira's `{{monospace}}`, Mustache text for another system. One
            // brace at a time: `{{{ .input.x }}}` is a literal brace around a placeholder.
            i += 1;
            continue;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        // Counted only for an error: counting for every placeholder made a long body with many
        // of them quadratic.
        let char_offset = || text[..i].chars().count();
        let inner_start = i + open.len();
        let Some(len) = text[inner_start..].find(close) else {
            return Err(TemplateError {
                offset: char_offset(),
                message: format!("This {open} is never closed with {close}."),
            });
        };
        let inner = text[inner_start..inner_start + len].trim();
        let path_text = if open == "{{" {
            inner.strip_prefix('.').ok_or_else(|| TemplateError {
                offset: char_offset(),
                message: format!(
                    "Write {{{{ .input.… }}}} with a leading dot, e.g. {{{{ .input.body.actor.email }}}}; found {{{{ {inner} }}}}."
                ),
            })?
        } else {
            inner
        };
        let path = parse_path(path_text).map_err(|message| TemplateError {
            offset: char_offset(),
            message,
        })?;
        let end = inner_start + len + close.len();
        found.push(Placeholder {
            start: i,
            end,
            path,
        });
        i = end;
    }
    Ok(found)
}

/// Whether the text after a `{{` starts a placeholder: a path with its leading dot, or a root
/// named without it (`{{ input.x }}`, refused with how to write it). Anything else, such as
/// Jira's `{{monospace}}` or another system's `{{name}}`, is literal text.
fn opens_placeholder(after: &str) -> bool {
    let after = after.trim_start();
    if after.starts_with('.') {
        return true;
    }
    let word_len = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    ROOTS.contains(&&after[..word_len]) && after[word_len..].starts_with(['.', '[', ' ', '}'])
}

/// Whether a field can be named in a placeholder's path: letters, digits, `_` and `-`, starting
/// with a letter or `_`. (Others, such as SCIM's `urn:ietf:…` keys, cannot be named.)
pub fn is_path_key(key: &str) -> bool {
    key.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The placeholder paths of a trigger's sample input's fields, for *Insert field*: each leaf
/// (`input.resource.username`), a list by its first item (`input.groups[0]`). Only fields a
/// placeholder can name ([`is_path_key`]): offering the others would write a template that fails
/// validation.
pub fn field_paths(sample: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter().filter(|(k, _)| is_path_key(k)) {
                    walk(v, &format!("{at}.{k}"), out);
                }
            }
            serde_json::Value::Array(items) if !items.is_empty() => {
                walk(&items[0], &format!("{at}[0]"), out);
            }
            _ if at != "input" => out.push(at.to_owned()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(sample, "input", &mut out);
    out
}

fn parse_path(text: &str) -> Result<Vec<PathSegment>, String> {
    if text.is_empty() {
        return Err(
            "A placeholder is empty: name a field, e.g. ${input.resource.username}.".into(),
        );
    }
    let mut segments = Vec::new();
    for part in text.split('.') {
        let (key, mut indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !is_path_key(key) {
            return Err(format!(
                "{text:?} is not a field path: use names of letters, digits, _ and -, joined by dots, e.g. input.resource.username."
            ));
        }
        segments.push(PathSegment::Key(key.to_owned()));
        while !indexes.is_empty() {
            let close = indexes
                .find(']')
                .ok_or_else(|| format!("{text:?}: a [ is never closed."))?;
            let index = indexes[1..close]
                .parse::<usize>()
                .map_err(|_| format!("{text:?}: write a list position as [0], [1], …"))?;
            segments.push(PathSegment::Index(index));
            indexes = &indexes[close + 1..];
            if !indexes.is_empty() && !indexes.starts_with('[') {
                return Err(format!("{text:?} is not a field path."));
            }
        }
    }
    match &segments[0] {
        PathSegment::Key(root) if ROOTS.contains(&root.as_str()) => Ok(segments),
        PathSegment::Key(root) => Err(format!(
            "Unknown placeholder {root:?}: start with input (the trigger's data), steps, workflow or run, e.g. ${{input.resource.username}}."
        )),
        PathSegment::Index(_) => unreachable!("a path starts with a key"),
    }
}

/// Where a JSON body with placeholders is invalid: 1-based line and column, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Checks that a request body is valid JSON once each placeholder is read as a string. An empty
/// body is allowed (no body is sent).
pub fn check_json_body(text: &str) -> Result<Vec<Placeholder>, JsonError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let found = placeholders(text).map_err(|e| {
        let (line, column) = line_column(text, e.offset);
        JsonError {
            line,
            column,
            message: e.message,
        }
    })?;
    let masked = mask_placeholders(text, &found);
    let value = serde_json::from_str::<serde_json::Value>(&masked).map_err(|e| JsonError {
        line: e.line(),
        column: e.column(),
        message: json_words(&e),
    })?;
    crate::decode::check_json_depth(&value, "The body").map_err(|message| JsonError {
        line: 1,
        column: 1,
        message,
    })?;
    Ok(found)
}

/// Replaces each placeholder with text of the same length that JSON reads as a string: inside a
/// string, letters; outside, a quoted string. Lines and columns stay where they were.
fn mask_placeholders(text: &str, found: &[Placeholder]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut next = found.iter().peekable();
    let mut i = 0;
    while i < text.len() {
        if let Some(p) = next.peek()
            && p.start == i
        {
            let width = text[p.start..p.end].chars().count();
            if in_string {
                out.extend(std::iter::repeat_n('x', width));
            } else {
                out.push('"');
                out.extend(std::iter::repeat_n('x', width.saturating_sub(2)));
                out.push('"');
            }
            i = p.end;
            next.next();
            continue;
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn json_words(error: &serde_json::Error) -> String {
    let text = error.to_string();
    // serde_json appends " at line L column C", which the caller reports in its own words.
    let plain = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(head, _)| head);
    format!("{plain}. The body must be JSON once placeholders are read as strings.")
}

/// 1-based line and column of a character offset.
pub fn line_column(text: &str, char_offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for c in text.chars().take(char_offset) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// Pretty-prints a JSON body with placeholders, keeping keys in their order and each
/// placeholder as written. Refuses (with line and column) a body that is not valid.
pub fn pretty_json(text: &str) -> Result<String, JsonError> {
    let found = check_json_body(text)?;
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    let mut out = String::new();
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut i = 0;
    let mut next = found.iter().peekable();
    let bytes = text.as_bytes();
    while i < text.len() {
        if let Some(p) = next.peek()
            && p.start == i
        {
            out.push_str(&text[p.start..p.end]);
            i = p.end;
            next.next();
            continue;
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        match c {
            '"' => {
                // Copy the whole string, placeholders and escapes included.
                let start = i;
                i += 1;
                while i < text.len() {
                    if let Some(p) = next.peek()
                        && p.start == i
                    {
                        i = p.end;
                        next.next();
                        continue;
                    }
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        _ => i += text[i..].chars().next().map_or(1, char::len_utf8),
                    }
                }
                out.push_str(&text[start..i.min(text.len())]);
                continue;
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                let empty = text[i + 1..].trim_start().starts_with(close);
                if empty {
                    let rest = text[i + 1..].trim_start();
                    out.push(close);
                    i = text.len() - rest.len() + 1;
                    continue;
                }
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
        i += c.len_utf8();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<String> {
        placeholders(text)
            .unwrap()
            .iter()
            .map(Placeholder::dotted)
            .collect()
    }

    #[test]
    fn both_forms_are_found() {
        assert_eq!(
            paths(
                "Hi ${input.resource.username} from {{ .input.body.actor.email }} and {{.input.x}}"
            ),
            [
                "input.resource.username",
                "input.body.actor.email",
                "input.x"
            ]
        );
        assert_eq!(paths("${input.groups[0].name}"), ["input.groups[0].name"]);
        assert_eq!(paths("${ input.a }"), ["input.a"]);
        assert_eq!(paths("cost: $5, {not a placeholder}"), Vec::<String>::new());
        // Double braces that do not open a path are text (Jira wiki markup, Mustache).
        assert_eq!(
            paths("{{monospace}} {{ user_name }} {{ .input.a }} {{code:java}} {{"),
            ["input.a"]
        );
        assert_eq!(paths("{{inputs}} {{ ${input.b} }}"), ["input.b"]);
        assert_eq!(paths("{{{ .input.c }}}"), ["input.c"]);
    }

    #[test]
    fn insert_field_offers_only_fields_a_placeholder_can_name() {
        let sample = serde_json::json!({
            "resource": { "username": "ada", "groups": [{ "name": "ops" }], "display name": "x" },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "manager": "m" },
            "_id": 1,
            "empty": [],
        });
        let paths = field_paths(&sample);
        assert_eq!(
            paths,
            [
                "input.resource.username",
                "input.resource.groups[0].name",
                "input._id",
                "input.empty"
            ]
        );
        for path in &paths {
            assert!(placeholders(&format!("${{{path}}}")).is_ok(), "{path}");
        }
        assert!(field_paths(&serde_json::json!(1)).is_empty());
        assert!(is_path_key("user-name") && !is_path_key("9lives") && !is_path_key(""));
    }

    #[test]
    fn malformed_placeholders_say_where_and_why() {
        for (text, says) in [
            ("abc ${input.x", "never closed"),
            ("{{ .input.x }", "never closed"),
            ("${}", "empty"),
            ("{{ input.x }}", "leading dot"),
            ("{{input}}", "leading dot"),
            ("{{ steps[0] }}", "leading dot"),
            ("${secrets.token}", "Unknown placeholder"),
            ("${input..x}", "not a field path"),
            ("é ${input.ü}", "not a field path"),
            ("${input.x[a]}", "[0]"),
            ("${input.x[0}", "never closed"),
        ] {
            let err = placeholders(text);
            let err = err.expect_err(text);
            assert!(err.message.contains(says), "{text}: {}", err.message);
        }
        assert_eq!(placeholders("ab\n${").unwrap_err().offset, 3);
    }

    #[test]
    fn json_bodies_are_checked_with_placeholders_read_as_strings() {
        for ok in [
            r#"{ "summary": "${input.resource.username}", "email": {{ .input.body.actor.email }} }"#,
            r#"{"n": ${input.count}, "list": [${input.a}, "x${input.b}y"]}"#,
            r#"{"quote": "a \"${input.a}\" b"}"#,
            "",
            "  ",
            "[]",
        ] {
            assert!(
                check_json_body(ok).is_ok(),
                "{ok}: {:?}",
                check_json_body(ok)
            );
        }
        let err =
            check_json_body("{\n  \"a\": 1,\n  \"b\": ${input.x}\n  \"c\": 2\n}").unwrap_err();
        assert_eq!((err.line, err.column), (4, 3), "{err}");
        assert!(
            err.to_string()
                .starts_with("Line 4, column 3: expected `,` or `}`"),
            "{err}"
        );
        let err = check_json_body("{\"a\": ${input.x").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("never closed"));
        assert!(check_json_body("{\"a\": }").is_err());
        assert!(check_json_body("{\"a\": 1} trailing").is_err());
        // Nesting: 64 levels pass, 65 are refused by name.
        let nested =
            |levels: usize| format!("{}${{input.x}}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(check_json_body(&nested(64)).is_ok());
        let err = check_json_body(&nested(65)).unwrap_err();
        assert!(err.message.contains("65 levels deep; at most 64"), "{err}");
    }

    #[test]
    fn bodies_are_pretty_printed_in_order_with_placeholders_kept() {
        let pretty =
            pretty_json(r#"{"z":1,"a":[${input.x},"s, {x}: ${input.y}"],"e":{}, "q": "a\"b"}"#)
                .unwrap();
        assert_eq!(
            pretty,
            "{\n  \"z\": 1,\n  \"a\": [\n    ${input.x},\n    \"s, {x}: ${input.y}\"\n  ],\n  \"e\": {},\n  \"q\": \"a\\\"b\"\n}"
        );
        assert!(check_json_body(&pretty).is_ok());
        assert!(pretty_json("{\"a\": }").is_err());
        assert_eq!(pretty_json("  ").unwrap(), "");
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é€x", 2), (1, 3));
    }
}
