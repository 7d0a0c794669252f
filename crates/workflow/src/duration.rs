//! ISO-8601 durations as BPMN timers write them (`P3D`, `PT2H30M`, `P1Y2M`).

use serde::Serialize;

/// A parsed duration. Years and months stay calendar units; the rest are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct IsoDuration {
    pub years: u32,
    pub months: u32,
    pub weeks: u32,
    pub days: u32,
    pub hours: u32,
    pub minutes: u32,
    pub seconds: u32,
}

impl IsoDuration {
    /// Only whole days (and weeks): what a working-day timer may use.
    pub fn whole_days(&self) -> Option<u32> {
        let calendar_free = self.years == 0 && self.months == 0;
        let time_free = self.hours == 0 && self.minutes == 0 && self.seconds == 0;
        (calendar_free && time_free).then(|| self.weeks * 7 + self.days)
    }
}

/// Parse `PnYnMnWnDTnHnMnS` (each part optional, at least one present).
pub fn parse(text: &str) -> Option<IsoDuration> {
    let rest = text.trim().strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut d = IsoDuration::default();
    let mut any = false;
    let mut parts = |s: &str, units: &[char], set: &mut dyn FnMut(char, u32)| -> Option<()> {
        let mut number = String::new();
        let mut last = None;
        for c in s.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let pos = units.iter().position(|u| *u == c)?;
            // Units must come in order, each at most once.
            if last.is_some_and(|l| pos <= l) || number.is_empty() {
                return None;
            }
            set(c, number.parse().ok()?);
            number.clear();
            last = Some(pos);
            any = true;
        }
        number.is_empty().then_some(())
    };
    parts(date, &['Y', 'M', 'W', 'D'], &mut |u, n| match u {
        'Y' => d.years = n,
        'M' => d.months = n,
        'W' => d.weeks = n,
        _ => d.days = n,
    })?;
    if let Some(t) = time {
        parts(t, &['H', 'M', 'S'], &mut |u, n| match u {
            'H' => d.hours = n,
            'M' => d.minutes = n,
            _ => d.seconds = n,
        })?;
    }
    any.then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("P3D").map(|d| d.days), Some(3));
        assert_eq!(parse("PT2H30M").map(|d| (d.hours, d.minutes)), Some((2, 30)));
        assert_eq!(parse("P1Y2M").map(|d| (d.years, d.months)), Some((1, 2)));
        assert_eq!(parse("P2W").and_then(|d| d.whole_days()), Some(14));
        assert_eq!(parse("P1DT1H").and_then(|d| d.whole_days()), None);
        for bad in ["", "P", "PT", "3D", "P3", "PD", "P3D2Y", "P3X", "P1DT", "P-1D", "P1.5D"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
