//! Masking of personal identifiers inside any displayed text: a staff page or
//! an API answer shows `3301**********123X` and `138****8000`, never the whole
//! number, unless someone asked to see it in full with a reason (and was audited).

use crate::citizen::{citizen_check_char, mask_citizen_id};

/// Mask every citizen ID number (18 characters with a valid check character)
/// and every mainland mobile number (11 digits, 1[3-9]…) that stands alone in
/// `text` (a maximal run of digits, and X for an ID). Other numbers are left as
/// they are: a case number or a USCC is a longer run or has letters.
pub fn mask_identifiers_in(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        // An ID's last character may be X.
        if i - start == 17 && i < chars.len() && matches!(chars[i], 'X' | 'x') && !is_alnum_at(&chars, i + 1) {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        let standalone = !is_letter_at(&chars, start.wrapping_sub(1)) && !is_letter_at(&chars, i);
        if standalone && is_citizen_id(&run) {
            out.push_str(&mask_citizen_id(&run));
        } else if standalone && is_mobile(&run) {
            out.push_str(&format!("{}****{}", &run[..3], &run[7..]));
        } else {
            out.push_str(&run);
        }
    }
    out
}

fn is_letter_at(chars: &[char], i: usize) -> bool {
    chars.get(i).is_some_and(char::is_ascii_alphabetic)
}

fn is_alnum_at(chars: &[char], i: usize) -> bool {
    chars.get(i).is_some_and(char::is_ascii_alphanumeric)
}

fn is_citizen_id(s: &str) -> bool {
    s.len() == 18 && citizen_check_char(&s[..17]).is_some_and(|c| s[17..].eq_ignore_ascii_case(&c.to_string()))
}

fn is_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && matches!(s.as_bytes()[1], b'3'..=b'9')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_phones_are_masked_wherever_they_stand() {
        assert_eq!(mask_identifiers_in("33010619900101123X"), "3301**********123X");
        assert_eq!(
            mask_identifiers_in("联系人张三，电话13800138000，身份证33010619900101123x。"),
            "联系人张三，电话138****8000，身份证3301**********123x。"
        );
        assert_eq!(mask_identifiers_in("+86 13800138000"), "+86 138****8000");
        // Not IDs: a wrong check character, a longer run, a USCC, a case number.
        assert_eq!(mask_identifiers_in("330106199001011231"), "330106199001011231");
        assert_eq!(mask_identifiers_in("91330106MA2H00014Q"), "91330106MA2H00014Q");
        assert_eq!(mask_identifiers_in("11330100002500033720261205000001"), "11330100002500033720261205000001");
        assert_eq!(mask_identifiers_in("12345678901"), "12345678901");
        assert_eq!(mask_identifiers_in("0571-12345"), "0571-12345");
    }
}
