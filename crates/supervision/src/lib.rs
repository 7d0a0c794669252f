//! 电子监察 (issue 22): the five classes of anomaly (domain.md §5) as rules
//! over a case's events.
//!
//! Everything here is a pure function of (rule set, the case's facts, its
//! events, the working-day calendar, now). [`evaluate`] gives every alert the
//! case has earned by `now`, each stamped with the moment it became due: an
//! event's time for a rule on an event, the start of the day a limit was
//! passed for a rule on time. The live node stores what `evaluate` gives
//! after each event and on each sweep, keyed by [`Alert::key`]; a replay over
//! stored history calls the same function, so it reproduces the live alerts
//! exactly, and two rule-set versions can be compared side by side.

pub mod followups;
pub mod indicators;
pub mod officials;
pub mod orders;
pub mod public;
pub mod ratings;
mod rules;

pub use orders::{Order, OrderAction, OrderError, OrderEvent, OrderState, Party};
pub use rules::{Alert, CaseFacts, Class, FeeFacts, ItemFacts, Level, RuleSet, Settings, evaluate, evaluate_with_next};

#[cfg(test)]
mod tests;
