//! E-form schemas as editors write them, and form data as applicants send it
//! (JSON and HTML form posts): the first half of the input is the schema, the
//! rest the data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yiwang_form::Schema;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (schema_bytes, rest) = data.split_at(split);
    let Ok(schema) = serde_json::from_slice::<Schema>(schema_bytes) else { return };
    let _ = schema.definition_problems();
    let today = jiff::civil::date(2026, 12, 6);
    let rest = rest.get(1..).unwrap_or_default();
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(rest) {
        let _ = schema.check(&value, today);
        let _ = schema.check_draft(&value, today);
        let filled = yiwang_form::fill(&schema, &value, &yiwang_form::Sources::default());
        let _ = yiwang_form::field_views(&schema, &filled, &[]);
    }
    if let Ok(text) = std::str::from_utf8(rest) {
        let pairs: Vec<(String, String)> =
            text.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let value = yiwang_form::coerce_pairs(&schema, &pairs);
        let _ = schema.check(&value, today);
    }
});
