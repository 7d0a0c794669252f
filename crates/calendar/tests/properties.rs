//! Property tests of working-day arithmetic over the bundled table and beyond it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::ToSpan;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use yiwang_calendar::{Calendar, Pause};

fn any_date() -> impl Strategy<Value = Date> {
    (0i32..(365 * 12)).prop_map(|d| date(2022, 1, 1).checked_add(d.days()).unwrap())
}

proptest! {
    #[test]
    fn add_then_count_is_identity(start in any_date(), n in 0u32..300) {
        let c = Calendar::bundled().unwrap();
        let due = c.add_workdays(start, n).unwrap();
        prop_assert_eq!(c.workdays_between(start, due.value, &[]).unwrap().value, n);
        if n > 0 {
            prop_assert!(c.kind(due.value).is_workday());
        }
        let covered = |d: Date| (2024..=2026).contains(&d.year());
        if covered(start) && covered(due.value) {
            prop_assert!(!due.provisional);
        }
    }

    #[test]
    fn monotonic_in_n(start in any_date(), n in 0u32..200) {
        let c = Calendar::bundled().unwrap();
        prop_assert!(c.add_workdays(start, n).unwrap().value < c.add_workdays(start, n + 1).unwrap().value);
    }

    #[test]
    fn a_pause_never_brings_the_due_date_forward(start in any_date(), n in 1u32..100, off in 0i32..60, len in 0i32..30) {
        let c = Calendar::bundled().unwrap();
        let from = start.checked_add(off.days()).unwrap();
        let pause = Pause { from, until: from.checked_add(len.days()).unwrap() };
        let plain = c.add_workdays(start, n).unwrap().value;
        let paused = c.add_workdays_paused(start, n, &[pause]).unwrap().value;
        prop_assert!(paused >= plain);
        prop_assert_eq!(c.workdays_between(start, paused, &[pause]).unwrap().value, n);
    }
}
