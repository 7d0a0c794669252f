//! 电子监察's store (issue 22): the alerts the rules gave, kept once per case
//! and key, and the cases whose new events supervision has not evaluated
//! (`cases.supervise_pending`, set by the case write in the event's own
//! statement, cleared here once the case is evaluated at the version read).

use serde::Serialize;
use yiwang_case::Envelope;
use yiwang_supervision::Alert;
use yiwang_supervision::indicators::{CaseCounts, RatingCounts};

use crate::cases::{CASE_COLUMNS, case_row};
use crate::db::RowLike;
use crate::{CaseRow, Result, Store, safe, ts};

/// Cases (`c`) with their 办结 event (`e`), if any.
const WITH_CONCLUSION: &str = "cases c LEFT JOIN case_events e ON e.case_no = c.case_no AND e.kind = 'concluded'";

/// Over [`WITH_CONCLUSION`]: how many were concluded, and how many on time
/// (办结 before the end, China time, 16:00 UTC, of the promised date).
const CONCLUDED_ON_TIME: &str = "CAST(SUM(CASE WHEN e.at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS concluded, \
     CAST(SUM(CASE WHEN e.at IS NOT NULL AND (c.promised_due IS NULL OR e.at < (c.promised_due || 'T16:00:00.000000Z')) \
     THEN 1 ELSE 0 END) AS BIGINT) AS on_time";

/// A period of China days as the queries bound it: case numbers from the
/// first day up to the day after, and times from the first day's start up to
/// the next day's.
struct Period {
    first_day: String,
    day_after: String,
    since: String,
    until: String,
}

impl Period {
    fn of(from: jiff::civil::Date, to: jiff::civil::Date) -> Result<Period> {
        let out_of_range = || crate::StoreError::Invalid(format!("日期 {from}–{to} 超出范围 / out of range"));
        let after = to.tomorrow().map_err(|_| out_of_range())?;
        let start = |d| yiwang_calendar::china_day_start(d).map(ts).ok_or_else(out_of_range);
        let day = |d: jiff::civil::Date| d.strftime("%Y%m%d").to_string();
        Ok(Period { first_day: day(from), day_after: day(after), since: start(from)?, until: start(after)? })
    }
}

/// One month's case counts for the leaders' statistics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonthCounts {
    /// `YYYYMM`, China time.
    pub month: String,
    pub applications: i64,
    pub online: i64,
    pub concluded: i64,
    pub on_time: i64,
}

/// What a process got when it asked for a day's sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepClaim {
    /// This process sweeps (batch by batch, extending its lease).
    Claimed,
    /// Another process holds a live lease.
    Held,
    /// The day's sweep is done.
    Done,
}

/// A day's sweep as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    pub day: String,
    pub claimed_by: String,
    pub done_at: Option<String>,
    pub marked: i64,
}

/// An alert as kept.
#[derive(Debug, Clone, Serialize)]
pub struct StoredAlert {
    /// The case's number, or for another subject its id.
    pub case_no: String,
    /// `case`, or `sharing_request` (a 共享申请 past its due date).
    pub subject: String,
    pub key: String,
    pub rule: String,
    pub class: String,
    pub level: String,
    pub agency_uscc: String,
    pub due_at: String,
    pub message_zh: String,
    pub rule_version: i64,
    pub raised_at: String,
}

/// At most this many events of one official in one month are read for the
/// cross-case rules (a month's steps by one person are far fewer).
const OFFICIAL_EVENTS_MAX: i64 = 50_000;

impl Store {
    /// The events the cross-case 廉政 rules count (`officials::Counted`) that
    /// `actor` recorded on `agency`'s cases in [from, to), oldest first: each
    /// one's case, time and kind (the rules read nothing else of it).
    pub async fn official_events(
        &self,
        agency: &str,
        actor: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<(String, jiff::Timestamp, String)>> {
        // The kinds are written out so the partial index `case_events_official` serves the query.
        const SQL: &str = "SELECT e.case_no, e.at, e.kind FROM case_events e JOIN cases c ON c.case_no = e.case_no \
             WHERE e.actor = $1 AND e.at >= $2 AND e.at < $3 AND e.kind IN ('step_passed', 'step_returned', 'special_started') \
             AND c.agency_uscc = $4 ORDER BY e.at, e.case_no, e.seq LIMIT $5";
        let rows = crate::db::query(SQL)
            .bind(actor)
            .bind(ts(from))
            .bind(ts(to))
            .bind(agency)
            .bind(OFFICIAL_EVENTS_MAX)
            .fetch_all(self.write())
            .await?;
        rows.iter()
            .map(|r| {
                let at: String = r.try_get("at")?;
                let at = at.parse().map_err(|e| crate::StoreError::Corrupt(format!("case event time: {e}")))?;
                Ok((r.try_get("case_no")?, at, r.try_get("kind")?))
            })
            .collect()
    }

    /// Up to `limit` cases with events not yet evaluated, with their events
    /// and how many of them an earlier pass evaluated.
    pub async fn cases_to_supervise(&self, limit: i64) -> Result<Vec<(CaseRow, Vec<Envelope>, i64)>> {
        let rows = crate::db::query(safe(format!(
            "SELECT {CASE_COLUMNS}, supervised_version FROM cases WHERE supervise_pending = 1 ORDER BY case_no LIMIT $1"
        )))
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.write())
        .await?;
        let evaluated: Vec<i64> = rows.iter().map(|r| r.try_get("supervised_version")).collect::<std::result::Result<_, _>>()?;
        let cases: Vec<CaseRow> = rows.iter().map(case_row).collect::<Result<_>>()?;
        // `with_events` keeps the cases' order.
        Ok(self.with_events(cases, self.write()).await?.into_iter().zip(evaluated).map(|((c, events), done)| (c, events, done)).collect())
    }

    /// Keep a case's alerts (each once per key) and, when the case is still
    /// at `version`, mark it evaluated with the day the sweep is to look at it
    /// again (`next_check`); returns how many alerts were new.
    pub async fn keep_alerts(
        &self,
        case_no: &str,
        version: i64,
        alerts: &[Alert],
        rule_version: u32,
        next_check: Option<jiff::civil::Date>,
        now: jiff::Timestamp,
    ) -> Result<usize> {
        let at = ts(now);
        let mut tx = self.begin().await?;
        let new = tx.insert_alerts("case", alerts, rule_version, &at).await?;
        // A newer event meanwhile keeps the case pending: it is evaluated again.
        crate::db::query(
            "UPDATE cases SET supervise_pending = 0, supervise_at = $3, supervised_version = $2 WHERE case_no = $1 AND version = $2",
        )
        .bind(case_no)
        .bind(version)
        .bind(next_check.map(|d| d.to_string()))
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Claim the sweep of China day `day` for `me` until `lease_until`: the
    /// first claim wins; a claim whose lease lapsed before `now` unfinished is
    /// taken over.
    pub async fn claim_sweep(&self, day: &str, me: &str, lease_until: jiff::Timestamp, now: jiff::Timestamp) -> Result<SweepClaim> {
        let lease = ts(lease_until);
        let taken = crate::db::query(
            "INSERT INTO supervision_sweeps (day, claimed_by, lease_until, marked) VALUES ($1, $2, $3, 0) ON CONFLICT (day) DO NOTHING",
        )
        .bind(day)
        .bind(me)
        .bind(&lease)
        .execute(self.write())
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(SweepClaim::Claimed);
        }
        let over = crate::db::query(
            "UPDATE supervision_sweeps SET claimed_by = $2, lease_until = $3 WHERE day = $1 AND done_at IS NULL AND lease_until < $4",
        )
        .bind(day)
        .bind(me)
        .bind(&lease)
        .bind(ts(now))
        .execute(self.write())
        .await?;
        if over.rows_affected() == 1 {
            return Ok(SweepClaim::Claimed);
        }
        let done: Option<String> = crate::db::query("SELECT done_at FROM supervision_sweeps WHERE day = $1")
            .bind(day)
            .fetch_optional(self.write())
            .await?
            .map(|r| r.try_get("done_at"))
            .transpose()?
            .flatten();
        Ok(if done.is_some() { SweepClaim::Done } else { SweepClaim::Held })
    }

    /// One batch of the claimed sweep of `day`: mark up to `batch` cases whose
    /// check day has come (their check day is cleared: the evaluation sets the
    /// next), and extend the lease. Returns how many were marked, or `None`
    /// when the claim was lost to another process.
    pub async fn sweep_batch(&self, day: &str, me: &str, batch: i64, lease_until: jiff::Timestamp) -> Result<Option<u64>> {
        let mut tx = self.begin().await?;
        let held =
            crate::db::query("UPDATE supervision_sweeps SET lease_until = $3 WHERE day = $1 AND claimed_by = $2 AND done_at IS NULL")
                .bind(day)
                .bind(me)
                .bind(ts(lease_until))
                .execute(&mut tx)
                .await?;
        if held.rows_affected() == 0 {
            return Ok(None);
        }
        let marked = crate::db::query(
            "UPDATE cases SET supervise_pending = 1, supervise_at = NULL \
             WHERE case_no IN (SELECT case_no FROM cases WHERE supervise_at <= $1 ORDER BY supervise_at LIMIT $2)",
        )
        .bind(day)
        .bind(batch.clamp(1, 100_000))
        .execute(&mut tx)
        .await?
        .rows_affected();
        if marked > 0 {
            crate::db::query("UPDATE supervision_sweeps SET marked = marked + $2 WHERE day = $1")
                .bind(day)
                .bind(i64::try_from(marked).unwrap_or(i64::MAX))
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(marked))
    }

    /// The claimed sweep of `day` is done.
    pub async fn finish_sweep(&self, day: &str, me: &str, now: jiff::Timestamp) -> Result<()> {
        crate::db::query("UPDATE supervision_sweeps SET done_at = $3 WHERE day = $1 AND claimed_by = $2 AND done_at IS NULL")
            .bind(day)
            .bind(me)
            .bind(ts(now))
            .execute(self.write())
            .await?;
        Ok(())
    }

    /// The sweeps run, newest first (for the operator).
    pub async fn sweeps(&self, limit: i64) -> Result<Vec<SweepRow>> {
        let rows = crate::db::query("SELECT day, claimed_by, done_at, marked FROM supervision_sweeps ORDER BY day DESC LIMIT $1")
            .bind(limit.clamp(1, 1000))
            .fetch_all(self.read())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SweepRow {
                    day: r.try_get("day")?,
                    claimed_by: r.try_get("claimed_by")?,
                    done_at: r.try_get("done_at")?,
                    marked: r.try_get("marked")?,
                })
            })
            .collect()
    }

    /// The alerts kept, newest due first; of some agencies' cases, or all;
    /// of one class and level if asked.
    pub async fn supervision_alerts(
        &self,
        agencies: Option<&[String]>,
        class: Option<&str>,
        level: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredAlert>> {
        let limit = limit.clamp(1, 1000);
        let filter = "($2 = '' OR class = $2) AND ($3 = '' OR level = $3)";
        let (class, level) = (class.unwrap_or(""), level.unwrap_or(""));
        let Some(list) = agencies else {
            let rows = crate::db::query(safe(format!(
                "SELECT {ALERT_COLUMNS} FROM supervision_alerts WHERE {filter} ORDER BY due_at DESC, case_no, alert_key LIMIT $1"
            )))
            .bind(limit)
            .bind(class)
            .bind(level)
            .fetch_all(self.read())
            .await?;
            return rows.iter().map(stored_alert).collect();
        };
        let mut out = Vec::new();
        for a in list {
            let rows = crate::db::query(safe(format!(
                "SELECT {ALERT_COLUMNS} FROM supervision_alerts WHERE agency_uscc = $4 AND {filter} \
                 ORDER BY due_at DESC, case_no, alert_key LIMIT $1"
            )))
            .bind(limit)
            .bind(class)
            .bind(level)
            .bind(a.as_str())
            .fetch_all(self.read())
            .await?;
            out.extend(rows.iter().map(stored_alert).collect::<Result<Vec<_>>>()?);
        }
        out.sort_by(|a, b| b.due_at.cmp(&a.due_at).then_with(|| (&a.case_no, &a.key).cmp(&(&b.case_no, &b.key))));
        out.truncate(usize::try_from(limit).unwrap_or(1000));
        Ok(out)
    }

    /// For benchmarks over bulk-loaded cases (whose check days no evaluation
    /// has set): one case in `one_in` (the first by number) is to be checked on `due`, the others on
    /// `later`; returns how many are due.
    pub async fn spread_check_days(&self, due: &str, later: &str, one_in: i64) -> Result<u64> {
        let one_in = one_in.clamp(1, 1_000_000);
        crate::db::query("UPDATE cases SET supervise_at = $1, supervise_pending = 0").bind(later).execute(self.write()).await?;
        let total: i64 = crate::db::query("SELECT COUNT(*) AS n FROM cases").fetch_one(self.write()).await?.try_get("n")?;
        let done =
            crate::db::query("UPDATE cases SET supervise_at = $1 WHERE case_no IN (SELECT case_no FROM cases ORDER BY case_no LIMIT $2)")
                .bind(due)
                .bind(total / one_in)
                .execute(self.write())
                .await?;
        Ok(done.rows_affected())
    }

    /// 监察结果公开: per agency, the counts of the cases applied for in
    /// `year` (China time) and accepted, and of the orders closed and the
    /// ratings given then; `today` (China) decides which open cases are past
    /// their promised date.
    pub async fn public_counts(&self, year: i16, today: &str) -> Result<Vec<(String, yiwang_supervision::public::Counts)>> {
        let start = |y: i16| {
            jiff::civil::Date::new(y, 1, 1)
                .ok()
                .and_then(yiwang_calendar::china_day_start)
                .map(ts)
                .ok_or_else(|| crate::StoreError::Invalid(format!("年度 {y} 超出范围 / year {y} out of range")))
        };
        let (since, until) = (start(year)?, start(year + 1)?);
        let (since, until) = (since.as_str(), until.as_str());
        let cases = crate::db::query(safe(format!(
            "SELECT c.agency_uscc, COUNT(*) AS accepted, {CONCLUDED_ON_TIME}, \
             CAST(SUM(CASE WHEN c.promised_due IS NOT NULL AND ((e.at IS NOT NULL AND e.at >= (c.promised_due || 'T16:00:00.000000Z')) \
                  OR (e.at IS NULL AND c.state IN ('accepted', 'in_process', 'special_procedure', 'decided') AND c.promised_due < $3)) \
                  THEN 1 ELSE 0 END) AS BIGINT) AS overdue \
             FROM {WITH_CONCLUSION} WHERE c.accepted_on IS NOT NULL AND c.created_at >= $1 AND c.created_at < $2 GROUP BY c.agency_uscc",
        )))
        .bind(since)
        .bind(until)
        .bind(today)
        .fetch_all(self.read())
        .await?;
        let mut out: std::collections::BTreeMap<String, yiwang_supervision::public::Counts> = std::collections::BTreeMap::new();
        for r in &cases {
            let c = out.entry(r.try_get("agency_uscc")?).or_default();
            c.accepted = r.try_get("accepted")?;
            c.concluded = r.try_get::<Option<i64>, _>("concluded")?.unwrap_or(0);
            c.on_time = r.try_get::<Option<i64>, _>("on_time")?.unwrap_or(0);
            c.overdue = r.try_get::<Option<i64>, _>("overdue")?.unwrap_or(0);
        }
        let orders = crate::db::query(
            "SELECT agency_uscc, COUNT(*) AS closed, \
             CAST(SUM(CASE WHEN rectified_at < (due_date || 'T16:00:00.000000Z') THEN 1 ELSE 0 END) AS BIGINT) AS on_time \
             FROM supervision_orders WHERE state = 'closed' AND closed_at >= $1 AND closed_at < $2 GROUP BY agency_uscc",
        )
        .bind(since)
        .bind(until)
        .fetch_all(self.read())
        .await?;
        for r in &orders {
            let c = out.entry(r.try_get("agency_uscc")?).or_default();
            c.orders_closed = r.try_get("closed")?;
            c.orders_on_time = r.try_get::<Option<i64>, _>("on_time")?.unwrap_or(0);
        }
        // 好评率 over the ratings given in the period, those voided on appeal left out.
        let ratings = crate::db::query(
            "SELECT agency_uscc, COUNT(*) AS n, CAST(SUM(CASE WHEN level <= 2 THEN 1 ELSE 0 END) AS BIGINT) AS good FROM ratings \
             WHERE at >= $1 AND at < $2 AND (loop_state IS NULL OR loop_state <> 'voided') GROUP BY agency_uscc",
        )
        .bind(since)
        .bind(until)
        .fetch_all(self.read())
        .await?;
        for r in &ratings {
            let c = out.entry(r.try_get("agency_uscc")?).or_default();
            c.ratings = r.try_get("n")?;
            c.good = r.try_get::<Option<i64>, _>("good")?.unwrap_or(0);
        }
        Ok(out.into_iter().collect())
    }

    /// The leaders' statistics: per China month (`YYYYMM`, read from the case
    /// number, which carries the China day it was given) from `from` to `to`
    /// inclusive, the applications, those made online, those concluded and
    /// those concluded by their promised date; of some agencies or all.
    pub async fn monthly_cases(&self, agencies: &[String], from: &str, to: &str) -> Result<Vec<MonthCounts>> {
        let mut out: std::collections::BTreeMap<String, MonthCounts> = std::collections::BTreeMap::new();
        for a in agencies {
            // The case number begins with the agency's USCC and the day: a range of the primary key.
            let rows = crate::db::query(safe(format!(
                "SELECT substr(c.case_no, 19, 6) AS m, COUNT(*) AS n, \
                 CAST(SUM(CASE WHEN c.channel = 'online' THEN 1 ELSE 0 END) AS BIGINT) AS online, {CONCLUDED_ON_TIME} \
                 FROM {WITH_CONCLUSION} WHERE c.case_no >= $1 AND c.case_no < $2 GROUP BY substr(c.case_no, 19, 6)",
            )))
            .bind(format!("{a}{from}"))
            .bind(format!("{a}{to}99"))
            .fetch_all(self.read())
            .await?;
            for r in &rows {
                let m = out.entry(r.try_get("m")?).or_default();
                m.applications += r.try_get::<i64, _>("n")?;
                m.online += r.try_get::<Option<i64>, _>("online")?.unwrap_or(0);
                m.concluded += r.try_get::<Option<i64>, _>("concluded")?.unwrap_or(0);
                m.on_time += r.try_get::<Option<i64>, _>("on_time")?.unwrap_or(0);
            }
        }
        Ok(out
            .into_iter()
            .map(|(month, mut c)| {
                c.month = month;
                c
            })
            .collect())
    }

    /// The third-party indicators' counts of a period, China days `from` to
    /// `to` inclusive (`YYYY-MM-DD`), per agency: the cases applied for in it
    /// (one range of the primary key per agency, as the case number carries
    /// the day) and the ratings given in it, those voided on appeal left out.
    pub async fn indicator_counts(
        &self,
        agencies: &[String],
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<std::collections::BTreeMap<String, (CaseCounts, RatingCounts)>> {
        let p = Period::of(from, to)?;
        let mut out: std::collections::BTreeMap<String, (CaseCounts, RatingCounts)> = std::collections::BTreeMap::new();
        for a in agencies {
            let row = crate::db::query(safe(format!(
                "SELECT COUNT(*) AS n, CAST(SUM(CASE WHEN c.channel = 'online' THEN 1 ELSE 0 END) AS BIGINT) AS online, {CONCLUDED_ON_TIME} \
                 FROM {WITH_CONCLUSION} WHERE c.case_no >= $1 AND c.case_no < $2",
            )))
            .bind(format!("{a}{}", p.first_day))
            .bind(format!("{a}{}", p.day_after))
            .fetch_one(self.read())
            .await?;
            let n: i64 = row.try_get("n")?;
            if n > 0 {
                out.entry(a.clone()).or_default().0 = CaseCounts {
                    applications: n,
                    online: row.try_get::<Option<i64>, _>("online")?.unwrap_or(0),
                    concluded: row.try_get::<Option<i64>, _>("concluded")?.unwrap_or(0),
                    on_time: row.try_get::<Option<i64>, _>("on_time")?.unwrap_or(0),
                };
            }
        }
        for (uscc, _, r) in self.period_ratings(false, &p.since, &p.until).await? {
            if agencies.contains(&uscc) {
                out.entry(uscc).or_default().1 = r;
            }
        }
        Ok(out)
    }

    /// Ratings given from `since` until `until` (timestamps), those voided on
    /// appeal left out, per agency, or per agency and item with `by_item`:
    /// (agency, item or "", counts).
    async fn period_ratings(&self, by_item: bool, since: &str, until: &str) -> Result<Vec<(String, String, RatingCounts)>> {
        let (key, group) = if by_item { ("item_code", "agency_uscc, item_code") } else { ("''", "agency_uscc") };
        let rows = crate::db::query(safe(format!(
            "SELECT agency_uscc, {key} AS k, COUNT(*) AS n, CAST(SUM(CASE WHEN level <= 2 THEN 1 ELSE 0 END) AS BIGINT) AS good, \
             CAST(SUM(CASE WHEN level >= 4 THEN 1 ELSE 0 END) AS BIGINT) AS bad, \
             CAST(SUM(CASE WHEN level >= 4 AND loop_state IN ('to_revisit', 'closed') THEN 1 ELSE 0 END) AS BIGINT) AS fed_back \
             FROM ratings WHERE at >= $1 AND at < $2 AND (loop_state IS NULL OR loop_state <> 'voided') GROUP BY {group}",
        )))
        .bind(since)
        .bind(until)
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("agency_uscc")?,
                    r.try_get("k")?,
                    RatingCounts {
                        ratings: r.try_get("n")?,
                        good: r.try_get::<Option<i64>, _>("good")?.unwrap_or(0),
                        bad: r.try_get::<Option<i64>, _>("bad")?.unwrap_or(0),
                        fed_back: r.try_get::<Option<i64>, _>("fed_back")?.unwrap_or(0),
                    },
                ))
            })
            .collect()
    }

    /// The leaders' statistics by item: per item of some agencies, the cases
    /// applied for from `from` to `to` (China days, inclusive) and the ratings
    /// given then; each line is (item code, item name, agency, cases, ratings).
    pub async fn item_counts(
        &self,
        agencies: &[String],
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<(String, String, String, CaseCounts, RatingCounts)>> {
        let p = Period::of(from, to)?;
        let mut out: std::collections::BTreeMap<String, (String, String, CaseCounts, RatingCounts)> = std::collections::BTreeMap::new();
        for a in agencies {
            let rows = crate::db::query(safe(format!(
                "SELECT c.item_code, MAX(c.item_name) AS item_name, COUNT(*) AS n, \
                 CAST(SUM(CASE WHEN c.channel = 'online' THEN 1 ELSE 0 END) AS BIGINT) AS online, {CONCLUDED_ON_TIME} \
                 FROM {WITH_CONCLUSION} WHERE c.case_no >= $1 AND c.case_no < $2 GROUP BY c.item_code",
            )))
            .bind(format!("{a}{}", p.first_day))
            .bind(format!("{a}{}", p.day_after))
            .fetch_all(self.read())
            .await?;
            for r in &rows {
                let code: String = r.try_get("item_code")?;
                let line = out.entry(code).or_insert_with(|| (String::new(), a.clone(), CaseCounts::default(), RatingCounts::default()));
                line.0 = r.try_get::<Option<String>, _>("item_name")?.unwrap_or_default();
                line.2 = CaseCounts {
                    applications: r.try_get("n")?,
                    online: r.try_get::<Option<i64>, _>("online")?.unwrap_or(0),
                    concluded: r.try_get::<Option<i64>, _>("concluded")?.unwrap_or(0),
                    on_time: r.try_get::<Option<i64>, _>("on_time")?.unwrap_or(0),
                };
            }
        }
        for (uscc, item, r) in self.period_ratings(true, &p.since, &p.until).await? {
            if agencies.contains(&uscc) {
                out.entry(item).or_insert_with(|| (String::new(), uscc, CaseCounts::default(), RatingCounts::default())).3 = r;
            }
        }
        Ok(out.into_iter().map(|(code, (name, agency, c, r))| (code, name, agency, c, r)).collect())
    }

    /// Ratings and 好评 per month (UTC month of the rating's time) since
    /// `since`, of some agencies; those voided on appeal left out.
    pub async fn monthly_ratings(&self, agencies: &[String], since: &str) -> Result<Vec<(String, i64, i64)>> {
        let mut out: std::collections::BTreeMap<String, (i64, i64)> = std::collections::BTreeMap::new();
        for a in agencies {
            let rows = crate::db::query(
                "SELECT substr(at, 1, 7) AS m, COUNT(*) AS n, CAST(SUM(CASE WHEN level <= 2 THEN 1 ELSE 0 END) AS BIGINT) AS good \
                 FROM ratings WHERE agency_uscc = $1 AND at >= $2 AND (loop_state IS NULL OR loop_state <> 'voided') GROUP BY substr(at, 1, 7)",
            )
            .bind(a.as_str())
            .bind(since)
            .fetch_all(self.read())
            .await?;
            for r in &rows {
                let m: String = r.try_get("m")?;
                let e = out.entry(m.replace('-', "")).or_default();
                e.0 += r.try_get::<i64, _>("n")?;
                e.1 += r.try_get::<Option<i64>, _>("good")?.unwrap_or(0);
            }
        }
        Ok(out.into_iter().map(|(m, (n, g))| (m, n, g)).collect())
    }

    /// The day the sweep is to look at a case again (none: no rule on time can trip).
    pub async fn supervision_check_day(&self, case_no: &str) -> Result<Option<String>> {
        let row = crate::db::query("SELECT supervise_at FROM cases WHERE case_no = $1").bind(case_no).fetch_optional(self.read()).await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("supervise_at")).transpose()?.flatten())
    }

    /// One alert.
    pub async fn supervision_alert(&self, case_no: &str, key: &str) -> Result<Option<StoredAlert>> {
        let row = crate::db::query(safe(format!("SELECT {ALERT_COLUMNS} FROM supervision_alerts WHERE case_no = $1 AND alert_key = $2")))
            .bind(case_no)
            .bind(key)
            .fetch_optional(self.read())
            .await?;
        row.as_ref().map(stored_alert).transpose()
    }

    /// How many alerts there are per (class, level), of some agencies' cases or all.
    pub async fn alert_counts(&self, agencies: Option<&[String]>) -> Result<Vec<(String, String, i64)>> {
        let mut counts: std::collections::BTreeMap<(String, String), i64> = std::collections::BTreeMap::new();
        let rows = match agencies {
            None => {
                crate::db::query("SELECT class, level, COUNT(*) AS n FROM supervision_alerts GROUP BY class, level")
                    .fetch_all(self.read())
                    .await?
            }
            Some(list) => {
                let mut rows = Vec::new();
                for a in list {
                    rows.extend(
                        crate::db::query(
                            "SELECT class, level, COUNT(*) AS n FROM supervision_alerts WHERE agency_uscc = $1 GROUP BY class, level",
                        )
                        .bind(a.as_str())
                        .fetch_all(self.read())
                        .await?,
                    );
                }
                rows
            }
        };
        for r in &rows {
            *counts.entry((r.try_get("class")?, r.try_get("level")?)).or_default() += r.try_get::<i64, _>("n")?;
        }
        Ok(counts.into_iter().map(|((c, l), n)| (c, l, n)).collect())
    }
}

const ALERT_COLUMNS: &str = "case_no, subject, alert_key, rule, class, level, agency_uscc, due_at, message, rule_version, raised_at";

fn stored_alert(r: &impl RowLike) -> Result<StoredAlert> {
    Ok(StoredAlert {
        case_no: r.try_get("case_no")?,
        subject: r.try_get("subject")?,
        key: r.try_get("alert_key")?,
        rule: r.try_get("rule")?,
        class: r.try_get("class")?,
        level: r.try_get("level")?,
        agency_uscc: r.try_get("agency_uscc")?,
        due_at: r.try_get("due_at")?,
        message_zh: r.try_get("message")?,
        rule_version: r.try_get("rule_version")?,
        raised_at: r.try_get("raised_at")?,
    })
}

impl crate::Tx {
    /// Keep alerts once per (subject, key), in one statement: a case's few, a
    /// day's follow-ups, or an overdue sharing request's (`subject`: `case` or
    /// `sharing_request`, whose id is the alert's `case_no`). Returns how many
    /// were new.
    pub(crate) async fn insert_alerts(&mut self, subject: &str, alerts: &[Alert], rule_version: u32, at: &str) -> Result<usize> {
        let mut new = 0;
        // At most 100 rows (1,100 parameters) a statement.
        for chunk in alerts.chunks(100) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let cols: Vec<String> = (1..=11).map(|c| format!("${}", i * 11 + c)).collect();
                    format!("({})", cols.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO supervision_alerts (case_no, subject, alert_key, rule, class, level, agency_uscc, due_at, message, rule_version, raised_at) \
                 VALUES {} ON CONFLICT (case_no, alert_key) DO NOTHING",
                rows.join(", ")
            );
            let mut q = crate::db::query(safe(sql));
            for a in chunk {
                q = q
                    .bind(&a.case_no)
                    .bind(subject)
                    .bind(&a.key)
                    .bind(&a.rule)
                    .bind(crate::code_text(&a.class)?)
                    .bind(crate::code_text(&a.level)?)
                    .bind(&a.agency_uscc)
                    .bind(ts(a.at))
                    .bind(&a.message_zh)
                    .bind(i64::from(rule_version))
                    .bind(at);
            }
            new += q.execute(&mut *self).await?.rows_affected() as usize;
        }
        Ok(new)
    }
}

impl Store {
    /// The orders whose rectification is owed and the 差评 loops still open,
    /// each due before `day`: what the follow-up rules look at.
    pub async fn open_followups(
        &self,
        day: jiff::civil::Date,
    ) -> Result<(Vec<yiwang_supervision::followups::OpenOrder>, Vec<yiwang_supervision::followups::OpenLoop>)> {
        use yiwang_supervision::followups::{OpenLoop, OpenOrder};
        let day = day.to_string();
        let corrupt = |what: &str, e: String| crate::StoreError::Corrupt(format!("{what}: {e}"));
        let code = |s: String| serde_json::Value::String(s);
        let rows = crate::db::query(
            "SELECT id, case_no, agency_uscc, state, due_date FROM supervision_orders WHERE state IN ('issued', 'acknowledged') AND due_date < $1",
        )
        .bind(&day)
        .fetch_all(self.read())
        .await?;
        let mut orders = Vec::with_capacity(rows.len());
        for r in &rows {
            orders.push(OpenOrder {
                id: r.try_get("id")?,
                case_no: r.try_get("case_no")?,
                agency_uscc: r.try_get("agency_uscc")?,
                state: serde_json::from_value(code(r.try_get("state")?)).map_err(|e| corrupt("order state", e.to_string()))?,
                due: r.try_get::<String, _>("due_date")?.parse().map_err(|e: jiff::Error| corrupt("order due", e.to_string()))?,
            });
        }
        let rows = crate::db::query(
            "SELECT id, case_no, agency_uscc, loop_state, loop_due FROM ratings \
             WHERE loop_state IN ('open', 'rectifying', 'to_feedback', 'appealed') AND loop_due < $1",
        )
        .bind(&day)
        .fetch_all(self.read())
        .await?;
        let mut loops = Vec::with_capacity(rows.len());
        for r in &rows {
            loops.push(OpenLoop {
                rating_id: r.try_get("id")?,
                case_no: r.try_get("case_no")?,
                agency_uscc: r.try_get("agency_uscc")?,
                state: serde_json::from_value(code(r.try_get("loop_state")?)).map_err(|e| corrupt("loop state", e.to_string()))?,
                due: r.try_get::<String, _>("loop_due")?.parse().map_err(|e: jiff::Error| corrupt("loop due", e.to_string()))?,
            });
        }
        Ok((orders, loops))
    }

    /// Keep the follow-up alerts (overdue orders and loops), once each.
    pub async fn keep_followup_alerts(&self, alerts: &[Alert], now: jiff::Timestamp) -> Result<usize> {
        if alerts.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        // Version 0: the follow-up rules are fixed, not part of a versioned rule set.
        let new = tx.insert_alerts("case", alerts, 0, &ts(now)).await?;
        tx.commit().await?;
        Ok(new)
    }
}
