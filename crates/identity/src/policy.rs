//! The route policy. Every route of the HTTP edge is registered together with an
//! [`Access`]; the edge checks it before the handler runs, and handlers add the
//! resource-level checks (own data only, own agency only) with the helpers here.

use serde::Serialize;

use crate::{Acting, Principal, Role};

/// Who may call a route at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "roles", rename_all = "snake_case")]
pub enum Access {
    /// Anyone, logged in or not (public guides, health, OIDC endpoints that authenticate by themselves).
    Public,
    /// Any logged-in person (citizens, agents and staff alike).
    Authenticated,
    /// Staff holding at least one of these roles in some agency; the handler scopes to the agency.
    Staff(&'static [Role]),
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// 401: no one is logged in.
    Unauthenticated,
    /// 403: logged in, but not allowed.
    Forbidden,
}

impl Access {
    pub fn check(self, who: Option<&Principal>) -> Result<(), Denial> {
        match (self, who) {
            (Access::Public, _) => Ok(()),
            (_, None) => Err(Denial::Unauthenticated),
            (Access::Authenticated, Some(_)) => Ok(()),
            (Access::Staff(roles), Some(p)) => {
                if p.has_any_role(roles) {
                    Ok(())
                } else {
                    Err(Denial::Forbidden)
                }
            }
        }
    }
}

/// Whether `p` currently acts for the enterprise `uscc`, optionally as its legal representative.
pub fn may_act_for_enterprise(p: &Principal, uscc: &str, need_legal_rep: bool) -> bool {
    match &p.acting {
        Acting::Enterprise { uscc: u, legal_representative, .. } => u == uscc && (*legal_representative || !need_legal_rep),
        Acting::Own => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuthVia, RealNameLevel, StaffRole};

    fn person(staff: Vec<StaffRole>) -> Principal {
        Principal {
            account_id: "a".into(),
            subject: "s".into(),
            name: "张三".into(),
            citizen_id: "11010519491231002X".into(),
            level: RealNameLevel::L2,
            acting: Acting::Own,
            staff,
            via: AuthVia::Session { session_id: "s".into() },
            assured: true,
            support: vec![],
        }
    }

    #[test]
    fn access_matrix() {
        let citizen = person(vec![]);
        let clerk = person(vec![StaffRole { agency: "A".into(), agency_name: "甲".into(), role: Role::WindowClerk }]);
        let staff_only = Access::Staff(&[Role::WindowClerk, Role::Admin]);
        assert_eq!(Access::Public.check(None), Ok(()));
        assert_eq!(Access::Authenticated.check(None), Err(Denial::Unauthenticated));
        assert_eq!(Access::Authenticated.check(Some(&citizen)), Ok(()));
        assert_eq!(staff_only.check(Some(&citizen)), Err(Denial::Forbidden));
        assert_eq!(staff_only.check(Some(&clerk)), Ok(()));
        assert!(clerk.has_role_in("A", &[Role::WindowClerk]));
        assert!(!clerk.has_role_in("B", &[Role::WindowClerk]), "agency scope");
        // Issue 19, finding 7: an administrator is no member of other agencies.
        let admin = person(vec![StaffRole { agency: "A".into(), agency_name: "甲".into(), role: Role::Admin }]);
        assert!(!admin.has_role_in("B", &[Role::Reviewer, Role::DepartmentHead]), "admins are not agency members");
        assert!(!admin.supports("B"));
        assert!(RealNameLevel::L2.require(RealNameLevel::L3).is_err());
        assert!(RealNameLevel::L3.require(RealNameLevel::L2).is_ok());
    }
}
