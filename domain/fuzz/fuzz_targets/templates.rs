//! Fuzzes the template parser and renderers with arbitrary templates and values: nothing may
//! panic, a rendered body is always valid JSON, a rendered path never gains a segment from a
//! value, and a rendered header never holds a line break.
#![no_main]

use domain::render::{RunContext, render_body, render_header, render_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first half is the template, the second the value it may refer to as ${input.v}.
    let split = text.char_indices().nth(text.chars().count() / 2).map_or(text.len(), |(i, _)| i);
    let (template, value) = text.split_at(split);
    let cx = RunContext::new(serde_json::json!({ "v": value, "n": { "v": value } }));
    let _ = domain::template::placeholders(template);
    if let Ok(Some(body)) = render_body(template, &cx) {
        serde_json::from_str::<serde_json::Value>(&body).expect("a rendered body is JSON");
    }
    if let Ok(path) = render_path("/a/${input.v}/b", &cx) {
        assert_eq!(path.matches('/').count(), 3, "a value added a segment: {path}");
    }
    let _ = render_path(template, &cx);
    if let Ok(header) = render_header("X", template, &cx) {
        let from_value = header.contains('\r') || header.contains('\n');
        assert!(!from_value || template.contains('\r') || template.contains('\n'));
    }
});
