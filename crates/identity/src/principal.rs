use serde::{Deserialize, Serialize};

use crate::IdentityError;

/// Staff roles (岗位角色). Wire codes are stable; Chinese names are for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 综合窗口人员
    WindowClerk,
    /// 业务审查人员
    Reviewer,
    /// 部门负责人
    DepartmentHead,
    /// 事项编辑
    CatalogEditor,
    /// 事项审核
    CatalogReviewer,
    /// 电子监察人员
    Supervisor,
    /// 数据共享管理员
    DataOfficer,
    /// 系统管理员
    Admin,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::WindowClerk,
        Role::Reviewer,
        Role::DepartmentHead,
        Role::CatalogEditor,
        Role::CatalogReviewer,
        Role::Supervisor,
        Role::DataOfficer,
        Role::Admin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::WindowClerk => "window_clerk",
            Role::Reviewer => "reviewer",
            Role::DepartmentHead => "department_head",
            Role::CatalogEditor => "catalog_editor",
            Role::CatalogReviewer => "catalog_reviewer",
            Role::Supervisor => "supervisor",
            Role::DataOfficer => "data_officer",
            Role::Admin => "admin",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Role::WindowClerk => "综合窗口人员",
            Role::Reviewer => "业务审查人员",
            Role::DepartmentHead => "部门负责人",
            Role::CatalogEditor => "事项编辑",
            Role::CatalogReviewer => "事项审核",
            Role::Supervisor => "电子监察人员",
            Role::DataOfficer => "数据共享管理员",
            Role::Admin => "系统管理员",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Role, IdentityError> {
        Role::ALL.into_iter().find(|r| r.code() == s).ok_or_else(|| IdentityError::UnknownRole(s.to_string()))
    }
}

/// Real-name assurance (实名等级): L1 self-registered with a verified phone or
/// email, L2 name + number matched against the base data, L3 verified in person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum RealNameLevel {
    L1 = 1,
    L2 = 2,
    L3 = 3,
}

impl RealNameLevel {
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    pub fn from_u8(n: u8) -> Option<RealNameLevel> {
        match n {
            1 => Some(RealNameLevel::L1),
            2 => Some(RealNameLevel::L2),
            3 => Some(RealNameLevel::L3),
            _ => None,
        }
    }

    /// The OIDC `acr` value that carries the level across nodes.
    pub fn acr(self) -> &'static str {
        match self {
            RealNameLevel::L1 => "urn:yiwang:loa:1",
            RealNameLevel::L2 => "urn:yiwang:loa:2",
            RealNameLevel::L3 => "urn:yiwang:loa:3",
        }
    }

    pub fn from_acr(s: &str) -> Option<RealNameLevel> {
        [RealNameLevel::L1, RealNameLevel::L2, RealNameLevel::L3].into_iter().find(|l| l.acr() == s)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            RealNameLevel::L1 => "L1 注册用户（已验证手机或邮箱）",
            RealNameLevel::L2 => "L2 实名核验（与人口/法人库比对一致）",
            RealNameLevel::L3 => "L3 现场核验（窗口当面核验）",
        }
    }

    /// Whether this level meets an item's declared minimum.
    pub fn require(self, required: RealNameLevel) -> Result<(), IdentityError> {
        if self >= required { Ok(()) } else { Err(IdentityError::LevelTooLow { required: required.as_u8(), have: self.as_u8() }) }
    }
}

impl From<RealNameLevel> for u8 {
    fn from(l: RealNameLevel) -> u8 {
        l.as_u8()
    }
}

impl TryFrom<u8> for RealNameLevel {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        RealNameLevel::from_u8(n).ok_or_else(|| format!("real-name level must be 1..3, got {n}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffRole {
    pub agency: String,
    pub agency_name: String,
    pub role: Role,
}

/// Whom the person is acting for right now (本人 or an enterprise they may act for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Acting {
    Own,
    Enterprise { uscc: String, name: String, legal_representative: bool },
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthVia {
    Session {
        session_id: String,
    },
    /// A machine client's bearer token (client credentials grant).
    Client {
        client_id: String,
    },
}

/// An authenticated caller. Everything a policy decision needs, loaded once per request.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub account_id: String,
    /// Stable, opaque public identifier (OIDC `sub`); never the citizen ID.
    pub subject: String,
    pub name: String,
    #[serde(skip)]
    pub citizen_id: String,
    pub level: RealNameLevel,
    pub acting: Acting,
    pub staff: Vec<StaffRole>,
    pub via: AuthVia,
    /// Whether this caller reaches what the government holds under the ID they
    /// gave (cases others opened for it, licenses, base data, the wallet): their
    /// real-name level is at least the node's personal-data level. Set at the
    /// edge from the node's settings (see [`Principal::assure`]); false until then.
    pub assured: bool,
    /// Agencies whose cases this caller may read through a live support grant
    /// (an administrator helping the agency): never membership, only reading.
    pub support: Vec<String>,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.staff.iter().any(|s| s.role == role)
    }

    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        self.staff.iter().any(|s| roles.contains(&s.role))
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// Whether the caller holds one of `roles` in `agency`. Administrators are
    /// not members of every agency: they run the node, and reach an agency's
    /// cases only through a support grant ([`Principal::supports`]).
    pub fn has_role_in(&self, agency: &str, roles: &[Role]) -> bool {
        self.staff.iter().any(|s| s.agency == agency && roles.contains(&s.role))
    }

    /// Whether a live support grant lets the caller read `agency`'s cases.
    pub fn supports(&self, agency: &str) -> bool {
        self.support.iter().any(|a| a == agency)
    }

    /// Decide [`Principal::assured`] against the node's personal-data level.
    pub fn assure(&mut self, personal_data_level: RealNameLevel) {
        self.assured = self.level >= personal_data_level;
    }

    /// The real-name level needed for held data, as an error when the caller lacks it.
    pub fn require_assured(&self, personal_data_level: RealNameLevel) -> Result<(), IdentityError> {
        self.level.require(personal_data_level)
    }

    /// Agencies in which the caller holds any of `roles`.
    pub fn agencies_with(&self, roles: &[Role]) -> Vec<&str> {
        let mut v: Vec<&str> = self.staff.iter().filter(|s| roles.contains(&s.role)).map(|s| s.agency.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The login session; empty for a machine client, which has none.
    pub fn session_id(&self) -> &str {
        match &self.via {
            AuthVia::Session { session_id } => session_id,
            AuthVia::Client { .. } => "",
        }
    }

    /// Whether this caller is a department system's machine client.
    pub fn is_machine(&self) -> bool {
        matches!(self.via, AuthVia::Client { .. })
    }
}
