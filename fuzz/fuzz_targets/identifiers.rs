//! Identifiers as people type them (citizen ID, USCC, division, item codes,
//! case numbers, license ids): detection, each parser, masking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let today = jiff::civil::date(2026, 12, 6);
    let _ = yiwang_codes::detect(text, today);
    for kind in [
        yiwang_codes::CodeKind::CitizenId,
        yiwang_codes::CodeKind::Uscc,
        yiwang_codes::CodeKind::OrgCode,
        yiwang_codes::CodeKind::Division,
        yiwang_codes::CodeKind::BasicCode,
        yiwang_codes::CodeKind::ImplementationCode,
        yiwang_codes::CodeKind::CaseNo,
        yiwang_codes::CodeKind::LicenseId,
    ] {
        if let Ok(parsed) = yiwang_codes::parse_as(kind, text, today) {
            let _ = serde_json::to_string(&parsed);
        }
    }
    if let Ok(u) = yiwang_codes::Uscc::parse(text) {
        let _ = u.info();
    }
    if let Ok(id) = yiwang_codes::CitizenId::parse(text, today) {
        let _ = id.info();
        let _ = id.masked();
    }
    let _ = yiwang_codes::mask_identifiers_in(text);
});
