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

/// What an audit event records: the `action` column, one of these and nothing else (the
/// database checks the list too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text")]
pub enum AuditAction {
    #[serde(rename = "member.bookkeeper_accepted")]
    #[sqlx(rename = "member.bookkeeper_accepted")]
    MemberBookkeeperAccepted,
    #[serde(rename = "member.bookkeeper_appointed")]
    #[sqlx(rename = "member.bookkeeper_appointed")]
    MemberBookkeeperAppointed,
    #[serde(rename = "member.bookkeeper_declined")]
    #[sqlx(rename = "member.bookkeeper_declined")]
    MemberBookkeeperDeclined,
    #[serde(rename = "member.bookkeeper_withdrawn")]
    #[sqlx(rename = "member.bookkeeper_withdrawn")]
    MemberBookkeeperWithdrawn,
    #[serde(rename = "member.create")]
    #[sqlx(rename = "member.create")]
    MemberCreate,
    #[serde(rename = "member.household_changed")]
    #[sqlx(rename = "member.household_changed")]
    MemberHouseholdChanged,
    #[serde(rename = "member.invite_accepted")]
    #[sqlx(rename = "member.invite_accepted")]
    MemberInviteAccepted,
    #[serde(rename = "member.invite_issued")]
    #[sqlx(rename = "member.invite_issued")]
    MemberInviteIssued,
    #[serde(rename = "member.left")]
    #[sqlx(rename = "member.left")]
    MemberLeft,
    #[serde(rename = "member.password_reset")]
    #[sqlx(rename = "member.password_reset")]
    MemberPasswordReset,
    #[serde(rename = "member.password_reset_requested")]
    #[sqlx(rename = "member.password_reset_requested")]
    MemberPasswordResetRequested,
    #[serde(rename = "member.password_set")]
    #[sqlx(rename = "member.password_set")]
    MemberPasswordSet,
    #[serde(rename = "member.reactivated")]
    #[sqlx(rename = "member.reactivated")]
    MemberReactivated,
    #[serde(rename = "member.roles_changed")]
    #[sqlx(rename = "member.roles_changed")]
    MemberRolesChanged,
    #[serde(rename = "member.suspended")]
    #[sqlx(rename = "member.suspended")]
    MemberSuspended,
    #[serde(rename = "member.totp_enrolled")]
    #[sqlx(rename = "member.totp_enrolled")]
    MemberTotpEnrolled,
    #[serde(rename = "member.totp_reset")]
    #[sqlx(rename = "member.totp_reset")]
    MemberTotpReset,
    #[serde(rename = "session.revoked")]
    #[sqlx(rename = "session.revoked")]
    SessionRevoked,
    #[serde(rename = "session.signed_in")]
    #[sqlx(rename = "session.signed_in")]
    SessionSignedIn,
    #[serde(rename = "session.signed_in_again")]
    #[sqlx(rename = "session.signed_in_again")]
    SessionSignedInAgain,
    #[serde(rename = "session.signed_out")]
    #[sqlx(rename = "session.signed_out")]
    SessionSignedOut,
    #[serde(rename = "till.denied")]
    #[sqlx(rename = "till.denied")]
    TillDenied,
    #[serde(rename = "till.paired")]
    #[sqlx(rename = "till.paired")]
    TillPaired,
    #[serde(rename = "till.unpaired")]
    #[sqlx(rename = "till.unpaired")]
    TillUnpaired,
    #[serde(rename = "token.code_reused")]
    #[sqlx(rename = "token.code_reused")]
    TokenCodeReused,
    #[serde(rename = "token.refresh_reused")]
    #[sqlx(rename = "token.refresh_reused")]
    TokenRefreshReused,
}

impl AuditAction {
    pub const ALL: [AuditAction; 26] = [
        AuditAction::MemberBookkeeperAccepted,
        AuditAction::MemberBookkeeperAppointed,
        AuditAction::MemberBookkeeperDeclined,
        AuditAction::MemberBookkeeperWithdrawn,
        AuditAction::MemberCreate,
        AuditAction::MemberHouseholdChanged,
        AuditAction::MemberInviteAccepted,
        AuditAction::MemberInviteIssued,
        AuditAction::MemberLeft,
        AuditAction::MemberPasswordReset,
        AuditAction::MemberPasswordResetRequested,
        AuditAction::MemberPasswordSet,
        AuditAction::MemberReactivated,
        AuditAction::MemberRolesChanged,
        AuditAction::MemberSuspended,
        AuditAction::MemberTotpEnrolled,
        AuditAction::MemberTotpReset,
        AuditAction::SessionRevoked,
        AuditAction::SessionSignedIn,
        AuditAction::SessionSignedInAgain,
        AuditAction::SessionSignedOut,
        AuditAction::TillDenied,
        AuditAction::TillPaired,
        AuditAction::TillUnpaired,
        AuditAction::TokenCodeReused,
        AuditAction::TokenRefreshReused,
    ];

    /// The stored name, `area.what_happened`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::MemberBookkeeperAccepted => "member.bookkeeper_accepted",
            AuditAction::MemberBookkeeperAppointed => "member.bookkeeper_appointed",
            AuditAction::MemberBookkeeperDeclined => "member.bookkeeper_declined",
            AuditAction::MemberBookkeeperWithdrawn => "member.bookkeeper_withdrawn",
            AuditAction::MemberCreate => "member.create",
            AuditAction::MemberHouseholdChanged => "member.household_changed",
            AuditAction::MemberInviteAccepted => "member.invite_accepted",
            AuditAction::MemberInviteIssued => "member.invite_issued",
            AuditAction::MemberLeft => "member.left",
            AuditAction::MemberPasswordReset => "member.password_reset",
            AuditAction::MemberPasswordResetRequested => "member.password_reset_requested",
            AuditAction::MemberPasswordSet => "member.password_set",
            AuditAction::MemberReactivated => "member.reactivated",
            AuditAction::MemberRolesChanged => "member.roles_changed",
            AuditAction::MemberSuspended => "member.suspended",
            AuditAction::MemberTotpEnrolled => "member.totp_enrolled",
            AuditAction::MemberTotpReset => "member.totp_reset",
            AuditAction::SessionRevoked => "session.revoked",
            AuditAction::SessionSignedIn => "session.signed_in",
            AuditAction::SessionSignedInAgain => "session.signed_in_again",
            AuditAction::SessionSignedOut => "session.signed_out",
            AuditAction::TillDenied => "till.denied",
            AuditAction::TillPaired => "till.paired",
            AuditAction::TillUnpaired => "till.unpaired",
            AuditAction::TokenCodeReused => "token.code_reused",
            AuditAction::TokenRefreshReused => "token.refresh_reused",
        }
    }
}
