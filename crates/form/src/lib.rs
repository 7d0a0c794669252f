//! E-forms (电子表单): one schema, a subset of JSON Schema with UI hints and
//! prefill bindings, serves three purposes. It validates what an API client or
//! the portal submits, field by field with Chinese and English messages; it
//! fills the form from what the government already holds (the applicant's
//! profile, the population and legal-entity base data, e-licenses, the
//! applicant's previous application), so the applicant never retypes a bound
//! field; and it describes the fields the portal renders, in order. The same
//! subset describes a license type's `data`. Pure: no IO, and "today" (for
//! checking a citizen ID's birth date) is a parameter.

mod merge;
mod prefill;
mod render;
mod schema;

pub use prefill::{Binding, Filled, Sources, fill};
pub use render::{FieldView, coerce_pairs, field_views};
pub use schema::{FieldProblem, Format, Property, Schema, Widget};
