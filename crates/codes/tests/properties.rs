//! Property tests: generated valid identifiers parse; single-character errors
//! are always caught by the check characters (every check here detects all
//! single substitutions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::civil::date;
use proptest::prelude::*;
use yiwang_codes::uscc::USCC_ALPHABET;
use yiwang_codes::{CitizenId, LicenseId, Uscc, citizen_check_char, mod37_36_check_char, org_code_check_char, uscc_check_char};

fn valid_id() -> impl Strategy<Value = String> {
    (prop::sample::select(vec!["110105", "330106", "440305", "650102", "510104"]), 1930i16..2020, 1i8..=12, 1i8..=28, 0u32..1000).prop_map(
        |(r, y, m, d, s)| {
            let body = format!("{r}{y:04}{m:02}{d:02}{s:03}");
            format!("{body}{}", citizen_check_char(&body).unwrap())
        },
    )
}

fn valid_uscc() -> impl Strategy<Value = String> {
    let ch = prop::sample::select(USCC_ALPHABET.chars().collect::<Vec<_>>());
    (prop::sample::select(vec!["11", "12", "51", "91", "92", "93", "Y1"]), prop::collection::vec(ch, 8)).prop_map(|(head, org)| {
        let org: String = org.into_iter().collect();
        let body = format!("{head}330106{org}{}", org_code_check_char(&org).unwrap());
        format!("{body}{}", uscc_check_char(&body).unwrap())
    })
}

proptest! {
    #[test]
    fn generated_ids_parse_and_keep_fields(id in valid_id()) {
        let (parsed, info) = CitizenId::parse_with_info(&id, date(2026, 11, 23)).unwrap();
        prop_assert_eq!(parsed.as_str(), id.as_str());
        prop_assert_eq!(info.birth_date.replace('-', ""), &id[6..14]);
        let masked = parsed.masked();
        prop_assert_eq!(&masked[..4], &id[..4]);
        prop_assert_eq!(&masked[14..], &id[14..]);
    }

    #[test]
    fn id_single_substitution_is_rejected(id in valid_id(), pos in 0usize..18, digit in 0u8..11) {
        let mut b = id.into_bytes();
        let new = if digit == 10 { b'X' } else { b'0' + digit };
        prop_assume!(b[pos] != new && (pos == 17 || new != b'X'));
        b[pos] = new;
        prop_assert!(CitizenId::parse(std::str::from_utf8(&b).unwrap(), date(2026, 11, 23)).is_err());
    }

    #[test]
    fn generated_usccs_parse(code in valid_uscc()) {
        let u = Uscc::parse(&code).unwrap();
        let info = u.info();
        prop_assert_eq!(u.as_str(), code.as_str());
        prop_assert!(info.warnings.iter().all(|w| w.code != "codes.uscc_org_code_check"));
    }

    #[test]
    fn uscc_single_substitution_is_rejected(code in valid_uscc(), pos in 0usize..18, idx in 0usize..31) {
        let mut chars: Vec<char> = code.chars().collect();
        let new = USCC_ALPHABET.chars().nth(idx).unwrap();
        prop_assume!(chars[pos] != new);
        chars[pos] = new;
        let s: String = chars.into_iter().collect();
        prop_assert!(Uscc::parse(&s).is_err());
    }

    #[test]
    fn license_ids_roundtrip_and_detect_substitution(number in "[0-9A-Z]{1,20}", version in 1u16..999, pos in 0usize..20, idx in 0u32..36) {
        let id = LicenseId::compose("11100000000013338W032", "11220000013544541J", &number, version).unwrap();
        prop_assert!(LicenseId::parse(id.as_str()).is_ok());
        let payload = format!("11100000000013338W03211220000013544541J{number}{version:03}");
        let pos = pos % payload.len();
        let mut chars: Vec<char> = payload.chars().collect();
        let new = char::from_digit(idx, 36).unwrap().to_ascii_uppercase();
        prop_assume!(chars[pos] != new);
        let before = mod37_36_check_char(&payload).unwrap();
        chars[pos] = new;
        let after = mod37_36_check_char(&chars.into_iter().collect::<String>()).unwrap();
        prop_assert_ne!(before, after);
    }

    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,60}") {
        let _ = yiwang_codes::detect(&s, date(2026, 11, 23));
    }
}
