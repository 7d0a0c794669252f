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
        let prepared = match &envelope.event {
            Event::Concluded { .. } => self.license_to_issue(&c, envelope.at).await?,
            _ => None,
        };
        let issuing = match prepared {
            Some(p) => {
                let m = master.ok_or_else(|| StoreError::Corrupt("issuing a license at conclusion needs the node master key".into()))?;
                Some((p, m))
            }
            None => None,
        };
        let mut tx = self.begin().await?;
        let current = tx.case_for_update(case_no).await?;
        // The license first, so the event's notice can name it; both or neither commit.
        let issued = match issuing {
            Some((p, m)) => Some(tx.issue_prepared_license(&p, m, &envelope.actor, envelope.at).await.map_err(license_error)?),
            None => None,
        };
        let row = tx.write_case_event(current, envelope, expected_version, calendar, None).await?;
        tx.commit().await?;
        Ok((row, issued))
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

fn license_error(e: LicenseStoreError) -> CaseStoreError {
    CaseStoreError::License(Box::new(e))
}
