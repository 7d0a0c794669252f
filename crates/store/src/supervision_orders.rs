//! 督办单's store (issue 22): each order's events, and its fold kept in a row
//! for listing. An event is written only at the version the caller folded
//! (`yiwang_supervision::Order::apply` decides what is allowed), with the
//! notices it causes and its 汇聚 record, in one transaction.

use serde::Serialize;
use yiwang_supervision::{Order, OrderEvent};

use crate::accounts::ordered_id;
use crate::db::RowLike;
use crate::exchange_outbox::UpwardRecord;
use crate::{Result, Store, StoreError, Tx, ts};

/// An order as listed.
#[derive(Debug, Clone, Serialize)]
pub struct OrderRow {
    pub id: String,
    pub case_no: String,
    pub alert_key: String,
    pub agency_uscc: String,
    pub issuer_agency: String,
    pub state: String,
    pub content: String,
    pub due_date: String,
    pub issued_at: String,
    pub updated_at: String,
    pub rectified_at: Option<String>,
    pub closed_at: Option<String>,
    pub version: i64,
}

/// An event of a 督办单 or of a 差评's loop as kept, with the actor's name for display.
#[derive(Debug, Clone, Serialize)]
pub struct ActedEvent<E> {
    pub seq: i64,
    pub actor_name: String,
    #[serde(flatten)]
    pub event: E,
}

/// One event of an order as kept.
pub type StoredOrderEvent = ActedEvent<OrderEvent>;

impl Store {
    /// The events of one order or loop, in order: `table` keyed by `key` (our
    /// own names, never a caller's).
    pub(crate) async fn acted_events<E: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        key: &'static str,
        id: &str,
    ) -> Result<Vec<ActedEvent<E>>> {
        crate::db::query(crate::safe(format!("SELECT seq, actor_name, event FROM {table} WHERE {key} = $1 ORDER BY seq")))
            .bind(id)
            .fetch_all(self.read())
            .await?
            .iter()
            .map(|r| {
                let text: String = r.try_get("event")?;
                Ok(ActedEvent {
                    seq: r.try_get("seq")?,
                    actor_name: r.try_get("actor_name")?,
                    event: serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{table}: {e}")))?,
                })
            })
            .collect()
    }
}

/// Whom an order event tells: the agency's heads, or one account.
#[derive(Debug, Clone)]
pub enum OrderNotice {
    /// Every active account holding 部门负责人 in the agency.
    AgencyHeads { agency: String, title: String, body: String },
    /// One account (the supervisor who issued the order).
    Account { account_id: String, title: String, body: String },
}

const ORDER_COLUMNS: &str = "id, case_no, alert_key, agency_uscc, issuer_agency, state, content, due_date, issued_at, updated_at, \
     rectified_at, closed_at, version";

fn order_row(r: &impl RowLike) -> Result<OrderRow> {
    Ok(OrderRow {
        id: r.try_get("id")?,
        case_no: r.try_get("case_no")?,
        alert_key: r.try_get("alert_key")?,
        agency_uscc: r.try_get("agency_uscc")?,
        issuer_agency: r.try_get("issuer_agency")?,
        state: r.try_get("state")?,
        content: r.try_get("content")?,
        due_date: r.try_get("due_date")?,
        issued_at: r.try_get("issued_at")?,
        updated_at: r.try_get("updated_at")?,
        rectified_at: r.try_get("rectified_at")?,
        closed_at: r.try_get("closed_at")?,
        version: r.try_get("version")?,
    })
}

/// A new order's number: 督办 + the China day + 8 random hex digits.
pub fn new_order_id(at: jiff::Timestamp) -> String {
    use rand::Rng;
    let day = yiwang_calendar::china_today(at).strftime("%Y%m%d").to_string();
    let n: u32 = rand::rng().random();
    format!("DB{day}{n:08X}")
}

impl Store {
    /// Write an order's event at `expected_version` (0: the issue, which
    /// creates the order), with its notices; `Conflict` when another event
    /// came first, or when the alert already has an order.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_order_event(
        &self,
        id: &str,
        expected_version: i64,
        issuer_agency: &str,
        actor_name: &str,
        event: &OrderEvent,
        after: &Order,
        notices: &[OrderNotice],
        record: Option<UpwardRecord>,
    ) -> Result<OrderRow> {
        let mut tx = self.begin().await?;
        let at = ts(event.at);
        let rectified = after.rectified_at.map(ts);
        let closed = after.closed_at.map(ts);
        let next_version = expected_version + 1;
        if expected_version == 0 {
            let exists = crate::db::query("SELECT id FROM supervision_orders WHERE case_no = $1 AND alert_key = $2")
                .bind(&after.case_no)
                .bind(&after.alert_key)
                .fetch_optional(&mut tx)
                .await?;
            if let Some(r) = exists {
                let other: String = r.try_get("id")?;
                return Err(StoreError::Conflict(format!("该预警已有督办单 {other} / the alert already has order {other}")));
            }
            crate::db::query(
                "INSERT INTO supervision_orders (id, case_no, alert_key, agency_uscc, issuer_agency, state, content, due_date, issued_at, \
                 updated_at, rectified_at, closed_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, NULL, NULL, 1)",
            )
            .bind(id)
            .bind(&after.case_no)
            .bind(&after.alert_key)
            .bind(&after.agency_uscc)
            .bind(issuer_agency)
            .bind(after.state.code())
            .bind(&after.content)
            .bind(after.due.to_string())
            .bind(&at)
            .execute(&mut tx)
            .await?;
        } else {
            let done = crate::db::query(
                "UPDATE supervision_orders SET state = $3, updated_at = $4, rectified_at = $5, closed_at = $6, version = $7 \
                 WHERE id = $1 AND version = $2",
            )
            .bind(id)
            .bind(expected_version)
            .bind(after.state.code())
            .bind(&at)
            .bind(rectified)
            .bind(closed)
            .bind(next_version)
            .execute(&mut tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict(format!(
                    "督办单 {id} 已被他人更新，请刷新后重试 / order {id} changed meanwhile; reload and retry"
                )));
            }
        }
        let body = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        crate::db::query(
            "INSERT INTO supervision_order_events (order_id, seq, at, actor, actor_name, event) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(next_version)
        .bind(&at)
        .bind(&event.actor)
        .bind(actor_name)
        .bind(&body)
        .execute(&mut tx)
        .await?;
        for n in notices {
            tx.notify_order(id, &after.case_no, n, &at).await?;
        }
        if let Some(r) = record {
            tx.queue_order_record(r).await?;
        }
        let row = crate::db::query(crate::safe(format!("SELECT {ORDER_COLUMNS} FROM supervision_orders WHERE id = $1")))
            .bind(id)
            .fetch_one(&mut tx)
            .await?;
        let row = order_row(&row)?;
        tx.commit().await?;
        Ok(row)
    }

    /// An order and its events, in order.
    pub async fn order(&self, id: &str) -> Result<Option<(OrderRow, Vec<StoredOrderEvent>)>> {
        let Some(row) = crate::db::query(crate::safe(format!("SELECT {ORDER_COLUMNS} FROM supervision_orders WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.read())
            .await?
        else {
            return Ok(None);
        };
        let events = self.acted_events("supervision_order_events", "order_id", id).await?;
        Ok(Some((order_row(&row)?, events)))
    }

    /// Orders newest first: to some agencies, or all; of one state if asked.
    pub async fn orders(&self, agencies: Option<&[String]>, state: Option<&str>, limit: i64) -> Result<Vec<OrderRow>> {
        let limit = limit.clamp(1, 1000);
        let state = state.unwrap_or("");
        let Some(list) = agencies else {
            let rows = crate::db::query(crate::safe(format!(
                "SELECT {ORDER_COLUMNS} FROM supervision_orders WHERE ($2 = '' OR state = $2) ORDER BY issued_at DESC, id LIMIT $1"
            )))
            .bind(limit)
            .bind(state)
            .fetch_all(self.read())
            .await?;
            return rows.iter().map(order_row).collect();
        };
        let mut out = Vec::new();
        for a in list {
            let rows = crate::db::query(crate::safe(format!(
                "SELECT {ORDER_COLUMNS} FROM supervision_orders WHERE agency_uscc = $3 AND ($2 = '' OR state = $2) \
                 ORDER BY issued_at DESC, id LIMIT $1"
            )))
            .bind(limit)
            .bind(state)
            .bind(a.as_str())
            .fetch_all(self.read())
            .await?;
            out.extend(rows.iter().map(order_row).collect::<Result<Vec<_>>>()?);
        }
        out.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then_with(|| a.id.cmp(&b.id)));
        out.truncate(usize::try_from(limit).unwrap_or(1000));
        Ok(out)
    }
}

impl Tx {
    /// An order event's notice: in-app, and by email and SMS as each person prefers.
    async fn notify_order(&mut self, order_id: &str, case_no: &str, n: &OrderNotice, at: &str) -> Result<()> {
        let (recipients, title, body): (Vec<String>, &str, &str) = match n {
            OrderNotice::AgencyHeads { agency, title, body } => {
                let rows = crate::db::query(
                    "SELECT s.account_id FROM staff_roles s JOIN accounts a ON a.id = s.account_id \
                     WHERE s.agency_uscc = $1 AND s.role = 'department_head' AND a.status = 'active' ORDER BY s.account_id",
                )
                .bind(agency)
                .fetch_all(&mut *self)
                .await?;
                (rows.iter().map(|r| r.try_get("account_id")).collect::<std::result::Result<_, _>>()?, title, body)
            }
            OrderNotice::Account { account_id, title, body } => (vec![account_id.clone()], title, body),
        };
        let sms = format!("【一网通办】{title}：督办单 {order_id}，请登录系统办理。");
        for account in recipients {
            let id = ordered_id("ntc");
            let written = crate::db::query(
                "INSERT INTO notices (id, account_id, case_no, kind, title, body, created_at) \
                 SELECT $1, a.id, $3, $7, $4, $5, $6 FROM accounts a WHERE a.id = $2 AND a.status = 'active'",
            )
            .bind(&id)
            .bind(&account)
            .bind(case_no)
            .bind(title)
            .bind(body)
            .bind(at)
            .bind(crate::SUPERVISION_ORDER_NOTICE)
            .execute(&mut *self)
            .await?;
            if written.rows_affected() == 0 {
                continue;
            }
            self.queue_notice_copies(&id, &account, title, body, &sms, at).await?;
        }
        Ok(())
    }

    /// 汇聚: an order event's GB/T 39046 表11 record, when records go up.
    async fn queue_order_record(&mut self, record: UpwardRecord) -> Result<()> {
        if !self.aggregating_upward().await? {
            return Ok(());
        }
        self.queue_upward(std::slice::from_ref(&record), crate::integration::queued_at()).await
    }
}
