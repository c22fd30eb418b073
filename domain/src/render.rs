//! Rendering templates against a run's data, by context and never by pasting text:
//! - a JSON body is parsed first and placeholders are replaced inside its string values, so a
//!   value can never add keys or break the document;
//! - a path value is percent-encoded as one segment (or one query value);
//! - a header value with a line break fails the step.
//!
//! A missing field fails with its name; there are no silent empty strings.

use std::fmt;

use serde_json::{Map, Value};

use crate::template::{PathSegment, Placeholder, placeholders};

/// What templates can refer to: `input` (the trigger's payload), `steps.<key>` (earlier steps'
/// `status`, `headers` and `body`), `workflow` (`id`, `name`) and `run` (`id`, `started_at`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunContext {
    root: Map<String, Value>,
    /// For the canvas preview: steps have not run and the sample input may lack a field, so a
    /// missing value shows as a marker instead of failing.
    preview: bool,
}

/// Why a template could not be rendered; the step fails with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError(pub String);

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RenderError {}

impl RunContext {
    pub fn new(input: Value) -> RunContext {
        let mut root = Map::new();
        root.insert("input".into(), input);
        root.insert("steps".into(), Value::Object(Map::new()));
        RunContext {
            root,
            preview: false,
        }
    }

    /// The canvas preview's context: the sample input, and markers for steps' outputs.
    pub fn preview(sample_input: Value, workflow_name: &str) -> RunContext {
        let mut cx = RunContext::new(sample_input).workflow("‹workflow id›", workflow_name);
        cx.root.insert(
            "run".into(),
            serde_json::json!({ "id": "‹run id›", "started_at": "‹run start›" }),
        );
        cx.preview = true;
        cx
    }

    pub fn workflow(mut self, id: &str, name: &str) -> RunContext {
        self.root.insert(
            "workflow".into(),
            serde_json::json!({ "id": id, "name": name }),
        );
        self
    }

    pub fn run(mut self, id: &str, started_at: &str) -> RunContext {
        self.root.insert(
            "run".into(),
            serde_json::json!({ "id": id, "started_at": started_at }),
        );
        self
    }

    /// Records a finished step's result for the steps after it.
    pub fn add_step(&mut self, key: &str, status: u16, headers: Value, body: Value) {
        if let Some(Value::Object(steps)) = self.root.get_mut("steps") {
            steps.insert(
                key.to_owned(),
                serde_json::json!({ "status": status, "headers": headers, "body": body }),
            );
        }
    }

    /// The value a placeholder names, or why it is not there (naming the deepest field that is).
    fn resolve(&self, placeholder: &Placeholder) -> Result<Resolved<'_>, RenderError> {
        let path = &placeholder.path;
        let dotted = placeholder.dotted();
        let Some(PathSegment::Key(root)) = path.first() else {
            return Err(RenderError(format!("{dotted} is not a field path.")));
        };
        let Some(mut at) = self.root.get(root) else {
            return Err(RenderError(format!(
                "{dotted}: {root} is not known here; use input, steps, workflow or run."
            )));
        };
        let mut found = root.clone();
        for (depth, segment) in path.iter().enumerate().skip(1) {
            let next = match segment {
                PathSegment::Key(key) => at.get(key),
                PathSegment::Index(i) => at.get(*i),
            };
            match next {
                Some(value) => {
                    at = value;
                    match segment {
                        PathSegment::Key(key) => {
                            found.push('.');
                            found.push_str(key);
                        }
                        PathSegment::Index(i) => found.push_str(&format!("[{i}]")),
                    }
                }
                // The preview shows the whole request: a value known only at run time, or
                // missing from the sample input, is marked where it goes.
                None if self.preview && root == "steps" => {
                    return Ok(Resolved::Marker(format!("‹{dotted}›")));
                }
                None if self.preview => {
                    return Ok(Resolved::Marker(format!(
                        "‹{dotted}: not in the sample input›"
                    )));
                }
                None => return Err(missing(&dotted, root, path, depth, &found, at, segment)),
            }
        }
        Ok(Resolved::Value(at))
    }
}

enum Resolved<'a> {
    Value(&'a Value),
    /// Preview only: a value known at run time.
    Marker(String),
}

fn missing(
    dotted: &str,
    root: &str,
    path: &[PathSegment],
    depth: usize,
    found: &str,
    at: &Value,
    segment: &PathSegment,
) -> RenderError {
    let whose = match root {
        "input" => "the trigger input".to_owned(),
        "steps" if depth == 1 => {
            return RenderError(format!(
                "{dotted}: there is no earlier step with the key {}.",
                match segment {
                    PathSegment::Key(key) => key.as_str(),
                    PathSegment::Index(_) => "?",
                }
            ));
        }
        "steps" => match &path[1] {
            PathSegment::Key(key) => format!("the output of step {key}"),
            PathSegment::Index(_) => "the steps".to_owned(),
        },
        other => other.to_owned(),
    };
    let why = match (segment, at) {
        (PathSegment::Key(key), Value::Object(_)) => format!("{found} has no field {key:?}"),
        (PathSegment::Index(i), Value::Array(items)) => {
            format!("{found} has {} item(s), so there is no [{i}]", items.len())
        }
        (PathSegment::Key(_), other) => format!("{found} is {}, not an object", kind(other)),
        (PathSegment::Index(_), other) => format!("{found} is {}, not a list", kind(other)),
    };
    RenderError(format!("{dotted} is not in {whose}: {why}."))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value as text inside a longer string: text as it is, anything else as compact JSON.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A piece of a template: plain text (with `$${` already read as `${`) or a placeholder.
enum Piece<'a> {
    Text(&'a str),
    Value(&'a Placeholder),
}

/// Walks `text` piece by piece.
fn expand<'a>(
    text: &'a str,
    found: &'a [Placeholder],
    mut each: impl FnMut(Piece<'a>) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    let mut at = 0;
    for p in found {
        unescape(&text[at..p.start], &mut each)?;
        each(Piece::Value(p))?;
        at = p.end;
    }
    unescape(&text[at..], &mut each)
}

fn unescape<'a>(
    text: &'a str,
    each: &mut impl FnMut(Piece<'a>) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    let mut rest = text;
    while let Some(i) = rest.find("$${") {
        each(Piece::Text(&rest[..i]))?;
        each(Piece::Text("${"))?;
        rest = &rest[i + 3..];
    }
    each(Piece::Text(rest))
}

/// Renders a body template to JSON text; `None` for an empty template (no body is sent).
pub fn render_body(template: &str, cx: &RunContext) -> Result<Option<String>, RenderError> {
    if template.trim().is_empty() {
        return Ok(None);
    }
    let document = parse_body_template(template)?;
    let rendered = render_value(&document, cx)?;
    Ok(Some(rendered.to_string()))
}

/// Checks a body template as [`render_body`] will read it, beyond its syntax
/// ([`crate::template::check_json_body`]): each string, once its JSON escapes are decoded, holds
/// only placeholders that can be read (`\u0024{secrets.x}` is `${secrets.x}`), and no key holds
/// one. A template that passes renders whenever the data it names is there.
pub fn check_body_template(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Ok(());
    }
    let document = parse_body_template(template).map_err(|e| e.0)?;
    let mut stack = vec![&document];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(text) => {
                placeholders(text).map_err(|e| e.message)?;
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(fields) => {
                for (key, value) in fields {
                    check_key(key)?;
                    stack.push(value);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A body key holds no placeholder (nor a malformed one).
fn check_key(key: &str) -> Result<(), String> {
    match placeholders(key) {
        Ok(found) if found.is_empty() => Ok(()),
        _ => Err(format!(
            "The body key {key:?} holds a placeholder: placeholders go in values, not keys."
        )),
    }
}

/// The body template as JSON, with each placeholder written `${path}` inside a string (a bare
/// placeholder becomes a string that is exactly that placeholder).
fn parse_body_template(template: &str) -> Result<Value, RenderError> {
    let found = crate::template::check_json_body(template)
        .map_err(|e| RenderError(format!("The body template is not valid: {e}")))?;
    let mut canonical = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut at = 0;
    for p in &found {
        for c in template[at..p.start].chars() {
            track_string(c, &mut in_string, &mut escaped);
        }
        canonical.push_str(&template[at..p.start]);
        let written = format!("${{{}}}", p.dotted());
        if in_string {
            canonical.push_str(&written);
        } else {
            canonical.push('"');
            canonical.push_str(&written);
            canonical.push('"');
        }
        at = p.end;
    }
    canonical.push_str(&template[at..]);
    serde_json::from_str(&canonical)
        .map_err(|e| RenderError(format!("The body template is not valid JSON: {e}")))
}

fn track_string(c: char, in_string: &mut bool, escaped: &mut bool) {
    if *in_string {
        if *escaped {
            *escaped = false;
        } else if c == '\\' {
            *escaped = true;
        } else if c == '"' {
            *in_string = false;
        }
    } else if c == '"' {
        *in_string = true;
    }
}

fn render_value(value: &Value, cx: &RunContext) -> Result<Value, RenderError> {
    Ok(match value {
        Value::String(text) => render_string(text, cx)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, cx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, v) in fields {
                check_key(key).map_err(RenderError)?;
                out.insert(key.clone(), render_value(v, cx)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// A string value: exactly one placeholder takes the value's own JSON type; otherwise the
/// values are written into the text.
fn render_string(text: &str, cx: &RunContext) -> Result<Value, RenderError> {
    let found = placeholders(text).map_err(|e| RenderError(e.message))?;
    if let [only] = found.as_slice()
        && only.start == 0
        && only.end == text.len()
    {
        return Ok(match cx.resolve(only)? {
            Resolved::Value(v) => v.clone(),
            Resolved::Marker(m) => Value::String(m),
        });
    }
    let mut out = String::with_capacity(text.len());
    expand(text, &found, |piece| {
        match piece {
            Piece::Text(s) => out.push_str(s),
            Piece::Value(p) => match cx.resolve(p)? {
                Resolved::Value(v) => out.push_str(&as_text(v)),
                Resolved::Marker(m) => out.push_str(&m),
            },
        }
        Ok(())
    })?;
    Ok(Value::String(out))
}

/// Renders an endpoint path: each value is percent-encoded as one path segment, or as one query
/// value after `?`, so no value can change the route.
pub fn render_path(template: &str, cx: &RunContext) -> Result<String, RenderError> {
    let found = placeholders(template).map_err(|e| RenderError(e.message))?;
    let query_at = template.find('?');
    let mut out = String::with_capacity(template.len());
    expand(template, &found, |piece| {
        let p = match piece {
            Piece::Text(s) => {
                out.push_str(s);
                return Ok(());
            }
            Piece::Value(p) => p,
        };
        {
            let text = match cx.resolve(p)? {
                Resolved::Value(v) => as_text(v),
                Resolved::Marker(m) => m,
            };
            let in_query = query_at.is_some_and(|q| p.start > q);
            if !in_query {
                let dotted = p.dotted();
                if text.is_empty() {
                    return Err(RenderError(format!(
                        "{dotted} is empty, so the path would name a different resource."
                    )));
                }
                if text.chars().all(|c| c == '.') {
                    return Err(RenderError(format!(
                        "{dotted} is {text:?}, which would move the path out of its place."
                    )));
                }
            }
            percent_encode(&text, &mut out);
            Ok(())
        }
    })?;
    // A value next to literal dots (`/.${input.x}` with x = ".") could still make a . or ..
    // segment, which would move the path.
    let path_part = out.split('?').next().unwrap_or_default();
    if path_part.split('/').any(|segment| {
        let s = segment.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    }) {
        return Err(RenderError(
            "The rendered path has a . or .. segment, which would move it out of its place.".into(),
        ));
    }
    Ok(out)
}

/// Encodes every byte except the unreserved ones (RFC 3986: letters, digits, `-._~`).
pub fn percent_encode(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Renders a header value; a value with a line break or another control character fails.
pub fn render_header(name: &str, template: &str, cx: &RunContext) -> Result<String, RenderError> {
    let found = placeholders(template).map_err(|e| RenderError(e.message))?;
    let mut out = String::with_capacity(template.len());
    expand(template, &found, |piece| {
        let p = match piece {
            Piece::Text(s) => {
                out.push_str(s);
                return Ok(());
            }
            Piece::Value(p) => p,
        };
        {
            let text = match cx.resolve(p)? {
                Resolved::Value(v) => as_text(v),
                Resolved::Marker(m) => m,
            };
            if text.chars().any(|c| c == '\r' || c == '\n') {
                return Err(RenderError(format!(
                    "Header {name}: {} contains a line break, which a header value cannot hold.",
                    p.dotted()
                )));
            }
            if text.chars().any(|c| c.is_control() && c != '\t') {
                return Err(RenderError(format!(
                    "Header {name}: {} contains a control character, which a header value cannot hold.",
                    p.dotted()
                )));
            }
            out.push_str(&text);
            Ok(())
        }
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cx() -> RunContext {
        let mut cx = RunContext::new(json!({
            "resource": { "username": "ada", "id": 42, "groups": ["eng", "ops"], "manager": null },
            "body": { "actor": { "email": "root@example.com" } },
        }))
        .workflow("wf1", "Provisioning")
        .run("run1", "2026-11-23T10:00:00Z");
        cx.add_step(
            "lookup",
            200,
            json!({ "content-type": "application/json" }),
            json!({ "id": "u-7" }),
        );
        cx
    }

    fn body(template: &str) -> Value {
        serde_json::from_str(&render_body(template, &cx()).unwrap().unwrap()).unwrap()
    }

    #[test]
    fn both_syntaxes_render_the_same_value() {
        assert_eq!(
            body(
                r#"{"a": "${input.resource.username}", "b": "{{ .input.resource.username }}", "c": "{{.input.body.actor.email}}"}"#
            ),
            json!({ "a": "ada", "b": "ada", "c": "root@example.com" })
        );
    }

    #[test]
    fn a_lone_placeholder_keeps_its_type_and_text_around_one_makes_text() {
        assert_eq!(
            body(
                r#"{"id": "${input.resource.id}", "bare": ${input.resource.groups}, "m": "{{ .input.resource.manager }}",
                    "text": "user ${input.resource.username} #${input.resource.id} in ${input.resource.groups}"}"#
            ),
            json!({
                "id": 42, "bare": ["eng", "ops"], "m": null,
                "text": "user ada #42 in [\"eng\",\"ops\"]"
            })
        );
    }

    #[test]
    fn steps_workflow_and_run_are_in_the_context() {
        assert_eq!(
            body(
                r#"{"u": "${steps.lookup.body.id}", "s": "${steps.lookup.status}", "w": "${workflow.name}", "r": "${run.id} at ${run.started_at}", "g": "${input.resource.groups[1]}"}"#
            ),
            json!({ "u": "u-7", "s": 200, "w": "Provisioning", "r": "run1 at 2026-11-23T10:00:00Z", "g": "ops" })
        );
    }

    #[test]
    fn hostile_values_stay_inside_their_string() {
        for hostile in [
            r#""}, "admin": true, "x": {""#,
            "quote \" backslash \\ newline \n tab \t nul \u{0}",
            "${input.secret} {{ .input.secret }}",
            "ünïcødé ✓ 𝄞",
        ] {
            let cx = RunContext::new(json!({ "v": hostile, "secret": "S" }));
            let out = render_body(
                r#"{"summary": "Name: ${input.v}", "raw": "${input.v}"}"#,
                &cx,
            )
            .unwrap()
            .unwrap();
            let parsed: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(
                parsed,
                json!({ "summary": format!("Name: {hostile}"), "raw": hostile })
            );
        }
    }

    #[test]
    fn double_braces_that_open_no_path_are_sent_as_written() {
        // Jira wiki markup in a ticket description, checked and rendered alike.
        let template = r#"{"description": "Run {{kinit}} as ${input.resource.id}", "k": "{{x}}"}"#;
        assert!(crate::template::check_json_body(template).is_ok());
        assert_eq!(
            body(template),
            json!({ "description": "Run {{kinit}} as 42", "k": "{{x}}" })
        );
        // Written as JSON escapes, the same text is the same: literal, not a failing run.
        let escaped = r#"{"k": "\u007b\u007bmonospace}}", "{{b}}": 1}"#;
        assert!(escaped.contains("\\u007b"));
        assert_eq!(check_body_template(escaped), Ok(()));
        assert_eq!(body(escaped), json!({ "k": "{{monospace}}", "{{b}}": 1 }));
        // What cannot render is refused when checked, not at every run.
        for (template, says) in [
            (r#"{"k": "\u0024{secrets.token}"}"#, "Unknown placeholder"),
            (
                r#"{"${input.a}": 1}"#,
                "placeholders go in values, not keys",
            ),
            (
                r#"{"\u0024{input.a}": 1}"#,
                "placeholders go in values, not keys",
            ),
        ] {
            let error = check_body_template(template).unwrap_err();
            assert!(error.contains(says), "{template}: {error}");
        }
    }

    #[test]
    fn a_dollar_escape_writes_a_literal_placeholder() {
        assert_eq!(
            body(r#"{"t": "cost $${input.resource.id} is ${input.resource.id}"}"#),
            json!({ "t": "cost ${input.resource.id} is 42" })
        );
        assert_eq!(
            render_header("X", "$${x}", &cx()).unwrap(),
            "${x}",
            "headers read the escape too"
        );
    }

    #[test]
    fn missing_fields_name_the_deepest_one_that_exists() {
        let err = |t: &str| render_body(t, &cx()).unwrap_err().0;
        assert_eq!(
            err(r#"{"a": "${input.resource.email}"}"#),
            "input.resource.email is not in the trigger input: input.resource has no field \"email\"."
        );
        assert_eq!(
            err(r#"{"a": "${input.resource.groups[5]}"}"#),
            "input.resource.groups[5] is not in the trigger input: input.resource.groups has 2 item(s), so there is no [5]."
        );
        assert_eq!(
            err(r#"{"a": "${input.resource.username.first}"}"#),
            "input.resource.username.first is not in the trigger input: input.resource.username is text, not an object."
        );
        assert_eq!(
            err(r#"{"a": "${steps.create.body.id}"}"#),
            "steps.create.body.id: there is no earlier step with the key create."
        );
        assert_eq!(
            err(r#"{"a": "${steps.lookup.body.name}"}"#),
            "steps.lookup.body.name is not in the output of step lookup: steps.lookup.body has no field \"name\"."
        );
    }

    #[test]
    fn placeholders_in_keys_are_refused() {
        let e = render_body(r#"{"${input.resource.username}": 1}"#, &cx()).unwrap_err();
        assert!(e.0.contains("not keys"), "{e}");
    }

    #[test]
    fn an_empty_body_sends_nothing() {
        assert_eq!(render_body("  \n", &cx()).unwrap(), None);
    }

    #[test]
    fn path_values_are_one_segment_each() {
        let cx = RunContext::new(json!({
            "up": "../admin", "slash": "a/b", "q": "x&y=z #1", "id": 7, "dots": "..", "empty": ""
        }));
        assert_eq!(
            render_path("/users/${input.up}/${input.slash}", &cx).unwrap(),
            "/users/..%2Fadmin/a%2Fb"
        );
        assert_eq!(
            render_path("/users/${input.id}?filter=${input.q}&e=${input.empty}", &cx).unwrap(),
            "/users/7?filter=x%26y%3Dz%20%231&e="
        );
        assert!(
            render_path("/users/${input.dots}", &cx)
                .unwrap_err()
                .0
                .contains("out of its place")
        );
        assert!(
            render_path(
                "/users/.${input.dot}",
                &RunContext::new(json!({ "dot": "." }))
            )
            .unwrap_err()
            .0
            .contains("out of its place")
        );
        assert!(
            render_path("/users/${input.empty}", &cx)
                .unwrap_err()
                .0
                .contains("is empty")
        );
    }

    #[test]
    fn header_values_with_line_breaks_fail() {
        let cx = RunContext::new(json!({ "v": "a\r\nX-Admin: 1", "ok": "abc" }));
        let e = render_header("X-User", "${input.v}", &cx).unwrap_err();
        assert_eq!(
            e.0,
            "Header X-User: input.v contains a line break, which a header value cannot hold."
        );
        assert_eq!(
            render_header("X-User", "id {{ .input.ok }}", &cx).unwrap(),
            "id abc"
        );
    }

    #[test]
    fn the_preview_marks_values_known_only_at_run_time() {
        let cx = RunContext::preview(json!({ "a": 1 }), "Wf");
        assert_eq!(
            render_body(
                r#"{"x": "${steps.s.body.id}", "a": "${input.a}", "w": "${workflow.name}"}"#,
                &cx
            )
            .unwrap()
            .unwrap(),
            r#"{"x":"‹steps.s.body.id›","a":1,"w":"Wf"}"#
        );
        assert_eq!(
            render_body(r#"{"x": "${input.b}"}"#, &cx).unwrap().unwrap(),
            r#"{"x":"‹input.b: not in the sample input›"}"#
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn decode(segment: &str) -> String {
            let bytes = segment.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' {
                    out.push(u8::from_str_radix(&segment[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever the input holds, the body is valid JSON with the value intact and no
            /// new keys. (The prefix has no `$` or `{`: `$${` is the escape, `{{` a placeholder.)
            #[test]
            fn any_value_stays_inside_its_string(value in any::<String>(), prefix in "[a-z \"\\\\}]{0,8}") {
                let cx = RunContext::new(serde_json::json!({ "v": value }));
                let template = format!(
                    "{{\"a\": \"{}${{input.v}}\", \"b\": \"${{input.v}}\", \"c\": [${{input.v}}]}}",
                    prefix.replace('\\', "\\\\").replace('"', "\\\"")
                );
                let out = render_body(&template, &cx).unwrap().unwrap();
                let parsed: Value = serde_json::from_str(&out).unwrap();
                let object = parsed.as_object().unwrap();
                prop_assert_eq!(object.len(), 3);
                prop_assert_eq!(&object["a"], &Value::String(format!("{prefix}{value}")));
                prop_assert_eq!(&object["b"], &Value::String(value.clone()));
                prop_assert_eq!(&object["c"], &serde_json::json!([value]));
            }

            /// Any JSON value keeps its type and content through a lone placeholder.
            #[test]
            fn lone_placeholders_keep_any_json_value(value in arb_json()) {
                let cx = RunContext::new(serde_json::json!({ "v": value }));
                let out = render_body("{\"x\": \"${input.v}\"}", &cx).unwrap().unwrap();
                let parsed: Value = serde_json::from_str(&out).unwrap();
                prop_assert_eq!(&parsed["x"], &value);
            }

            /// A path value is one segment that decodes back to the value; it never adds a
            /// segment, a query or a fragment.
            #[test]
            fn path_values_are_exactly_one_segment(value in any::<String>()) {
                let cx = RunContext::new(serde_json::json!({ "v": value }));
                match render_path("/users/${input.v}/roles", &cx) {
                    Ok(path) => {
                        let segments: Vec<&str> = path.split('/').collect();
                        prop_assert_eq!(segments.len(), 4, "{}", path);
                        prop_assert!(!path.contains('?') && !path.contains('#'));
                        prop_assert_eq!(decode(segments[2]), value);
                    }
                    Err(_) => prop_assert!(value.is_empty() || value.chars().all(|c| c == '.')),
                }
            }

            /// Header values never carry a line break.
            #[test]
            fn header_values_never_break_lines(value in any::<String>()) {
                let cx = RunContext::new(serde_json::json!({ "v": value }));
                if let Ok(h) = render_header("X", "id ${input.v}", &cx) {
                    prop_assert!(!h.contains('\r') && !h.contains('\n'));
                }
            }

            /// The parser never panics, whatever the template.
            #[test]
            fn templates_never_panic(text in any::<String>(), tail in "[${}.\\[\\] a-z0-9\"]{0,40}") {
                let text = format!("{text}{tail}");
                let cx = RunContext::new(serde_json::json!({}));
                let _ = render_body(&text, &cx);
                let _ = render_path(&text, &cx);
                let _ = render_header("X", &text, &cx);
            }
        }

        fn arb_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| serde_json::json!(n)),
                any::<String>().prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map("[a-z$\"{}]{0,6}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }
    }
}
