//! The roles a member can hold. They travel as the `roles` claim from coop-sso to every service.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "lowercase"))]
pub enum Role {
    Member,
    Cashier,
    Manager,
    Bookkeeper,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Member,
        Role::Cashier,
        Role::Manager,
        Role::Bookkeeper,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Cashier => "cashier",
            Role::Manager => "manager",
            Role::Bookkeeper => "bookkeeper",
            Role::Admin => "admin",
        }
    }

    /// Roles that hold money or people's data need a second factor.
    pub fn requires_totp(self) -> bool {
        matches!(self, Role::Bookkeeper | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a role name was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`; expected member, cashier, manager, bookkeeper or admin")]
pub struct RoleError(pub String);

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| RoleError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_ones_are_refused() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        assert_eq!("Admin".parse::<Role>(), Err(RoleError("Admin".into())));
        assert!(Role::Admin.requires_totp() && Role::Bookkeeper.requires_totp());
        assert!(!Role::Cashier.requires_totp());
    }
}
