//! Event filters: the optional condition an Event trigger puts on the events it runs for, e.g.
//! `resource.department == "Engineering" && resource.title contains "Admin"`.
//!
//! A filter is one or more conditions `field op value` joined by `&&` (all must hold) and `||`
//! (either side; `&&` binds tighter), with no parentheses. A field is a dotted path into the
//! event (`resource.department`, `input.resource.department`, `resource.groups.0`); the operators
//! are `==`, `!=` and `contains` (a substring of a string, or an element of an array); a value is
//! a JSON literal: `"text"`, a number, `true`, `false` or `null`. An empty filter matches every
//! event. A field the event lacks is `null`: `==` fails on it and `!=` holds.

use serde_json::Value;

/// A parsed filter: alternatives (`||`) of conjunctions (`&&`) of conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    any: Vec<Vec<Condition>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    path: Vec<String>,
    op: Op,
    value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Contains,
}

impl EventFilter {
    /// Parses `text`; the error says where and what to write instead.
    pub fn parse(text: &str) -> Result<EventFilter, String> {
        let mut any = Vec::new();
        if text.trim().is_empty() {
            return Ok(EventFilter { any });
        }
        let mut rest = text.trim();
        let mut all = Vec::new();
        loop {
            let (condition, after) = condition(rest)?;
            all.push(condition);
            let after = after.trim_start();
            if after.is_empty() {
                any.push(all);
                return Ok(EventFilter { any });
            }
            if let Some(next) = after.strip_prefix("&&") {
                rest = next.trim_start();
            } else if let Some(next) = after.strip_prefix("||") {
                any.push(std::mem::take(&mut all));
                rest = next.trim_start();
            } else {
                return Err(format!(
                    "Expected && or || before {:?}. Join conditions with && (all) or || (either).",
                    excerpt(after)
                ));
            }
        }
    }

    /// Whether `event` passes.
    pub fn matches(&self, event: &Value) -> bool {
        self.any.is_empty()
            || self
                .any
                .iter()
                .any(|all| all.iter().all(|c| c.holds(event)))
    }
}

impl Condition {
    fn holds(&self, event: &Value) -> bool {
        let found = self
            .path
            .iter()
            .try_fold(event, |at, key| match at {
                Value::Object(map) => map.get(key),
                Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            })
            .unwrap_or(&Value::Null);
        match self.op {
            Op::Eq => same(found, &self.value),
            Op::Ne => !same(found, &self.value),
            Op::Contains => match (found, &self.value) {
                (Value::String(haystack), Value::String(needle)) => haystack.contains(needle),
                (Value::Array(items), needle) => items.iter().any(|item| same(item, needle)),
                _ => false,
            },
        }
    }
}

/// JSON equality where `1` equals `1.0`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(20).collect()
}

/// One `field op value` at the start of `text`; returns it and what follows.
fn condition(text: &str) -> Result<(Condition, &str), String> {
    let end = text
        .find(|c: char| c.is_whitespace() || c == '=' || c == '!')
        .unwrap_or(text.len());
    let field = &text[..end];
    if field.is_empty() {
        return Err(format!(
            "Expected a field before {:?}, e.g. resource.department == \"Engineering\".",
            excerpt(text)
        ));
    }
    let path = field_path(field)?;
    let rest = text[end..].trim_start();
    let (op, rest) = if let Some(r) = rest.strip_prefix("==") {
        (Op::Eq, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (Op::Ne, r)
    } else if let Some(r) = rest
        .strip_prefix("contains")
        .filter(|r| r.starts_with(char::is_whitespace))
    {
        (Op::Contains, r)
    } else {
        return Err(format!(
            "After {field:?}, expected ==, != or contains, e.g. {field} == \"Engineering\"."
        ));
    };
    let (value, rest) = literal(rest.trim_start(), field)?;
    Ok((Condition { path, op, value }, rest))
}

fn field_path(field: &str) -> Result<Vec<String>, String> {
    let field = field.strip_prefix("input.").unwrap_or(field);
    let parts: Vec<String> = field.split('.').map(str::to_owned).collect();
    let ok = parts.iter().all(|p| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    if ok {
        Ok(parts)
    } else {
        Err(format!(
            "{field:?} is not a field: use dotted names such as resource.department."
        ))
    }
}

/// A JSON literal at the start of `text`.
fn literal<'a>(text: &'a str, field: &str) -> Result<(Value, &'a str), String> {
    let hint = || {
        format!(
            "After the operator on {field:?}, expected a value: \"text\" in double quotes, a number, true, false or null."
        )
    };
    if text.starts_with('"') {
        // The end of the string: the first unescaped quote after the opening one.
        let mut escaped = false;
        for (i, c) in text.char_indices().skip(1) {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    let value = serde_json::from_str(&text[..=i]).map_err(|_| hint())?;
                    return Ok((value, &text[i + 1..]));
                }
                _ => escaped = false,
            }
        }
        return Err(format!(
            "The text value after {field:?} has no closing quote."
        ));
    }
    let end = text
        .find(|c: char| c.is_whitespace() || c == '&' || c == '|')
        .unwrap_or(text.len());
    let word = &text[..end];
    match serde_json::from_str::<Value>(word) {
        Ok(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok((value, &text[end..])),
        _ => Err(hint()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "type": "user.activated",
            "resource": {
                "department": "Engineering",
                "title": "Site Admin",
                "level": 3,
                "groups": ["admins", "staff"],
                "manager": null
            }
        })
    }

    fn passes(filter: &str) -> bool {
        EventFilter::parse(filter).unwrap().matches(&event())
    }

    #[test]
    fn an_empty_filter_matches_everything() {
        assert!(passes(""));
        assert!(passes("   "));
    }

    #[test]
    fn equality_and_inequality() {
        assert!(passes(r#"resource.department == "Engineering""#));
        assert!(passes(r#"input.resource.department == "Engineering""#));
        assert!(!passes(r#"resource.department == "Sales""#));
        assert!(!passes(r#"resource.department == "engineering""#));
        assert!(passes(r#"resource.department != "Sales""#));
        assert!(passes("resource.level == 3"));
        assert!(passes("resource.level == 3.0"));
        assert!(passes("resource.manager == null"));
        assert!(passes(r#"resource.department=="Engineering""#));
    }

    #[test]
    fn a_missing_field_is_null() {
        assert!(!passes(r#"resource.location == "Paris""#));
        assert!(passes(r#"resource.location != "Paris""#));
        assert!(passes("resource.location == null"));
        assert!(!passes(r#"nothing.at.all contains "x""#));
    }

    #[test]
    fn contains_looks_in_strings_and_arrays() {
        assert!(passes(r#"resource.title contains "Admin""#));
        assert!(!passes(r#"resource.title contains "Root""#));
        assert!(passes(r#"resource.groups contains "admins""#));
        assert!(!passes(r#"resource.groups contains "billing""#));
        assert!(passes(r#"resource.groups.1 == "staff""#));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert!(passes(
            r#"resource.department == "Sales" || resource.level == 3 && resource.title contains "Admin""#
        ));
        assert!(!passes(
            r#"resource.department == "Sales" || resource.level == 4 && resource.title contains "Admin""#
        ));
        assert!(passes(
            r#"resource.department == "Engineering" && resource.level != 1"#
        ));
    }

    #[test]
    fn strings_may_hold_operators_and_escapes() {
        let filter = EventFilter::parse(r#"resource.note == "a && b || \"c\"""#).unwrap();
        assert!(filter.matches(&json!({ "resource": { "note": "a && b || \"c\"" } })));
    }

    #[test]
    fn mistakes_are_explained() {
        let error = |f: &str| EventFilter::parse(f).unwrap_err();
        assert!(error(r#"resource.department = "x""#).contains("expected ==, != or contains"));
        assert!(error("resource.department == Engineering").contains("double quotes"));
        assert!(error(r#"resource.department == "x" resource.level == 1"#).contains("&&"));
        assert!(error(r#"resource.department == "x"#).contains("closing quote"));
        assert!(error(r#"== "x""#).contains("Expected a field"));
        assert!(error(r#"resource..x == "x""#).contains("not a field"));
        assert!(error(r#"resource.x == "x" &&"#).contains("Expected a field"));
    }
}
