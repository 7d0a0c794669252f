//! 办结出证: concluding a case, and issuing the e-license its item version's
//! result names in the conclusion's own transaction.

use jiff::Timestamp;
use serde_json::json;
use yiwang_calendar::{Calendar, china_today};
use yiwang_case::{Decision, Envelope, Event};
use yiwang_crypto::seal::MasterKey;

use crate::cases::{CResult, CaseStoreError};
use crate::licenses::{Holder, LicenseStoreError, NewLicense, PreparedLicense};
use crate::{CaseRow, Store, StoreError};

impl Store {
    /// Record an event; when it is 办结 of an approved case whose item version
    /// issues a license, issue that license, sealed, in the same transaction.
    /// A case concludes once, so its license is issued at most once; 不予许可
    /// issues none. Returns the case and the license's id, if one was issued.
    pub async fn conclude_case(
        &self,
        case_no: &str,
        envelope: &Envelope,
        expected_version: Option<i64>,
        calendar: &Calendar,
        master: Option<&MasterKey>,
    ) -> CResult<(CaseRow, Option<String>)> {
        let c = self.case(case_no).await?;
        let issuing = self.licenses_to_issue(&c, std::slice::from_ref(envelope), master).await?;
        let mut tx = self.begin().await?;
        let current = tx.case_for_update(case_no).await?;
        let (row, issued) = tx.write_event_issuing(current, envelope, expected_version, calendar, issuing.as_ref()).await?;
        tx.commit().await?;
        Ok((row, issued))
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
                let Some(prepared) = self.license_to_issue(&at_conclusion, e.at).await? else { return Ok(None) };
                let master =
                    master.ok_or_else(|| StoreError::Corrupt("issuing a license at conclusion needs the node master key".into()))?;
                return Ok(Some(Issuing { prepared, master }));
            }
            match folded.apply(e) {
                Ok(next) => folded = next,
                Err(_) => return Ok(None),
            }
        }
        Ok(None)
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

/// A license prepared for a conclusion, and the key that seals it.
pub(crate) struct Issuing<'k> {
    prepared: PreparedLicense,
    master: &'k MasterKey,
}

impl crate::Tx {
    /// Write one event; when it is 办结 and a license is prepared for it, issue
    /// the license first, in this transaction, so the event's notice names it
    /// and both or neither commit. Returns the case and the license's id.
    pub(crate) async fn write_event_issuing(
        &mut self,
        current: CaseRow,
        envelope: &Envelope,
        expected_version: Option<i64>,
        calendar: &Calendar,
        issuing: Option<&Issuing<'_>>,
    ) -> CResult<(CaseRow, Option<String>)> {
        let issued = match issuing.filter(|_| matches!(envelope.event, Event::Concluded { .. })) {
            Some(i) => Some(self.issue_prepared_license(&i.prepared, i.master, &envelope.actor, envelope.at).await.map_err(license_error)?),
            None => None,
        };
        let row = self.write_case_event(current, envelope, expected_version, calendar, None).await?;
        Ok((row, issued))
    }
}

fn license_error(e: LicenseStoreError) -> CaseStoreError {
    CaseStoreError::License(Box::new(e))
}
