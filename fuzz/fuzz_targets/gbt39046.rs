//! GB/T 39046 records from department systems, turned into case events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yiwang_case::gbt39046::Record;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = serde_json::from_slice::<Record>(data) else {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = yiwang_case::gbt39046::parse_gb_time(text);
        }
        return;
    };
    let now = jiff::Timestamp::from_second(1_767_225_600).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut case = yiwang_case::Case::default();
    for state in [yiwang_case::Event::Submitted, yiwang_case::Event::PreReviewStarted] {
        let envelope = yiwang_case::Envelope { at: now, actor: "a".into(), reason: String::new(), event: state };
        if let Ok(next) = case.apply(&envelope) {
            case = next;
        }
        let _ = record.events(&case, now);
    }
});
