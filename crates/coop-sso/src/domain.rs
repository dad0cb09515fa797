//! coop-sso's domain types: roles and member status, validated on parse.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use coop_domain::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum MemberStatus {
    Invited,
    Active,
    Suspended,
    Left,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Invited => "invited",
            MemberStatus::Active => "active",
            MemberStatus::Suspended => "suspended",
            MemberStatus::Left => "left",
        }
    }
}

impl FromStr for MemberStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "invited" => Ok(Self::Invited),
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "left" => Ok(Self::Left),
            other => Err(format!("unknown member status `{other}`")),
        }
    }
}
