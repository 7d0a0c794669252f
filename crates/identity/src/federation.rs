//! Federated login's linking rule (一次认证、多点互联): when a person signed in
//! at another node arrives here, when may their remote identity be joined to a
//! local account of the same ID number without the local owner?

use crate::RealNameLevel;

/// What matters about the local account with the same ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAccount {
    /// The owner can log in here with a password (so can confirm the link).
    pub has_password: bool,
    /// The account holds staff roles anywhere.
    pub is_staff: bool,
}

/// What to do with a remote identity that is not linked yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkDecision {
    /// No local account: make one, at the federated level.
    Create,
    /// Join it to the local account now.
    Link,
    /// Only the local owner may join it: by the local password.
    ConfirmWithPassword,
    /// Only in person at a window (the account has no password to confirm with).
    ConfirmInPerson,
}

/// Link automatically only where the other node vouches for at least L2 and
/// the local account has neither a password (an owner who could be robbed of
/// it) nor staff roles (a door into the agencies); otherwise its owner confirms.
pub fn link_decision(remote: RealNameLevel, local: Option<LocalAccount>) -> LinkDecision {
    match local {
        None => LinkDecision::Create,
        Some(l) if remote >= RealNameLevel::L2 && !l.has_password && !l.is_staff => LinkDecision::Link,
        Some(l) if l.has_password => LinkDecision::ConfirmWithPassword,
        Some(_) => LinkDecision::ConfirmInPerson,
    }
}

/// The level a federated login carries here: what the other node vouched
/// for, at most the provider's `max_level`.
pub fn federated_level(remote: RealNameLevel, max_level: u8) -> RealNameLevel {
    remote.min(RealNameLevel::from_u8(max_level).unwrap_or(RealNameLevel::L2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RealNameLevel::{L1, L2, L3};

    #[test]
    fn only_bare_accounts_are_linked_without_their_owner() {
        let bare = LocalAccount { has_password: false, is_staff: false };
        let with_password = LocalAccount { has_password: true, is_staff: false };
        let staff = LocalAccount { has_password: false, is_staff: true };
        let staff_pw = LocalAccount { has_password: true, is_staff: true };
        assert_eq!(link_decision(L1, None), LinkDecision::Create);
        assert_eq!(link_decision(L2, Some(bare)), LinkDecision::Link);
        assert_eq!(link_decision(L3, Some(bare)), LinkDecision::Link);
        assert_eq!(link_decision(L1, Some(bare)), LinkDecision::ConfirmInPerson, "a weak remote level never links alone");
        assert_eq!(link_decision(L3, Some(with_password)), LinkDecision::ConfirmWithPassword);
        assert_eq!(link_decision(L3, Some(staff)), LinkDecision::ConfirmInPerson);
        assert_eq!(link_decision(L3, Some(staff_pw)), LinkDecision::ConfirmWithPassword);
        assert_eq!(federated_level(L3, 2), L2);
        assert_eq!(federated_level(L1, 3), L1);
    }
}
