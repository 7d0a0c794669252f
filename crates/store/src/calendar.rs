use crate::db::RowLike;
use jiff::civil::Date;
use serde::Serialize;
use yiwang_audit::AuditRecord;
use yiwang_calendar::{BUNDLED_TSV, Calendar, SpecialDay, parse_table};

use crate::{Result, Store, StoreError, Tx, ts};

#[derive(Debug, Clone, Serialize)]
pub struct StoredDay {
    pub day: Date,
    pub kind: SpecialDay,
    pub name: String,
    /// `bundled` or `admin`.
    pub source: String,
    pub updated_at: String,
}

fn parse_day(s: &str) -> Result<Date> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("calendar day {s:?}")))
}

fn parse_kind(s: &str) -> Result<SpecialDay> {
    SpecialDay::parse(s).ok_or_else(|| StoreError::Corrupt(format!("calendar kind {s:?}")))
}

impl Store {
    /// Insert the bundled holiday table where the database has nothing for that
    /// day yet, so an admin's edits are never overwritten on upgrade.
    pub(crate) async fn seed_bundled_calendar(&self, now: jiff::Timestamp) -> Result<()> {
        let entries = parse_table(BUNDLED_TSV)?;
        let now = ts(now);
        let mut tx = self.begin().await?;
        for e in &entries {
            crate::db::query("INSERT INTO calendar_days (day, kind, name, source, updated_at) VALUES ($1, $2, $3, 'bundled', $4) ON CONFLICT (day) DO NOTHING")
                .bind(e.date.to_string())
                .bind(e.kind.as_str())
                .bind(&e.name)
                .bind(&now)
                .execute(&mut tx)
                .await?;
        }
        let years: std::collections::BTreeSet<i16> = entries.iter().map(|e| e.date.year()).collect();
        for y in years {
            crate::db::query(
                "INSERT INTO calendar_years (year, source, updated_at) VALUES ($1, 'bundled', $2) ON CONFLICT (year) DO NOTHING",
            )
            .bind(i64::from(y))
            .bind(&now)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The calendar as the database holds it now.
    pub async fn load_calendar(&self) -> Result<Calendar> {
        let days = crate::db::query("SELECT day, kind FROM calendar_days WHERE kind <> 'normal'").fetch_all(self.read()).await?;
        let mut entries = Vec::with_capacity(days.len());
        for r in &days {
            entries.push((parse_day(&r.try_get::<String, _>("day")?)?, parse_kind(&r.try_get::<String, _>("kind")?)?));
        }
        let years = crate::db::query("SELECT year FROM calendar_years").fetch_all(self.read()).await?;
        let years = years.iter().map(|r| r.try_get::<i64, _>("year").map(|y| y as i16)).collect::<Result<Vec<_>, _>>()?;
        Ok(Calendar::new(entries, years))
    }

    pub async fn calendar_days(&self, year: i16) -> Result<Vec<StoredDay>> {
        let rows = crate::db::query(
            "SELECT day, kind, name, source, updated_at FROM calendar_days WHERE day >= $1 AND day <= $2 AND kind <> 'normal' ORDER BY day",
        )
        .bind(format!("{year:04}-01-01"))
        .bind(format!("{year:04}-12-31"))
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredDay {
                    day: parse_day(&r.try_get::<String, _>("day")?)?,
                    kind: parse_kind(&r.try_get::<String, _>("kind")?)?,
                    name: r.try_get("name")?,
                    source: r.try_get("source")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Set an explicit calendar day, or with `kind = None` make it an ordinary
    /// day (weekday/weekend rule) even where the bundled table lists it. Audited.
    pub async fn set_calendar_day(
        &mut self,
        day: Date,
        kind: Option<SpecialDay>,
        name: &str,
        actor: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        let at = ts(now);
        crate::db::query(
            "INSERT INTO calendar_days (day, kind, name, source, updated_at) VALUES ($1, $2, $3, 'admin', $4) \
             ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name, source = 'admin', updated_at = excluded.updated_at",
        )
        .bind(day.to_string())
        .bind(kind.map_or("normal", SpecialDay::as_str))
        .bind(name)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        let data = serde_json::json!({ "kind": kind.map(SpecialDay::as_str), "name": name }).to_string();
        self.append_audit(AuditRecord {
            at,
            actor: actor.to_string(),
            action: "calendar.day_set".into(),
            object_type: "calendar_day".into(),
            object_id: day.to_string(),
            reason: String::new(),
            data,
        })
        .await?;
        Ok(())
    }

    /// Declare a year's holiday data complete (or not), audited.
    pub async fn set_calendar_year_covered(&mut self, year: i16, covered: bool, actor: &str, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        if covered {
            crate::db::query("INSERT INTO calendar_years (year, source, updated_at) VALUES ($1, 'admin', $2) ON CONFLICT (year) DO UPDATE SET source = 'admin', updated_at = excluded.updated_at")
                .bind(i64::from(year))
                .bind(&at)
                .execute(&mut *self)
                .await?;
        } else {
            crate::db::query("DELETE FROM calendar_years WHERE year = $1").bind(i64::from(year)).execute(&mut *self).await?;
        }
        self.append_audit(AuditRecord {
            at,
            actor: actor.to_string(),
            action: "calendar.year_covered".into(),
            object_type: "calendar_year".into(),
            object_id: year.to_string(),
            reason: String::new(),
            data: serde_json::json!({ "covered": covered }).to_string(),
        })
        .await?;
        Ok(())
    }
}
