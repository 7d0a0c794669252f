//! The publication lifecycle and who may move an item through it.
//!
//! A version goes draft → submitted → published. Publishing a new version marks
//! the previous published one superseded (it stays readable: cases keep pointing
//! at the version they were filed under). A reviewer may send a submitted version
//! back to draft with a note. The item as a whole is active, suspended or
//! cancelled; cancelling is final.
//!
//! Editors (事项编辑) of the owning agency edit and submit. A catalog reviewer
//! (事项审核) of the owning agency, or of an agency whose division contains the
//! owner's (a provincial office reviews its cities), publishes, and never a
//! version they submitted themselves (four eyes).

use yiwang_errors::{Coded, ErrorKind};
use yiwang_identity::{Principal, Role};

use crate::code_lists::{ItemStatus, VersionState};
use crate::validate::FieldError;

/// A lifecycle action on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Edit,
    Submit,
    Publish,
    Return,
    Suspend,
    Resume,
    Cancel,
}

impl Action {
    pub fn name_zh(self) -> &'static str {
        match self {
            Action::Edit => "编辑",
            Action::Submit => "提交审核",
            Action::Publish => "发布",
            Action::Return => "退回修改",
            Action::Suspend => "暂停",
            Action::Resume => "恢复",
            Action::Cancel => "取消",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Submit => "submit",
            Action::Publish => "publish",
            Action::Return => "return",
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Cancel => "cancel",
        }
    }

    /// Which roles act: editors edit and submit, reviewers do the rest.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Action::Edit | Action::Submit => &[Role::CatalogEditor],
            _ => &[Role::CatalogReviewer],
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    #[error("the item has {} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("cannot {action} a {state} version", action = .action.code(), state = .state.code())]
    WrongState { action: Action, state: VersionState },
    #[error("the item is {}", .0.code())]
    ItemClosed(ItemStatus),
    #[error("you may not {} items of this agency", .0.code())]
    Forbidden(Action),
    #[error("the reviewer who publishes must not be the editor who submitted")]
    FourEyes,
    #[error("no such item or version")]
    NotFound,
    #[error("the item already exists")]
    Exists,
    #[error("the draft was changed by someone else since you loaded it (version {0})")]
    Stale(i64),
}

impl Coded for CatalogError {
    fn code(&self) -> &'static str {
        match self {
            CatalogError::Invalid(_) => "catalog.invalid",
            CatalogError::WrongState { .. } => "catalog.wrong_state",
            CatalogError::ItemClosed(_) => "catalog.item_closed",
            CatalogError::Forbidden(_) => "catalog.forbidden",
            CatalogError::FourEyes => "catalog.four_eyes",
            CatalogError::NotFound => "catalog.not_found",
            CatalogError::Exists => "catalog.exists",
            CatalogError::Stale(_) => "catalog.stale",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            CatalogError::Invalid(_) => ErrorKind::Unprocessable,
            CatalogError::WrongState { .. } | CatalogError::ItemClosed(_) | CatalogError::Exists | CatalogError::Stale(_) => {
                ErrorKind::Conflict
            }
            CatalogError::Forbidden(_) | CatalogError::FourEyes => ErrorKind::Forbidden,
            CatalogError::NotFound => ErrorKind::NotFound,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CatalogError::Invalid(errors) => {
                let first: Vec<String> = errors.iter().take(3).map(|e| format!("{}：{}", e.field, e.message_zh)).collect();
                format!("事项有{}处填写不正确：{}", errors.len(), first.join("；"))
            }
            CatalogError::WrongState { action, state } => format!("{}状态的版本不能{}", state.name_zh(), action.name_zh()),
            CatalogError::ItemClosed(s) => format!("事项已{}，不能进行此操作", s.name_zh()),
            CatalogError::Forbidden(a) => format!("您无权{}该部门的事项", a.name_zh()),
            CatalogError::FourEyes => "提交审核的人员不能自行发布（审核须由他人进行）".into(),
            CatalogError::NotFound => "事项或版本不存在".into(),
            CatalogError::Exists => "该实施编码的事项已存在".into(),
            CatalogError::Stale(v) => format!("草稿已被他人修改（当前为第{v}版），请刷新后重试"),
        }
    }
}

impl CatalogError {
    /// The field errors, for problem details.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            CatalogError::Invalid(e) => e,
            _ => &[],
        }
    }
}

/// The state a version moves to under an action, or why it cannot.
pub fn transition(action: Action, state: VersionState, item: ItemStatus) -> Result<VersionState, CatalogError> {
    if item == ItemStatus::Cancelled {
        return Err(CatalogError::ItemClosed(item));
    }
    let next = match (action, state) {
        (Action::Edit, VersionState::Draft) => VersionState::Draft,
        // Editing a published item opens a new draft version (the store does that).
        (Action::Edit, VersionState::Published) => VersionState::Draft,
        (Action::Submit, VersionState::Draft) => VersionState::Submitted,
        (Action::Publish, VersionState::Submitted) => VersionState::Published,
        (Action::Return, VersionState::Submitted) => VersionState::Draft,
        (Action::Suspend, VersionState::Published) if item == ItemStatus::Active => VersionState::Published,
        (Action::Resume, VersionState::Published) if item == ItemStatus::Suspended => VersionState::Published,
        (Action::Cancel, _) => state,
        (action, state) => return Err(CatalogError::WrongState { action, state }),
    };
    Ok(next)
}

/// Whether a division (6 digits) lies within another: 330000 contains 330100 and 330106.
pub fn division_contains(outer: &str, inner: &str) -> bool {
    let significant = outer.trim_end_matches("00");
    let significant = if significant.len() % 2 == 1 { &outer[..significant.len() + 1] } else { significant };
    inner.starts_with(significant)
}

/// The agency that owns an item and where it sits, as the permission check needs it.
pub struct Owner<'a> {
    pub agency: &'a str,
    pub division: &'a str,
}

/// Whether `who` may take `action` on an item owned by `owner`. `reviewer_divisions`
/// gives the division of each agency in which `who` is a catalog reviewer.
pub fn authorize(who: &Principal, action: Action, owner: &Owner<'_>, reviewer_divisions: &[(String, String)]) -> Result<(), CatalogError> {
    let allowed = match action {
        Action::Edit | Action::Submit => who.has_role_in(owner.agency, &[Role::CatalogEditor]),
        _ => {
            who.has_role_in(owner.agency, &[Role::CatalogReviewer])
                || reviewer_divisions.iter().any(|(_, division)| division_contains(division, owner.division))
        }
    };
    if allowed { Ok(()) } else { Err(CatalogError::Forbidden(action)) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn divisions_nest() {
        assert!(division_contains("330000", "330100"));
        assert!(division_contains("330000", "330106"));
        assert!(division_contains("330100", "330106"));
        assert!(!division_contains("330100", "330200"));
        assert!(!division_contains("330000", "320100"));
        assert!(division_contains("330106", "330106"));
        // A county whose code ends in 0 is not a city.
        assert!(!division_contains("330110", "330111"));
        assert!(division_contains("110000", "110101"));
    }

    #[test]
    fn transitions() {
        use VersionState::*;
        assert_eq!(transition(Action::Submit, Draft, ItemStatus::Active).unwrap(), Submitted);
        assert_eq!(transition(Action::Publish, Submitted, ItemStatus::Active).unwrap(), Published);
        assert_eq!(transition(Action::Return, Submitted, ItemStatus::Active).unwrap(), Draft);
        assert!(matches!(transition(Action::Publish, Draft, ItemStatus::Active), Err(CatalogError::WrongState { .. })));
        assert!(matches!(transition(Action::Submit, Published, ItemStatus::Active), Err(CatalogError::WrongState { .. })));
        assert!(matches!(transition(Action::Suspend, Published, ItemStatus::Suspended), Err(CatalogError::WrongState { .. })));
        assert!(matches!(transition(Action::Edit, Draft, ItemStatus::Cancelled), Err(CatalogError::ItemClosed(_))));
    }
}
