//! API tokens (kinds, only hashes stored) and the audit trail (cursor,
//! gate) on both databases.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;

use tessera_core::Manifest;
use tessera_host::{Actor, Admin, Store, TokenKind, UserUpdate, create_token, token_kind};

const FLEET: &str = include_str!("../../examples/fleet/manifest.toml");

both_backends!(
    tokens_have_kinds_and_are_stored_hashed,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = create_token(&store, TokenKind::Admin, 1).await.unwrap();
            let check = create_token(&store, TokenKind::Check, 1).await.unwrap();
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
