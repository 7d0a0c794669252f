//! 监察结果公开 (issue 22): the figures the public page shows per agency and
//! per region. Counts only, never a case or a person; the rates are computed
//! here so the page, the API and any export agree.

use serde::Serialize;

/// One agency's (or region's) counts over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Cases accepted (受理) among those applied for in the period.
    pub accepted: i64,
    /// Of those, concluded (办结).
    pub concluded: i64,
    /// Concluded by the promised date (按时办结).
    pub on_time: i64,
    /// Concluded after the promised date, or still open past it (超期).
    pub overdue: i64,
    /// 督办单 closed in the period.
    pub orders_closed: i64,
    /// Of those, rectified by their deadline.
    pub orders_on_time: i64,
    /// Ratings given in the period (those voided on appeal left out).
    pub ratings: i64,
    /// Of those, 好评 (非常满意 or 满意).
    pub good: i64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.accepted += o.accepted;
        self.concluded += o.concluded;
        self.on_time += o.on_time;
        self.overdue += o.overdue;
        self.orders_closed += o.orders_closed;
        self.orders_on_time += o.orders_on_time;
        self.ratings += o.ratings;
        self.good += o.good;
    }

    /// 办结率: concluded of accepted, in per cent (none without a case).
    pub fn concluded_rate(&self) -> Option<f64> {
        percent(self.concluded, self.accepted)
    }

    /// 按时办结率: on time of concluded.
    pub fn on_time_rate(&self) -> Option<f64> {
        percent(self.on_time, self.concluded)
    }

    /// 好评率: 好评 of ratings.
    pub fn good_rate(&self) -> Option<f64> {
        percent(self.good, self.ratings)
    }

    /// 督办按期办结率: orders rectified on time of those closed.
    pub fn orders_on_time_rate(&self) -> Option<f64> {
        percent(self.orders_on_time, self.orders_closed)
    }
}

/// `part` of `whole` in per cent, to one decimal; none when `whole` is 0.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The region a division reports under on the public page: its city (a
/// district's 330106 under 330100), or itself for a province or a city.
pub fn region_of(division: &str) -> String {
    if division.len() != 6 || division.ends_with("0000") {
        return division.to_string();
    }
    format!("{}00", &division[..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_cent_to_one_decimal_and_absent_without_a_base() {
        let c = Counts { accepted: 3, concluded: 2, on_time: 1, overdue: 1, ..Default::default() };
        assert_eq!(c.concluded_rate(), Some(66.7));
        assert_eq!(c.on_time_rate(), Some(50.0));
        assert_eq!(c.orders_on_time_rate(), None);
        let mut total = c;
        total.add(&Counts {
            accepted: 1,
            concluded: 1,
            on_time: 1,
            orders_closed: 2,
            orders_on_time: 1,
            ratings: 4,
            good: 3,
            ..Default::default()
        });
        assert_eq!((total.accepted, total.concluded_rate(), total.orders_on_time_rate()), (4, Some(75.0), Some(50.0)));
        assert_eq!((c.good_rate(), total.good_rate()), (None, Some(75.0)));
    }

    #[test]
    fn districts_report_under_their_city() {
        assert_eq!(region_of("330106"), "330100");
        assert_eq!(region_of("330100"), "330100");
        assert_eq!(region_of("330000"), "330000");
    }
}
