//! 办结出证: concluding a case, and issuing the e-license its item version's
//! result names in the conclusion's own transaction.

use jiff::Timestamp;
use serde_json::json;
use yiwang_calendar::{Calendar, china_today};
use yiwang_case::{Decision, Envelope, Event, State};
use yiwang_crypto::seal::MasterKey;

use crate::cases::{CResult, CaseStoreError};
use crate::licenses::{Holder, LicenseStoreError, NewLicense, PreparedLicense};
use crate::{CaseRow, Store, StoreError};

impl Store {
    /// Record an event; when it is 办结 of an approved case whose item version
    /// issues a license, issue that license, sealed, in the same transaction.
    /// A case concludes once, so its license is issued at most once; 不予许可
    /// issues none. A child of a 多证同发 bundle issues nothing until the last
    /// child ends; that conclusion issues every approved child's license.
    /// Returns the case and the license's id, if one was issued for it.
    pub async fn conclude_case(
        &self,
        case_no: &str,
        envelope: &Envelope,
        expected_version: Option<i64>,
        calendar: &Calendar,
        master: Option<&MasterKey>,
    ) -> CResult<(CaseRow, Option<String>)> {
        let mut raced = 0;
        loop {
            let c = self.case(case_no).await?;
            let issuing = self.licenses_to_issue(&c, std::slice::from_ref(envelope), master).await?;
            let mut tx = self.begin().await?;
            let current = tx.case_for_update(case_no).await?;
            match tx.write_event_issuing(current, envelope, expected_version, calendar, issuing.as_ref()).await {
                Ok((row, issued)) => {
                    tx.commit().await?;
                    return Ok((row, issued));
                }
                // A sibling ended meanwhile: prepare again, now for the join.
                Err(CaseStoreError::BundleJoinRaced(_)) if raced < JOIN_RETRIES => {
                    tx.rollback().await?;
                    raced += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// What the 办结 among `envelopes` (applied in order to `c`) would issue,
    /// prepared before the transaction: the decision may come in the same
    /// batch (a department system's record), so the case is folded up to the
    /// conclusion first. None when nothing concludes, or the batch does not
    /// apply (the transaction will refuse it anyway).
    pub(crate) async fn licenses_to_issue<'k>(
        &self,
        c: &CaseRow,
        envelopes: &[Envelope],
        master: Option<&'k MasterKey>,
    ) -> CResult<Option<Issuing<'k>>> {
        let mut folded = c.case.clone();
        for e in envelopes {
            if matches!(e.event, Event::Concluded { .. }) {
                let at_conclusion = CaseRow { case: folded, ..c.clone() };
                return self.issuing_at(&at_conclusion, e.at, master).await;
            }
            match folded.apply(e) {
                Ok(next) => folded = next,
                Err(_) => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The licenses a conclusion of `c` now issues: its own, or for a child of
    /// a 多证同发 bundle none until it is the last open child, and then every
    /// approved child's.
    async fn issuing_at<'k>(&self, c: &CaseRow, now: Timestamp, master: Option<&'k MasterKey>) -> CResult<Option<Issuing<'k>>> {
        let bundle = match &c.bundle_no {
            Some(b) if self.bundle_issues_together(b).await? => Some(b.clone()),
            _ => None,
        };
        let (prepared, together) = match bundle {
            None => (self.license_to_issue(c, now).await?.into_iter().collect::<Vec<_>>(), Together::No),
            Some(bundle_no) => {
                let siblings: Vec<CaseRow> =
                    self.bundle_children(&bundle_no).await?.into_iter().filter(|s| s.case_no != c.case_no).collect();
                if !siblings.iter().all(|s| s.state.is_over()) {
                    (Vec::new(), Together::Deferred)
                } else {
                    let mut prepared = Vec::new();
                    for s in siblings.iter().filter(|s| s.state == State::Concluded).chain(std::iter::once(c)) {
                        prepared.extend(self.license_to_issue(s, now).await?);
                    }
                    (prepared, Together::AtJoin)
                }
            }
        };
        if prepared.is_empty() && matches!(together, Together::No) {
            return Ok(None);
        }
        let master = match prepared.is_empty() {
            true => None,
            false => Some(master.ok_or_else(|| StoreError::Corrupt("issuing a license at conclusion needs the node master key".into()))?),
        };
        Ok(Some(Issuing { prepared, master, together }))
    }

    /// The license a conclusion now would issue: the filed item version's
    /// license result, filled from the case, for an approved case.
    async fn license_to_issue(&self, c: &CaseRow, now: Timestamp) -> CResult<Option<PreparedLicense>> {
        if c.case.decision != Some(Decision::Approve) {
            return Ok(None);
        }
        let item = self.case_item(c).await?.ok_or_else(|| CaseStoreError::NoItem(c.item_code.clone()))?;
        let Some(result) = yiwang_catalog::result::license_result(&item).filter(|r| !r.license_data.is_empty()) else {
            return Ok(None);
        };
        let Some(type_code) = result.license_type.clone() else { return Ok(None) };
        let today = china_today(now);
        let sources = json!({
            "form": c.form,
            "applicant": { "name": c.applicant.name, "id": c.applicant.id },
            "case": { "case_no": c.case_no, "accepted_on": c.case.accepted_on, "concluded_on": today },
        });
        let valid_until = result.license_valid_years.and_then(|y| today.checked_add(jiff::Span::new().years(i64::from(y))).ok());
        let new = NewLicense {
            type_code,
            number: c.case_no.clone(),
            issuer_uscc: c.agency_uscc.clone(),
            holder: Holder { name: c.applicant.name.clone(), id_type: c.applicant.id_type.clone(), id: c.applicant.id.clone() },
            valid_from: today,
            valid_until,
            case_no: Some(c.case_no.clone()),
            data: yiwang_catalog::result::fill(result, &sources),
        };
        Ok(Some(self.prepare_license(&new, now).await.map_err(license_error)?))
    }
}

/// How often a conclusion is prepared again when a sibling in a 多证同发
/// bundle ended meanwhile (each retry sees one more sibling over).
pub(crate) const JOIN_RETRIES: usize = 3;

/// Licenses prepared for a conclusion, and the key that seals them.
pub(crate) struct Issuing<'k> {
    prepared: Vec<PreparedLicense>,
    master: Option<&'k MasterKey>,
    together: Together,
}

/// Whether a conclusion's licenses wait for its bundle's join (多证同发).
enum Together {
    /// Not a 多证同发 child: its own license, now.
    No,
    /// Other children are still open: nothing yet.
    Deferred,
    /// The last open child: every approved child's license, at the join.
    AtJoin,
}

impl crate::Tx {
    /// Write one event; when it is 办结 and licenses are prepared for it,
    /// issue them first, in this transaction, so the event's notice names the
    /// case's own and all or none commit. Returns the case and its own
    /// license's id.
    pub(crate) async fn write_event_issuing(
        &mut self,
        current: CaseRow,
        envelope: &Envelope,
        expected_version: Option<i64>,
        calendar: &Calendar,
        issuing: Option<&Issuing<'_>>,
    ) -> CResult<(CaseRow, Option<String>)> {
        let Some(i) = issuing.filter(|_| matches!(envelope.event, Event::Concluded { .. })) else {
            return Ok((self.write_case_event(current, envelope, expected_version, calendar, None).await?, None));
        };
        let mut own = None;
        if let Some(master) = i.master {
            for p in &i.prepared {
                let id = self.issue_prepared_license(p, master, &envelope.actor, envelope.at).await.map_err(license_error)?;
                if p.new.case_no.as_deref() == Some(current.case_no.as_str()) {
                    own = Some(id);
                }
            }
        }
        let row = self.write_case_event(current, envelope, expected_version, calendar, None).await?;
        // Deferred while a sibling was open; if the join happened after all,
        // this conclusion must issue for it.
        if let (Together::Deferred, Some(bundle_no)) = (&i.together, &row.bundle_no)
            && self.bundle_completed(bundle_no).await?
        {
            return Err(CaseStoreError::BundleJoinRaced(bundle_no.clone()));
        }
        Ok((row, own))
    }
}

fn license_error(e: LicenseStoreError) -> CaseStoreError {
    CaseStoreError::License(Box::new(e))
}
