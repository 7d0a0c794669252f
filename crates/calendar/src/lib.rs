//! Working-day calendar (domain.md §7.5; 行政许可法 Art. 82).
//!
//! A day is a workday when it is Monday–Friday and not a statutory holiday, or
//! when it is a 调休 makeup workday. Deadlines count forward from the day after
//! the start day. Days inside pause intervals (特别程序) are not counted. A year
//! without holiday data is counted by weekends only and the result is flagged
//! `provisional`: we never guess silently and never panic.
//!
//! Pure: the table is data handed in; no IO, no clock.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday};
use serde::Serialize;
use yiwang_errors::{Coded, ErrorKind};

/// The bundled 2024–2026 table (source: PyPI chinesecalendar 1.11.0, MIT; see data/README.md).
pub static BUNDLED_TSV: &str = include_str!("../data/cn_holidays.tsv");

/// Upper bound on counted days, so a huge `n` is an error rather than a long loop.
pub const MAX_WORKDAYS: u32 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    Workday,
    Weekend,
    Holiday,
    MakeupWorkday,
}

impl DayKind {
    pub fn is_workday(self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeupWorkday)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            DayKind::Workday => "工作日",
            DayKind::Weekend => "休息日",
            DayKind::Holiday => "法定节假日",
            DayKind::MakeupWorkday => "调休上班日",
        }
    }
}

/// An explicit entry in the holiday table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialDay {
    /// A statutory holiday (including weekend days inside a holiday block).
    Holiday,
    /// A weekend day that is a workday (调休上班).
    Makeup,
}

impl SpecialDay {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialDay::Holiday => "holiday",
            SpecialDay::Makeup => "makeup",
        }
    }

    pub fn parse(s: &str) -> Option<SpecialDay> {
        match s {
            "holiday" => Some(SpecialDay::Holiday),
            "makeup" => Some(SpecialDay::Makeup),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayEntry {
    pub date: Date,
    pub kind: SpecialDay,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("workday count {0} exceeds the maximum {MAX_WORKDAYS}")]
    TooMany(u32),
    #[error("date out of range")]
    OutOfRange,
    #[error("pause interval {from}..={until} ends before it starts")]
    BadPause { from: Date, until: Date },
    #[error("line {line} of the holiday table: {detail}")]
    BadTable { line: usize, detail: String },
}

impl Coded for CalendarError {
    fn code(&self) -> &'static str {
        match self {
            CalendarError::TooMany(_) => "calendar.too_many_days",
            CalendarError::OutOfRange => "calendar.out_of_range",
            CalendarError::BadPause { .. } => "calendar.bad_pause",
            CalendarError::BadTable { .. } => "calendar.bad_table",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            CalendarError::BadTable { .. } => ErrorKind::Internal,
            _ => ErrorKind::BadRequest,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CalendarError::TooMany(n) => format!("工作日数{n}超过上限{MAX_WORKDAYS}"),
            CalendarError::OutOfRange => "日期超出范围".into(),
            CalendarError::BadPause { from, until } => format!("暂停区间{from}至{until}的结束日早于开始日"),
            CalendarError::BadTable { line, detail } => format!("节假日表第{line}行有误：{detail}"),
        }
    }
}

/// The calendar date in China Standard Time (UTC+8, no daylight saving), the zone
/// every deadline is counted in. Pure: the caller supplies `now`.
pub fn china_today(now: jiff::Timestamp) -> Date {
    china_time(now).date()
}

/// A moment in China Standard Time.
pub fn china_time(t: jiff::Timestamp) -> jiff::Zoned {
    t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
}

/// The moment a day begins in China Standard Time; none for a date at the
/// edge of what timestamps reach.
pub fn china_day_start(d: Date) -> Option<jiff::Timestamp> {
    d.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).ok().map(|z| z.timestamp())
}

/// A clock-stopping interval (特别程序), inclusive on both ends: no day in it is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pause {
    pub from: Date,
    pub until: Date,
}

/// A computed date with a flag telling whether any year it crossed lacked holiday data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counted<T> {
    pub value: T,
    /// True when the result relied on weekends-only counting for a year without data.
    pub provisional: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    special: BTreeMap<Date, SpecialDay>,
    covered_years: BTreeSet<i16>,
}

impl Calendar {
    /// Build from explicit entries; `covered_years` are the years whose data is complete.
    pub fn new(entries: impl IntoIterator<Item = (Date, SpecialDay)>, covered_years: impl IntoIterator<Item = i16>) -> Self {
        Calendar { special: entries.into_iter().collect(), covered_years: covered_years.into_iter().collect() }
    }

    /// The bundled 2024–2026 table.
    pub fn bundled() -> Result<Self, CalendarError> {
        let entries = parse_table(BUNDLED_TSV)?;
        let years: BTreeSet<i16> = entries.iter().map(|e| e.date.year()).collect();
        Ok(Calendar::new(entries.into_iter().map(|e| (e.date, e.kind)), years))
    }

    pub fn covered_years(&self) -> impl Iterator<Item = i16> + '_ {
        self.covered_years.iter().copied()
    }

    pub fn is_covered(&self, year: i16) -> bool {
        self.covered_years.contains(&year)
    }

    pub fn kind(&self, d: Date) -> DayKind {
        match self.special.get(&d) {
            Some(SpecialDay::Holiday) => DayKind::Holiday,
            Some(SpecialDay::Makeup) => DayKind::MakeupWorkday,
            None if matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) => DayKind::Weekend,
            None => DayKind::Workday,
        }
    }

    pub fn is_workday(&self, d: Date) -> Counted<bool> {
        Counted { value: self.kind(d).is_workday(), provisional: !self.is_covered(d.year()) }
    }

    /// The date on which the `n`-th working day after `start` falls (start day not counted).
    pub fn add_workdays(&self, start: Date, n: u32) -> Result<Counted<Date>, CalendarError> {
        self.add_workdays_paused(start, n, &[])
    }

    /// As [`Calendar::add_workdays`], skipping every day inside a pause.
    pub fn add_workdays_paused(&self, start: Date, n: u32, pauses: &[Pause]) -> Result<Counted<Date>, CalendarError> {
        if n > MAX_WORKDAYS {
            return Err(CalendarError::TooMany(n));
        }
        let walked = self.walk(start, pauses, |counted, _| counted < n)?;
        Ok(Counted { value: walked.value.0, provisional: walked.provisional })
    }

    /// Working days elapsed after `from` up to and including `to`, not counting
    /// paused days. Zero when `to <= from`.
    pub fn workdays_between(&self, from: Date, to: Date, pauses: &[Pause]) -> Result<Counted<u32>, CalendarError> {
        let walked = self.walk(from, pauses, |_, d| d < to)?;
        Ok(Counted { value: walked.value.1, provisional: walked.provisional })
    }

    /// Step day by day after `start` while `more(counted, current_day)` holds,
    /// counting the workdays outside every pause. Returns the last day reached and
    /// the count.
    /// A limit in calendar time (自然日, 月, 年), the start day not counted: the
    /// date `span` after `start`, pushed back by each stopped day after `start`
    /// (特别程序), and moved to the next working day when it falls on a rest day
    /// (民法典 第二百零三条: a period ending on a holiday ends on the next working day).
    pub fn add_calendar_span(&self, start: Date, span: jiff::Span, pauses: &[Pause]) -> Result<Counted<Date>, CalendarError> {
        check_pauses(pauses)?;
        let first = start.tomorrow().map_err(|_| CalendarError::OutOfRange)?;
        let mut stopped = 0i64;
        for p in pauses {
            let from = p.from.max(first);
            if p.until >= from {
                stopped += i64::from(from.until(p.until).map_err(|_| CalendarError::OutOfRange)?.get_days()) + 1;
            }
        }
        let mut due =
            start.checked_add(span).and_then(|d| d.checked_add(jiff::Span::new().days(stopped))).map_err(|_| CalendarError::OutOfRange)?;
        let mut provisional = !self.is_covered(due.year());
        while !self.kind(due).is_workday() {
            due = due.tomorrow().map_err(|_| CalendarError::OutOfRange)?;
            provisional |= !self.is_covered(due.year());
        }
        Ok(Counted { value: due, provisional })
    }

    fn walk(&self, start: Date, pauses: &[Pause], mut more: impl FnMut(u32, Date) -> bool) -> Result<Counted<(Date, u32)>, CalendarError> {
        check_pauses(pauses)?;
        let (mut d, mut counted, mut provisional) = (start, 0u32, false);
        while more(counted, d) {
            d = d.tomorrow().map_err(|_| CalendarError::OutOfRange)?;
            if self.kind(d).is_workday() && !pauses.iter().any(|p| p.from <= d && d <= p.until) {
                counted += 1;
                provisional |= !self.is_covered(d.year());
            }
        }
        Ok(Counted { value: (d, counted), provisional })
    }
}

fn check_pauses(pauses: &[Pause]) -> Result<(), CalendarError> {
    match pauses.iter().find(|p| p.until < p.from) {
        Some(p) => Err(CalendarError::BadPause { from: p.from, until: p.until }),
        None => Ok(()),
    }
}

/// Parse the TSV holiday table: `date<TAB>holiday|makeup<TAB>name`, `#` comments.
pub fn parse_table(tsv: &str) -> Result<Vec<DayEntry>, CalendarError> {
    let mut out = Vec::new();
    for (i, line) in tsv.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let bad = |detail: &str| CalendarError::BadTable { line: i + 1, detail: detail.to_string() };
        let mut cols = line.split('\t');
        let date: Date = cols.next().ok_or_else(|| bad("missing date"))?.parse().map_err(|_| bad("bad date"))?;
        let kind = SpecialDay::parse(cols.next().ok_or_else(|| bad("missing kind"))?).ok_or_else(|| bad("bad kind"))?;
        let name = cols.next().unwrap_or("").to_string();
        out.push(DayEntry { date, kind, name });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn cal() -> Calendar {
        Calendar::bundled().unwrap()
    }

    #[test]
    fn calendar_spans_end_on_a_working_day_and_skip_stopped_days() {
        let c = cal();
        let days = |n: i64| jiff::Span::new().days(n);
        // 30 natural days from 2025-09-01 is 2025-10-01, inside the National Day holiday:
        // the period ends on the first working day after it (10-09; 10-11 is a makeup day).
        assert_eq!(c.add_calendar_span(date(2025, 9, 1), days(30), &[]).unwrap().value, date(2025, 10, 9));
        // 10 days from Monday 2026-03-02 is Thursday 03-12.
        assert_eq!(c.add_calendar_span(date(2026, 3, 2), days(10), &[]).unwrap().value, date(2026, 3, 12));
        // Three stopped days push it to Sunday 03-15, so Monday 03-16.
        let pause = [Pause { from: date(2026, 3, 4), until: date(2026, 3, 6) }];
        assert_eq!(c.add_calendar_span(date(2026, 3, 2), days(10), &pause).unwrap().value, date(2026, 3, 16));
        // One month from 01-31 is the last day of February: Saturday 2026-02-28, a makeup working day (调休).
        assert_eq!(c.add_calendar_span(date(2026, 1, 31), jiff::Span::new().months(1), &[]).unwrap().value, date(2026, 2, 28));
        // A pause before the start does not count.
        let early = [Pause { from: date(2026, 2, 1), until: date(2026, 2, 3) }];
        assert_eq!(c.add_calendar_span(date(2026, 3, 2), days(10), &early).unwrap().value, date(2026, 3, 12));
    }

    #[test]
    fn worked_examples() {
        let c = cal();
        for (start, n, due) in [
            (date(2025, 9, 26), 20, date(2025, 10, 30)),
            (date(2025, 1, 24), 5, date(2025, 2, 7)),
            (date(2026, 2, 13), 3, date(2026, 2, 25)),
            (date(2025, 4, 25), 1, date(2025, 4, 27)),
        ] {
            let r = c.add_workdays(start, n).unwrap();
            assert_eq!(r.value, due, "{start} + {n}");
            assert!(!r.provisional);
        }
        assert!(c.is_workday(date(2025, 9, 28)).value);
        assert!(!c.is_workday(date(2025, 10, 8)).value);
        assert_eq!(c.kind(date(2025, 9, 28)), DayKind::MakeupWorkday);
        assert_eq!(c.kind(date(2025, 10, 1)), DayKind::Holiday);
    }

    #[test]
    fn bundled_table_matches_domain_doc() {
        let c = cal();
        let makeup: Vec<String> = c.special.iter().filter(|(_, k)| **k == SpecialDay::Makeup).map(|(d, _)| d.to_string()).collect();
        assert_eq!(makeup.len(), 19);
        assert!(makeup.contains(&"2026-10-10".to_string()));
        assert_eq!(c.covered_years().collect::<Vec<_>>(), vec![2024, 2025, 2026]);
    }

    #[test]
    fn china_today_is_utc_plus_8() {
        let late_utc: jiff::Timestamp = "2026-11-23T16:30:00Z".parse().unwrap();
        assert_eq!(china_today(late_utc), date(2026, 11, 24));
        let early_utc: jiff::Timestamp = "2026-11-23T15:59:59Z".parse().unwrap();
        assert_eq!(china_today(early_utc), date(2026, 11, 23));
    }

    #[test]
    fn zero_days_is_start() {
        assert_eq!(cal().add_workdays(date(2025, 10, 1), 0).unwrap().value, date(2025, 10, 1));
    }

    #[test]
    fn missing_year_is_provisional_not_panic() {
        let r = cal().add_workdays(date(2030, 12, 30), 5).unwrap();
        assert!(r.provisional);
        assert_eq!(r.value, date(2031, 1, 6)); // Mon 12-30 → Tue..Fri, Mon 1-6: weekends only
        assert!(cal().is_workday(date(2031, 1, 1)).provisional);
        let straddle = cal().add_workdays(date(2026, 12, 30), 3).unwrap();
        assert!(straddle.provisional);
    }

    #[test]
    fn pauses_shift_the_due_date() {
        let c = cal();
        // Mon 2025-03-03 + 5 WD = Mon 03-10; pausing Tue–Wed (2 WD) moves it to Wed 03-12.
        assert_eq!(c.add_workdays(date(2025, 3, 3), 5).unwrap().value, date(2025, 3, 10));
        let p = [Pause { from: date(2025, 3, 4), until: date(2025, 3, 5) }];
        assert_eq!(c.add_workdays_paused(date(2025, 3, 3), 5, &p).unwrap().value, date(2025, 3, 12));
        assert_eq!(c.workdays_between(date(2025, 3, 3), date(2025, 3, 12), &p).unwrap().value, 5);
        let bad = [Pause { from: date(2025, 3, 5), until: date(2025, 3, 4) }];
        assert!(matches!(c.add_workdays_paused(date(2025, 3, 3), 5, &bad), Err(CalendarError::BadPause { .. })));
    }

    #[test]
    fn limits_are_errors() {
        assert!(matches!(cal().add_workdays(date(2025, 1, 1), MAX_WORKDAYS + 1), Err(CalendarError::TooMany(_))));
        assert!(cal().add_workdays(date(9999, 12, 30), 5).is_err());
    }
}
