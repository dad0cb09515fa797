//! The schema and the Rust enums that read it agree.

use coop_sso::domain::AuditAction;

#[tokio::test]
async fn the_database_accepts_exactly_the_audit_actions_of_the_enum() {
    let (_db, pool) = coop_testkit::migrated_database(&coop_sso::MIGRATOR).await;
    let def: String = sqlx::query_scalar(
        "select pg_get_constraintdef(oid) from pg_constraint where conname = 'audit_event_action_known'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let listed = def.matches("::text").count();
    assert_eq!(listed, AuditAction::ALL.len(), "{def}");
    for action in AuditAction::ALL {
        assert!(
            def.contains(&format!("'{}'", action.as_str())),
            "{} missing: {def}",
            action.as_str()
        );
    }
    // And the database refuses an action the enum does not know.
    let refused = sqlx::query("insert into audit_event (action) values ('member.vanished')")
        .execute(&pool)
        .await;
    assert!(refused.is_err());
}
