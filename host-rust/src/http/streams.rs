//! Revision events (docs/http.md §6.10): a Server-Sent Events stream per
//! subscriber that says each time an org's revision moves, so an open page
//! refetches its snapshot at once instead of at expiry. The moves come from
//! the write log ([`crate::Changes::moves`]: this server's writes, and other
//! replicas' through Postgres `NOTIFY`); a heartbeat also re-reads the
//! revision, which bounds how late a move nobody announced is seen.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use tessera_core::ErrorCode;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::ApiError;
use crate::authority::{Authority, AuthorityError};
use crate::changes::Moved;

/// How often an open stream gets a comment (so proxies keep it open and
/// a dead client is noticed) and re-reads the org's revision.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(15);

/// How long a re-read revision is kept for the other streams of its org.
const REREAD_KEPT: Duration = Duration::from_secs(5);

/// The open streams of one server, bounded, and the signal that closes
/// them all at shutdown.
#[derive(Debug, Clone)]
pub struct Streams {
    open: Arc<AtomicUsize>,
    max: usize,
    closing: watch::Sender<bool>,
    rereads: Arc<Rereads>,
}

/// Revisions re-read by streams, shared: a write that says nothing of its
/// revision wakes every stream of the org (or of every org) at once, and
/// one store read answers them all instead of one read per stream.
#[derive(Debug, Default)]
struct Rereads {
    recent: tokio::sync::Mutex<HashMap<String, (Instant, u64)>>,
}

impl Rereads {
    /// The org's revision as read at `since` or later: a stream woken by a
    /// move at `since` takes the revision another stream of the org read
    /// after that move, or reads it itself.
    async fn revision(
        &self,
        authority: &Authority,
        org: &str,
        since: Instant,
    ) -> Result<u64, AuthorityError> {
        let mut recent = self.recent.lock().await;
        if let Some((at, revision)) = recent.get(org)
            && *at >= since
        {
            return Ok(*revision);
        }
        let revision = authority.revision_now(org).await?;
        recent.retain(|_, (at, _)| at.elapsed() < REREAD_KEPT);
        recent.insert(org.to_owned(), (Instant::now(), revision));
        Ok(revision)
    }
}

/// One admitted stream; its place is given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Streams {
    /// At most `max` streams open at once.
    pub fn new(max: usize) -> Streams {
        Streams {
            open: Arc::default(),
            max,
            closing: watch::channel(false).0,
            rereads: Arc::default(),
        }
    }

    /// How many streams are open.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Ends every open stream (and every stream opened later): call it when
    /// the server begins to shut down, so graceful shutdown does not wait
    /// for streams that never end.
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// A place for one more stream, or `UNAVAILABLE` at the bound.
    fn admit(&self) -> Result<Slot, ApiError> {
        let admitted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            });
        match admitted {
            Ok(_) => Ok(Slot(Arc::clone(&self.open))),
            Err(_) => Err(ApiError::new(
                ErrorCode::Unavailable,
                format!(
                    "this server holds {} event streams, its limit: retry later",
                    self.max
                ),
            )),
        }
    }

    /// The event stream of `org`'s revisions as a response; `headers` may
    /// carry `Last-Event-ID` (a revision the client has seen). `NOT_FOUND`
    /// for an org the store does not have, `UNAVAILABLE` at the bound,
    /// `BAD_REQUEST` for a `Last-Event-ID` that is not a revision.
    pub(crate) async fn respond(
        &self,
        authority: Arc<Authority>,
        org: String,
        headers: &HeaderMap,
    ) -> Result<Response, ApiError> {
        let seen = last_event_id(headers)?;
        let slot = self.admit()?;
        let moves = authority.changes().moves();
        let current = authority.revision_now(&org).await?;
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let follow = Follow {
            authority,
            org,
            sent: seen.unwrap_or(0),
            first: (seen.is_none_or(|seen| seen < current)).then_some(current),
            moves,
            heartbeat,
            closing: self.closing.subscribe(),
            rereads: Arc::clone(&self.rereads),
            _slot: slot,
        };
        Ok(Sse::new(follow.into_stream()).into_response())
    }
}

/// The `Last-Event-ID` header as a revision, if sent.
fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .and_then(|text| text.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| ApiError::bad_request("`Last-Event-ID` must be a revision number"))
}

/// One stream's state.
struct Follow {
    authority: Arc<Authority>,
    org: String,
    /// The last revision sent (or the client's `Last-Event-ID`).
    sent: u64,
    /// The revision to send first: the current one, unless the client has
    /// seen it.
    first: Option<u64>,
    moves: broadcast::Receiver<Moved>,
    heartbeat: Interval,
    closing: watch::Receiver<bool>,
    rereads: Arc<Rereads>,
    _slot: Slot,
}

/// What the stream does next.
enum Step {
    Send(Event),
    End,
}

impl Follow {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send {
        futures_util::stream::unfold(self, |mut follow| async move {
            match follow.next().await {
                Step::Send(event) => Some((Ok(event), follow)),
                Step::End => None,
            }
        })
    }

    async fn next(&mut self) -> Step {
        if *self.closing.borrow() {
            return Step::End;
        }
        if let Some(revision) = self.first.take() {
            return self.revision(revision);
        }
        loop {
            tokio::select! {
                _ = self.closing.changed() => return Step::End,
                _ = self.heartbeat.tick() => {
                    // A heartbeat takes a revision read in the last second.
                    let since = Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(Instant::now);
                    return match self.reread(since).await {
                        Reread::Moved(revision) => self.revision(revision),
                        Reread::Same => Step::Send(Event::default().comment("")),
                        Reread::Gone => Step::End,
                    };
                }
                moved = self.moves.recv() => {
                    let revision = match moved {
                        Ok(moved) if !moved.concerns(&self.org) => continue,
                        Ok(Moved { revision: Some(revision), .. }) => revision,
                        Ok(Moved { revision: None, .. }) | Err(broadcast::error::RecvError::Lagged(_)) => {
                            match self.reread(Instant::now()).await {
                                Reread::Moved(revision) => revision,
                                Reread::Same => continue,
                                Reread::Gone => return Step::End,
                            }
                        }
                        Err(broadcast::error::RecvError::Closed) => return Step::End,
                    };
                    if revision > self.sent {
                        return self.revision(revision);
                    }
                }
            }
        }
    }

    /// The event for `revision`, remembered as sent.
    fn revision(&mut self, revision: u64) -> Step {
        self.sent = revision;
        Step::Send(
            Event::default()
                .event("revision")
                .id(revision.to_string())
                .data(format!("{{\"revision\":{revision}}}")),
        )
    }

    /// Reads the org's revision (as read at `since` or later): moved past
    /// what was sent, the same, or the org is gone (the stream ends). A
    /// failed read is "the same": the next heartbeat reads again.
    async fn reread(&self, since: Instant) -> Reread {
        match self
            .rereads
            .revision(&self.authority, &self.org, since)
            .await
        {
            Ok(revision) if revision > self.sent => Reread::Moved(revision),
            Ok(_) => Reread::Same,
            Err(AuthorityError::NotFound(_)) => Reread::Gone,
            Err(_) => Reread::Same,
        }
    }
}

/// What a re-read found.
enum Reread {
    Moved(u64),
    Same,
    Gone,
}
