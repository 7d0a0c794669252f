//! Time limits: the units they are counted in, the limits a case is accepted
//! with, and where a limit falls on the working-day calendar.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use yiwang_calendar::{Calendar, CalendarError, Pause};

/// The unit a time limit is counted in (时限单位; domain.md §7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// 工作日 (行政许可法 Art. 82): the default.
    #[default]
    WorkingDay,
    /// 自然日: calendar days; a period ending on a rest day ends on the next working day.
    NaturalDay,
    Month,
    Year,
    /// 小时: office hours of working days, `OFFICE_HOURS_PER_DAY` a day; counted to the day.
    Hour,
}

/// Office hours in a working day, for limits in hours [I: 09:00–17:00, domain.md §7.5].
pub const OFFICE_HOURS_PER_DAY: u32 = 8;

/// The units of a case's promised and legal limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LimitUnits {
    #[serde(default)]
    pub promised: LimitUnit,
    #[serde(default)]
    pub legal: LimitUnit,
}

impl LimitUnits {
    pub fn is_working_days(&self) -> bool {
        *self == LimitUnits::default()
    }
}

impl From<yiwang_catalog::code_lists::TimeUnit> for LimitUnit {
    /// The catalog's 时限单位 as a case counts it.
    fn from(u: yiwang_catalog::code_lists::TimeUnit) -> LimitUnit {
        use yiwang_catalog::code_lists::TimeUnit;
        match u {
            TimeUnit::WorkingDay => LimitUnit::WorkingDay,
            TimeUnit::NaturalDay => LimitUnit::NaturalDay,
            TimeUnit::Month => LimitUnit::Month,
            TimeUnit::Year => LimitUnit::Year,
            TimeUnit::Hour => LimitUnit::Hour,
        }
    }
}

/// The limits a case is accepted with, as (promised, legal, their units): its
/// item version's; for a child of a 一件事 with a combined promised limit
/// (`bundle_promised`, in working days), that limit where it is shorter and
/// the item's is in working days too.
pub fn acceptance_limits(item: &yiwang_catalog::ItemDoc, bundle_promised: Option<u32>) -> (u32, u32, LimitUnits) {
    let (legal, promised) = (&item.legal_limit, &item.promised_limit);
    let units = LimitUnits { promised: promised.unit.into(), legal: legal.unit.into() };
    let promised_days = match bundle_promised {
        Some(combined) if units.promised == LimitUnit::WorkingDay => promised.amount.min(combined),
        _ => promised.amount,
    };
    (promised_days, legal.amount, units)
}

/// The date a limit of `n` `unit`s after `start` falls on, not counting stopped days.
pub(crate) fn add_limit(
    calendar: &Calendar,
    start: Date,
    n: u32,
    unit: LimitUnit,
    pauses: &[Pause],
) -> Result<yiwang_calendar::Counted<Date>, CalendarError> {
    let span = |f: fn(jiff::Span, i64) -> jiff::Span| f(jiff::Span::new(), i64::from(n));
    match unit {
        LimitUnit::WorkingDay => calendar.add_workdays_paused(start, n, pauses),
        LimitUnit::Hour => calendar.add_workdays_paused(start, n.div_ceil(OFFICE_HOURS_PER_DAY), pauses),
        LimitUnit::NaturalDay => calendar.add_calendar_span(start, span(|s, v| s.days(v)), pauses),
        LimitUnit::Month => calendar.add_calendar_span(start, span(|s, v| s.months(v)), pauses),
        LimitUnit::Year => calendar.add_calendar_span(start, span(|s, v| s.years(v)), pauses),
    }
}

/// Working days after acceptance within which commitments are verified
/// [I: 国办发〔2020〕42号 leaves the period to each agency; a node may change it].
pub const DEFAULT_COMMITMENT_CHECK_DAYS: u32 = 20;
