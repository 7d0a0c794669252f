//! Data sharing's rules (issue 21; domain.md §6), as pure functions: what a
//! grant allows, and the decision a provider takes on every access (default
//! deny: no grant, no data).

mod grant;
mod request;
mod resource;

pub use grant::{Access, Ask, Denied, Grant, RowScope, SharingError, decide};
pub use request::{Application, DECISION_WORKDAYS, Decision, RequestState, check_application, check_decision};
pub use resource::{ResourceItem, ResourceSharing, ShareType};
