//! Console sign-in (docs/console.md §10.1): the app backend, for a user it
//! authenticated, asks for a one-time code; the browser that opens the
//! code's URL gets a session cookie that acts as that user, so the browser
//! never holds an API token. Codes live 60 s and work once; sessions end
//! after 30 minutes unused or 8 hours in all. The store keeps SHA-256
//! digests only, as it does for API tokens.

use tessera_core::{is_valid_node_id, is_valid_user_id};
use thiserror::Error;

use crate::ids::{hex, random_bytes};
use crate::store::{Store, StoreError, Tx};
use crate::tokens::digest;

/// How long a sign-in code works, in seconds.
pub(crate) const CODE_LIFETIME: i64 = 60;
/// How long a session lasts unused, in seconds.
pub(crate) const IDLE_LIMIT: i64 = 30 * 60;
/// How long a session lasts in all, in seconds.
pub(crate) const ABSOLUTE_LIMIT: i64 = 8 * 60 * 60;
/// How often a session's last use is written: more often, it is only read.
const TOUCH_EVERY: i64 = 60;

/// A signed-in console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The user it acts as.
    pub(crate) actor: String,
    /// The one org it may act in, or every org.
    pub(crate) org: Option<String>,
    /// The value a write must carry in `Tessera-Csrf`.
    pub(crate) csrf: String,
    /// When it ends unless used again (Unix seconds).
    pub(crate) expires_at: i64,
}

/// Why a sign-in code could not be made.
#[derive(Debug, Error)]
pub enum SessionError {
    /// A malformed user or org id.
    #[error("`{0}` is not a valid id")]
    BadId(String),
    /// No such user, or it is inactive.
    #[error("user `{0}` is unknown or inactive")]
    UnknownActor(String),
    /// No such org.
    #[error("org `{0}` not found")]
    UnknownOrg(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A secret: 32 random bytes in hex.
fn secret() -> Result<String, StoreError> {
    Ok(hex(&random_bytes::<32>()?))
}

/// A one-time sign-in code for `actor` (in `org` only, when given), and
/// when it stops working.
pub async fn create_code(
    store: &Store,
    actor: &str,
    org: Option<&str>,
    now: i64,
) -> Result<(String, i64), SessionError> {
    if !is_valid_user_id(actor) {
        return Err(SessionError::BadId(actor.to_owned()));
    }
    if let Some(org) = org.filter(|org| !is_valid_node_id(org)) {
        return Err(SessionError::BadId(org.to_owned()));
    }
    let mut tx = store.pool().begin().await.map_err(StoreError::from)?;
    let active: Option<(i64,)> = sqlx::query_as("SELECT active FROM users WHERE id = $1")
        .bind(actor)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    if active.is_none_or(|(active,)| active == 0) {
        return Err(SessionError::UnknownActor(actor.to_owned()));
    }
    if let Some(org) = org {
        let found: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM orgs WHERE id = $1")
            .bind(org)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        if found.is_none() {
            return Err(SessionError::UnknownOrg(org.to_owned()));
        }
    }
    // Codes nobody used go as new ones are made.
    sqlx::query("DELETE FROM console_codes WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    let code = secret()?;
    let expires_at = now + CODE_LIFETIME;
    sqlx::query(
        "INSERT INTO console_codes (code_hash, actor, org_id, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(digest(&code))
    .bind(actor)
    .bind(org)
    .bind(expires_at)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((code, expires_at))
}

/// Turns a code into a session, once: the session's secret (the cookie's
/// value) and the session; `None` for a code unknown, used or expired.
pub(crate) async fn redeem(
    store: &Store,
    code: &str,
    now: i64,
) -> Result<Option<(String, Session)>, StoreError> {
    let mut tx = store.pool().begin().await?;
    let row: Option<(String, Option<String>, i64)> = sqlx::query_as(
        "DELETE FROM console_codes WHERE code_hash = $1 RETURNING actor, org_id, expires_at",
    )
    .bind(digest(code))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((actor, org, _)) = row.filter(|(_, _, expires_at)| *expires_at > now) else {
        tx.commit().await?;
        return Ok(None);
    };
    // Sessions past either limit go as new ones begin.
    sqlx::query("DELETE FROM console_sessions WHERE seen_at <= $1 OR created_at <= $2")
        .bind(now - IDLE_LIMIT)
        .bind(now - ABSOLUTE_LIMIT)
        .execute(&mut *tx)
        .await?;
    let (token, csrf) = (secret()?, secret()?);
    sqlx::query(
        "INSERT INTO console_sessions (session_hash, actor, org_id, csrf, created_at, seen_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(digest(&token))
    .bind(&actor)
    .bind(&org)
    .bind(&csrf)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let session = Session {
        actor,
        org,
        csrf,
        expires_at: expiry(now, now),
    };
    Ok(Some((token, session)))
}

/// When a session created at `created_at` and last used at `seen_at` ends.
fn expiry(created_at: i64, seen_at: i64) -> i64 {
    (seen_at + IDLE_LIMIT).min(created_at + ABSOLUTE_LIMIT)
}

/// The live session whose secret is `token`, marked used now; `None` for
/// one unknown, ended or past a limit (which is then deleted).
pub(crate) async fn session(
    store: &Store,
    token: &str,
    now: i64,
) -> Result<Option<Session>, StoreError> {
    let hash = digest(token);
    // An inactive user's session is over (deactivating ends it anyway).
    let row: Option<(String, Option<String>, String, i64, i64)> = sqlx::query_as(
        "SELECT s.actor, s.org_id, s.csrf, s.created_at, s.seen_at
           FROM console_sessions s JOIN users u ON u.id = s.actor
          WHERE s.session_hash = $1 AND u.active = 1",
    )
    .bind(&hash)
    .fetch_optional(store.pool())
    .await?;
    let Some((actor, org, csrf, created_at, seen_at)) = row else {
        return Ok(None);
    };
    if expiry(created_at, seen_at) <= now {
        end(store, token).await?;
        return Ok(None);
    }
    let seen_at = if now - seen_at >= TOUCH_EVERY {
        sqlx::query("UPDATE console_sessions SET seen_at = $1 WHERE session_hash = $2")
            .bind(now)
            .bind(&hash)
            .execute(store.pool())
            .await?;
        now
    } else {
        seen_at
    };
    Ok(Some(Session {
        actor,
        org,
        csrf,
        expires_at: expiry(created_at, seen_at),
    }))
}

/// Ends every session and sign-in code of `actor`, in the transaction that
/// deactivates it.
pub(crate) async fn end_all(tx: &mut Tx, actor: &str) -> Result<(), StoreError> {
    for statement in [
        "DELETE FROM console_sessions WHERE actor = $1",
        "DELETE FROM console_codes WHERE actor = $1",
    ] {
        sqlx::query(statement)
            .bind(actor)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The user and org a sign-in code is for, without spending it; `None`
/// for a code unknown, used or expired.
pub(crate) async fn peek(
    store: &Store,
    code: &str,
    now: i64,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT actor, org_id FROM console_codes WHERE code_hash = $1 AND expires_at > $2",
    )
    .bind(digest(code))
    .bind(now)
    .fetch_optional(store.pool())
    .await?;
    Ok(row)
}

/// Whether a session of `actor` may open its snapshot in `org`: a member
/// or a superuser. Any other org answers as if it did not exist, so an
/// unbound session cannot learn which orgs there are.
pub(crate) async fn belongs(store: &Store, actor: &str, org: &str) -> Result<bool, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM users u WHERE u.id = $1
            AND (u.superuser = 1
                 OR EXISTS (SELECT 1 FROM members m WHERE m.org_id = $2 AND m.user_id = u.id))",
    )
    .bind(actor)
    .bind(org)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.is_some())
}

/// Ends the session whose secret is `token` (signing out).
pub(crate) async fn end(store: &Store, token: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM console_sessions WHERE session_hash = $1")
        .bind(digest(token))
        .execute(store.pool())
        .await?;
    Ok(())
}
