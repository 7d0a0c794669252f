//! BPMN models as modelers upload them: deployment checks, then a bounded run.
#![no_main]

use libfuzzer_sys::fuzz_target;

struct Plain;
impl yiwang_workflow::engine::Env for Plain {
    fn add_working_days(&self, from: jiff::Timestamp, days: u32) -> Result<jiff::Timestamp, String> {
        from.checked_add(jiff::SignedDuration::from_hours(24 * i64::from(days.min(10_000)))).map_err(|e| e.to_string())
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(def) = yiwang_workflow::deploy(text, &|_| true) else { return };
    let at = jiff::Timestamp::from_second(1_767_225_600).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let bounds = yiwang_workflow::engine::Bounds { max_steps: 200, keep_going: &|| true };
    let decisions = serde_json::Map::new();
    let _ = yiwang_workflow::engine::simulate_bounded(&def, serde_json::json!({ "n": 3, "items": [1, 2] }), &decisions, &[], at, &Plain, &bounds);
});
