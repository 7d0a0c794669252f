//! Typed identifiers of the Chinese government-service domain, validated once at
//! the edge: citizen ID (GB 11643), USCC (GB 32100) and organization code
//! (GB 11714), division codes (GB/T 2260 and 12-digit statistical codes), item
//! basic and implementation codes, case numbers and e-license identifiers
//! (GB/T 36904, ISO/IEC 7064 MOD 37,36).
//!
//! Pure: no IO, no clock (functions that need "today" take it as a parameter).

pub mod catalog;
pub mod citizen;
pub mod detect;
pub mod division;
pub mod error;
pub mod license;
pub mod mask;
pub mod uscc;

pub use catalog::{BasicCode, CaseNo, ImplementationCode, UseLevel};
pub use citizen::{CitizenId, Sex, citizen_check_char, mask_citizen_id};
pub use detect::{CodeKind, DetectError, Parsed, detect, detect_as, parse_as};
pub use division::{DivisionCode, DivisionLevel};
pub use error::{CodeError, Warning};
pub use license::{LicenseId, mod37_36_check_char};
pub use mask::mask_identifiers_in;
pub use uscc::{Uscc, org_code_check_char, uscc_check_char};
