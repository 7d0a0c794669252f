//! Sequence-flow conditions (Python or JUEL spelling), parsed and evaluated.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(e) = yiwang_workflow::expr::parse(text) {
        let data = serde_json::json!({ "score": 61, "kind": "餐饮", "approved": true, "items": [1, 2, 3], "m": { "k": "v" } });
        if let Ok(v) = e.eval(&data) {
            let _ = yiwang_workflow::expr::truthy(&v);
        }
    }
    let _ = yiwang_workflow::duration::parse(text);
});
