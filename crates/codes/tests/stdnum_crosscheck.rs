//! Cross-check against python-stdnum (`stdnum.cn.ric`, `stdnum.cn.uscc`) on
//! 11,000 generated valid and corrupted codes. Needs `python3` with
//! `python-stdnum` (installed by .ci/run).
//!
//! Known, deliberate differences are counted separately, never hidden:
//! - stdnum requires the county code to be in its own historic table and to
//!   have been assigned in the birth year; we require a known province and only
//!   warn on a county missing from the current table (a number takes the address
//!   code of its first registration, which can postdate birth).
//! - python-stdnum 2.2 raises KeyError (a bug) for some region codes; those
//!   cases are counted as peer crashes, not as agreement.
//! - stdnum requires USCC positions 1–8 to be digits; GB 32100 allows letters
//!   in positions 1–2, so the generator keeps them digits for the comparison.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

use jiff::civil::{Date, date};
use yiwang_codes::division::all_divisions;
use yiwang_codes::uscc::USCC_ALPHABET;
use yiwang_codes::{CitizenId, Uscc, citizen_check_char, org_code_check_char, uscc_check_char};

/// Small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mutation {
    None,
    Substitute,
    Transpose,
    CheckChar,
    BadDate,
    Length,
    BadChar,
    /// USCC only: a letter in the region (positions 3–8), check character recomputed.
    RegionLetter,
}

const MUTATIONS: [Mutation; 7] = [
    Mutation::None,
    Mutation::Substitute,
    Mutation::Transpose,
    Mutation::CheckChar,
    Mutation::BadDate,
    Mutation::Length,
    Mutation::BadChar,
];

fn mutate(rng: &mut Rng, code: &str, alphabet: &[u8], m: Mutation) -> String {
    let mut b = code.as_bytes().to_vec();
    match m {
        Mutation::None | Mutation::BadDate | Mutation::RegionLetter => {}
        Mutation::Substitute => {
            let i = rng.below(b.len() - 1);
            let orig = b[i];
            while b[i] == orig {
                b[i] = rng.pick(alphabet);
            }
        }
        Mutation::Transpose => {
            let i = rng.below(b.len() - 1);
            b.swap(i, i + 1);
        }
        Mutation::CheckChar => {
            let last = b.len() - 1;
            let orig = b[last];
            let checks: Vec<u8> = if alphabet.len() == 10 { b"0123456789X".to_vec() } else { alphabet.to_vec() };
            while b[last] == orig {
                b[last] = rng.pick(&checks);
            }
        }
        Mutation::Length => {
            let i = rng.below(b.len());
            if rng.below(2) == 0 {
                b.remove(i);
            } else {
                b.insert(i, b'1');
            }
        }
        Mutation::BadChar => {
            let i = rng.below(b.len() - 1);
            b[i] = rng.pick(b"IOSVZ*");
        }
    }
    String::from_utf8(b).unwrap()
}

struct Case {
    kind: &'static str,
    code: String,
    mutation: Mutation,
}

fn generate() -> Vec<Case> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let counties: Vec<u32> = all_divisions().into_iter().map(|(c, _)| c).filter(|c| c % 100 != 0).collect();
    let mut cases = Vec::new();
    for _ in 0..6000 {
        let region = rng.pick(&counties);
        let m = rng.pick(&MUTATIONS);
        let (y, mo, d) = if m == Mutation::BadDate {
            rng.pick(&[(1990, 2, 30), (2001, 2, 29), (1985, 13, 1), (1970, 4, 31), (1999, 0, 10)])
        } else {
            (1930 + rng.below(90) as i16, 1 + rng.below(12) as i8, 1 + rng.below(28) as i8)
        };
        let body = format!("{region:06}{y:04}{mo:02}{d:02}{:03}", rng.below(1000));
        let valid = format!("{body}{}", citizen_check_char(&body).unwrap());
        cases.push(Case { kind: "citizen_id", code: mutate(&mut rng, &valid, b"0123456789", m), mutation: m });
    }
    let alphabet: Vec<u8> = USCC_ALPHABET.bytes().collect();
    for _ in 0..5000 {
        let (dept, cat) = rng.pick(&[('1', '1'), ('1', '2'), ('5', '1'), ('5', '3'), ('9', '1'), ('9', '2'), ('9', '3')]);
        let region = rng.pick(&counties);
        let org_body: String = (0..8).map(|_| char::from(rng.pick(&alphabet))).collect();
        let org = format!("{org_body}{}", org_code_check_char(&org_body).unwrap());
        let mut body = format!("{dept}{cat}{region:06}{org}").into_bytes();
        let m = rng.pick(&MUTATIONS);
        let m = match m {
            Mutation::BadDate => Mutation::None,
            // One USCC in twenty gets a letter in its region instead of a date fault.
            Mutation::None if rng.below(3) == 0 => Mutation::RegionLetter,
            m => m,
        };
        if m == Mutation::RegionLetter {
            body[2 + rng.below(6)] = rng.pick(b"ABCDEFGHJKLMNPQRTUWXY");
        }
        let body = String::from_utf8(body).unwrap();
        let valid = format!("{body}{}", uscc_check_char(&body).unwrap());
        cases.push(Case { kind: "uscc", code: mutate(&mut rng, &valid, &alphabet, m), mutation: m });
    }
    cases
}

/// Our verdict: Ok(has a county warning) or Err(reason).
fn ours(kind: &str, code: &str, today: Date) -> Result<bool, &'static str> {
    match kind {
        "citizen_id" => CitizenId::parse(code, today).map(|id| !id.info().warnings.is_empty()).map_err(|e| e.reason()),
        _ => Uscc::parse(code).map(|_| false).map_err(|e| e.reason()),
    }
}

#[test]
fn agrees_with_python_stdnum_on_11000_codes() {
    let cases = generate();
    assert!(cases.len() >= 10_000);
    assert!(cases.iter().filter(|c| c.mutation == Mutation::RegionLetter).count() > 150, "USCCs with a letter in the region");
    let mut child = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stdnum_peer.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is required for the stdnum cross-check");
    let input: String = cases.iter().map(|c| format!("{}\t{}\n", c.kind, c.code)).collect();
    let mut stdin = child.stdin.take().unwrap();
    // Write from a thread so a failing peer shows its stderr instead of a broken pipe here.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    assert!(out.status.success(), "stdnum peer failed (pip install python-stdnum): {}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(verdicts.len(), cases.len());

    let today = date(2026, 11, 23);
    let (mut agree, mut valid_both, mut county_only_ours, mut peer_bugs) = (0, 0, 0, 0);
    let mut disagreements = Vec::new();
    for (c, peer) in cases.iter().zip(&verdicts) {
        let mine = ours(c.kind, &c.code, today);
        if peer == "PeerBug" {
            peer_bugs += 1;
            continue;
        }
        match (&mine, peer == "ok") {
            (Ok(_), true) => {
                valid_both += 1;
                agree += 1;
            }
            (Err(reason), false) => {
                agree += 1;
                // Where exactly one fault was introduced, both must name the same kind of fault.
                let expected_peer = match *reason {
                    "check_char" => Some("InvalidChecksum"),
                    "length" => Some("InvalidLength"),
                    "region" if c.mutation == Mutation::RegionLetter => Some("InvalidFormat"),
                    "date" if c.mutation == Mutation::BadDate => Some("InvalidComponent"),
                    _ => None,
                };
                if matches!(c.mutation, Mutation::CheckChar | Mutation::Length | Mutation::BadDate | Mutation::RegionLetter)
                    && let Some(p) = expected_peer
                    && p != peer
                {
                    disagreements.push(format!("{} {} {:?}: ours {:?}, stdnum {peer}", c.kind, c.code, c.mutation, mine));
                }
            }
            // Documented difference: stdnum's birth-place rule, which we do not apply.
            (Ok(_), false) if c.kind == "citizen_id" && peer == "BirthPlace" => county_only_ours += 1,
            _ => disagreements.push(format!("{} {} {:?}: ours {:?}, stdnum {peer}", c.kind, c.code, c.mutation, mine)),
        }
    }
    eprintln!(
        "stdnum cross-check: {} codes, {agree} agree ({valid_both} valid in both), {county_only_ours} rejected only by stdnum's birth-place rule, {peer_bugs} stdnum KeyError crashes",
        cases.len()
    );
    assert!(agree >= 10_000, "at least 10,000 codes must be compared ({agree})");
    assert!(peer_bugs * 20 < cases.len(), "too many peer crashes: {peer_bugs}");
    assert!(
        disagreements.is_empty(),
        "{} disagreements, first 20:\n{}",
        disagreements.len(),
        disagreements[..disagreements.len().min(20)].join("\n")
    );
    assert!(valid_both > 1500, "the generator must produce many valid codes ({valid_both})");
    assert!(county_only_ours * 5 < cases.len(), "too many birth-place mismatches: {county_only_ours}");
}
