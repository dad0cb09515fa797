-- The audit log's actions are coop-sso's AuditAction enum: the database refuses any other (a
-- test checks the enum and this list agree).
alter table audit_event add constraint audit_event_action_known check (action in (
    'member.bookkeeper_accepted',
    'member.bookkeeper_appointed',
    'member.bookkeeper_declined',
    'member.bookkeeper_withdrawn',
    'member.create',
    'member.household_changed',
    'member.invite_accepted',
    'member.invite_issued',
    'member.left',
    'member.password_reset',
    'member.password_reset_requested',
    'member.password_set',
    'member.reactivated',
    'member.roles_changed',
    'member.suspended',
    'member.totp_enrolled',
    'member.totp_reset',
    'session.revoked',
    'session.signed_in',
    'session.signed_in_again',
    'session.signed_out',
    'till.denied',
    'till.paired',
    'token.code_reused',
    'token.refresh_reused'
));
