//! The item catalog (事项管理), pure: the basic catalog and implementation list
//! model with its code lists (domain.md §1), validation, the publication lifecycle
//! and who may drive it, version diffs, the service-guide projection, import and
//! export (our JSON, national exchange names, CPSV-AP JSON-LD) and the once-only
//! analyzer. No IO, no clock.

#![recursion_limit = "256"]

pub mod analyze;
pub mod bundle;
pub mod code_lists;
pub mod demo_items;
pub mod diff;
pub mod exchange;
pub mod gbt39046;
pub mod guide;
pub mod lifecycle;
pub mod model;
pub mod result;
pub mod samples;
pub mod setup;
pub mod validate;

pub use analyze::{Evidence, FindingKind, Holdings, ItemReport, Report, analyze};
pub use bundle::{Bundle, BundleMaterial};
pub use code_lists::{ItemStatus, TaskType, VersionState};
pub use lifecycle::{Action, CatalogError, Owner, authorize, transition};
pub use model::{AgencyRef, BasicItem, ItemDoc, Material, MaterialSource, ProcessRef};
pub use validate::{FieldError, publishable, validate};

#[cfg(test)]
mod demo_tests {
    #![allow(clippy::unwrap_used)]
    use crate::demo_items::ITEMS;
    use crate::samples::{Place, build};
    use crate::{AgencyRef, publishable};

    #[test]
    fn every_demo_item_is_publishable() {
        assert!(ITEMS.len() >= 30);
        for (_, spec) in ITEMS {
            let agency = AgencyRef { uscc: "113301000025000337".into(), name: "测试局".into(), division_code: "330100".into() };
            let place = Place { agency, level: yiwang_codes::UseLevel::Municipal, hall: "市民中心".into(), phone: "0571-12345".into() };
            let doc = build(spec, &place, &|k| format!("CODE-{k}")).unwrap();
            assert_eq!(publishable(&doc), vec![], "{}", spec.name);
        }
    }
}
