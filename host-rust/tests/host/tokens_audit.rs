//! API tokens (kinds, only hashes stored) and the audit trail (cursor,
//! gate) on both databases.

use crate::common::{self, FLEET};

use std::sync::Arc;

use tessera_core::Manifest;
use tessera_host::{
    Actor, Admin, Store, TokenError, TokenKind, UserUpdate, create_token, revoke_token,
    token_access, token_kind,
};

both_backends!(
    tokens_bound_to_orgs_say_so_and_go_with_their_token,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let orgs = ["acme".to_owned(), "beta".to_owned(), "acme".to_owned()];
            let bound = create_token(&store, TokenKind::Check, &orgs, 1)
                .await
                .unwrap();
            let access = token_access(&store, &bound).await.unwrap().unwrap();
            assert_eq!(access.kind, TokenKind::Check);
            assert!(access.reaches("acme") && access.reaches("beta"));
            assert!(!access.reaches("gamma"));
            let every = create_token(&store, TokenKind::Admin, &[], 1)
                .await
                .unwrap();
            let access = token_access(&store, &every).await.unwrap().unwrap();
            assert_eq!(access.orgs, None);
            assert!(access.reaches("gamma"));
            let tokens = || async {
                let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_tokens")
                    .fetch_one(store.pool())
                    .await
                    .unwrap();
                count
            };
            let before = tokens().await;
            let err = create_token(&store, TokenKind::Check, &["no good".to_owned()], 1)
                .await
                .unwrap_err();
            assert!(matches!(err, TokenError::BadOrg(_)), "{err}");
            assert_eq!(tokens().await, before, "nothing written");
            assert!(revoke_token(&store, &bound).await.unwrap());
            let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_token_orgs")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(left, 0, "a revoked token's orgs go with it");
            store.close().await;
        }
    }
);

both_backends!(
    tokens_have_kinds_and_are_stored_hashed,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = create_token(&store, TokenKind::Admin, &[], 1)
                .await
                .unwrap();
            let check = create_token(&store, TokenKind::Check, &[], 1)
                .await
                .unwrap();
            assert_ne!(admin, check);
            assert_eq!(
                token_kind(&store, &admin).await.unwrap(),
                Some(TokenKind::Admin)
            );
            assert_eq!(
                token_kind(&store, &check).await.unwrap(),
                Some(TokenKind::Check)
            );
            assert_eq!(token_kind(&store, "tsk_admin_guess").await.unwrap(), None);
            assert!(revoke_token(&store, &check).await.unwrap());
            assert_eq!(token_kind(&store, &check).await.unwrap(), None);
            assert!(!revoke_token(&store, &check).await.unwrap(), "gone already");
            assert!(!revoke_token(&store, "tsk_admin_guess").await.unwrap());
            assert_eq!(
                token_kind(&store, &admin).await.unwrap(),
                Some(TokenKind::Admin),
                "the other token still works"
            );
            let stored: Vec<(String, String)> =
                sqlx::query_as("SELECT id, token_hash FROM api_tokens")
                    .fetch_all(store.pool())
                    .await
                    .unwrap();
            for (id, hash) in stored {
                assert!(
                    !admin.contains(&id) && !check.contains(&id),
                    "the id is not part of the secret"
                );
                assert!(!admin.contains(&hash) && !check.contains(&hash));
            }
            store.close().await;
        }
    }
);

both_backends!(audit_rows_page_by_cursor, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let manifest = Arc::new(Manifest::from_toml(FLEET).unwrap());
        tessera_host::reconcile(&store, &manifest, 1).await.unwrap();
        let admin = Admin::new(store.clone(), manifest);
        let backend = Actor::Backend;
        admin.create_org(&backend, "acme", "Acme", 1).await.unwrap();
        let named = UserUpdate {
            name: Some("Carol".to_owned()),
            ..UserUpdate::default()
        };
        admin.put_user(&backend, "carol", &named, 2).await.unwrap();
        admin
            .put_member(&backend, "acme", "carol", 3)
            .await
            .unwrap();
        admin.put_settings(&backend, "acme", true, 4).await.unwrap();
        let all = admin.audit(&backend, "acme", 0).await.unwrap();
        let actions: Vec<&str> = all.iter().map(|row| row.action.as_str()).collect();
        assert_eq!(
            actions,
            vec!["org.create", "member.put", "settings.put"],
            "user.put is global: no org"
        );
        assert!(
            all.windows(2)
                .all(|pair| pair[0].id < pair[1].id && pair[0].revision < pair[1].revision)
        );
        let later = admin.audit(&backend, "acme", all[0].id).await.unwrap();
        assert_eq!(later.len(), 2);
        assert_eq!(later[1].after, Some(serde_json::json!({ "kiosk": true })));
        assert_eq!(
            admin
                .audit(&Actor::User("carol".to_owned()), "acme", 0)
                .await
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
        assert_eq!(
            admin.audit(&backend, "nope", 0).await.unwrap_err().code(),
            "NOT_FOUND"
        );
        store.close().await;
    }
});

/// `tessera token create` then `tessera token revoke` (by argument and on
/// standard input) on an embedded store.
#[test]
fn the_cli_revokes_tokens() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).unwrap();
    let data_dir = std::env::temp_dir().join(format!("tessera_cli_{}", u64::from_le_bytes(seed)));
    let tessera = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
        command
            .args(args)
            .current_dir(common::repo_root())
            .env_remove("DATABASE_URL")
            .env("TESSERA_DATA_DIR", &data_dir);
        command
    };
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let created = tessera(&["token", "create", "--kind", "check"])
            .output()
            .unwrap();
        assert!(created.status.success(), "{created:?}");
        tokens.push(String::from_utf8(created.stdout).unwrap().trim().to_owned());
    }
    let revoked = tessera(&["token", "revoke", &tokens[0]]).output().unwrap();
    assert!(revoked.status.success(), "{revoked:?}");
    let again = tessera(&["token", "revoke", &tokens[0]]).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("NOT_FOUND"),
        "{again:?}"
    );
    let mut piped = tessera(&["token", "revoke", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(piped.stdin.take().unwrap(), "{}", tokens[1]).unwrap();
    let piped = piped.wait_with_output().unwrap();
    assert!(piped.status.success(), "{piped:?}");
    std::fs::remove_dir_all(&data_dir).unwrap();
}
