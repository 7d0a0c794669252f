//! Catalog import files (our JSON and the national field names): each row
//! read, checked, published-checked and exported again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(rows) = yiwang_catalog::exchange::parse_file(text) else { return };
    let docs: Vec<yiwang_catalog::ItemDoc> = rows.into_iter().filter_map(|r| r.outcome.ok()).collect();
    for doc in &docs {
        let _ = yiwang_catalog::validate::validate(doc);
        let _ = yiwang_catalog::validate::publishable(doc);
        let _ = yiwang_catalog::guide::badges(doc);
    }
    let _ = yiwang_catalog::exchange::to_cpsv_ap(&docs, "http://node.invalid");
    let _ = yiwang_catalog::exchange::to_yiwang_json(&docs);
});
