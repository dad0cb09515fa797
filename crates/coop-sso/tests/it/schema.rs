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

/// SQL lives in the store modules (members, directory, signin, grants, devices, keys, throttle,
/// backchannel); the HTTP layer calls them and holds none of its own.
#[test]
fn no_sql_in_the_http_handlers() {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("sqlx::query") {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http"),
        &mut found,
    );
    assert!(found.is_empty(), "SQL in handlers: {found:?}");
}
