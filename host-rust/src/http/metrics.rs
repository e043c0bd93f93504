//! Prometheus metrics: requests and latency per route, decisions by
//! outcome, the snapshot cache (hits, misses, build time) and the org
//! structures read for builds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tessera_core::Effect;

use super::AppState;
use crate::authority::CacheStats;
use crate::changes::WriteKind;

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
struct Routes {
    /// (route, method, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// route → latency.
    latency: BTreeMap<String, Histogram>,
}

/// The server's counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    routes: Mutex<Routes>,
    allow: AtomicU64,
    deny: AtomicU64,
    not_found: AtomicU64,
}

impl Metrics {
    /// Counts one decision by its outcome.
    pub(crate) fn decision(&self, effect: Effect) {
        let counter = match effect {
            Effect::Allow => &self.allow,
            Effect::Deny => &self.deny,
            Effect::NotFound => &self.not_found,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        if let Ok(mut routes) = self.routes.lock() {
            *routes
                .requests
                .entry((route.to_owned(), method.to_owned(), status))
                .or_default() += 1;
            routes
                .latency
                .entry(route.to_owned())
                .or_default()
                .observe(seconds);
        }
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self, cache: CacheStats) -> String {
        let mut out = String::new();
        describe(
            &mut out,
            "tessera_http_requests_total",
            "counter",
            "HTTP requests by route, method and status.",
        );
        let routes = self
            .routes
            .lock()
            .map(|routes| (routes.requests.clone(), routes.latency.clone()))
            .unwrap_or_default();
        for ((route, method, status), count) in &routes.0 {
            let _ = writeln!(
                out,
                "tessera_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tessera_http_request_duration_seconds Request latency by route."
        );
        let _ = writeln!(
            out,
            "# TYPE tessera_http_request_duration_seconds histogram"
        );
        for (route, histogram) in &routes.1 {
            for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
                let _ = writeln!(
                    out,
                    "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\ntessera_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\ntessera_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count, histogram.sum, histogram.count
            );
        }
        describe(
            &mut out,
            "tessera_decisions_total",
            "counter",
            "Decisions answered, by outcome.",
        );
        for (outcome, counter) in [
            ("allow", &self.allow),
            ("deny", &self.deny),
            ("not_found", &self.not_found),
        ] {
            let _ = writeln!(
                out,
                "tessera_decisions_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        describe(
            &mut out,
            "tessera_snapshot_cache_total",
            "counter",
            "Compiled-snapshot cache lookups, by result.",
        );
        let _ = writeln!(
            out,
            "tessera_snapshot_cache_total{{result=\"hit\"}} {}",
            cache.hits
        );
        let _ = writeln!(
            out,
            "tessera_snapshot_cache_total{{result=\"miss\"}} {}",
            cache.misses
        );
        describe(
            &mut out,
            "tessera_snapshot_build_seconds",
            "summary",
            "Time loading and compiling snapshots on cache misses.",
        );
        // Microseconds to seconds: exact enough for a counter of build time.
        #[expect(clippy::cast_precision_loss, reason = "a metric, not an amount")]
        let build_seconds = cache.build_micros as f64 / 1e6;
        let _ = writeln!(out, "tessera_snapshot_build_seconds_sum {build_seconds}");
        let _ = writeln!(out, "tessera_snapshot_build_seconds_count {}", cache.misses);
        describe(
            &mut out,
            "tessera_structure_reads_total",
            "counter",
            "Org structures read from the store for snapshot builds.",
        );
        let _ = writeln!(
            out,
            "tessera_structure_reads_total {}",
            cache.structure_reads
        );
        describe(
            &mut out,
            "tessera_structure_updates_total",
            "counter",
            "Kept org structures brought up to date by applying writes.",
        );
        let _ = writeln!(
            out,
            "tessera_structure_updates_total {}",
            cache.structure_updates
        );
        describe(
            &mut out,
            "tessera_snapshot_writes_total",
            "counter",
            "Cached snapshots a write left in place (kept) or made stale (invalidated), by write kind, counted when the snapshot is next asked for.",
        );
        for (at, kind) in WriteKind::ALL.iter().enumerate() {
            for (result, counts) in [("kept", &cache.kept), ("invalidated", &cache.invalidated)] {
                let _ = writeln!(
                    out,
                    "tessera_snapshot_writes_total{{kind=\"{}\",result=\"{result}\"}} {}",
                    kind.as_str(),
                    counts.get(at).copied().unwrap_or(0)
                );
            }
        }
        out
    }
}

/// Writes a metric's `# HELP` and `# TYPE` lines.
fn describe(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Middleware: counts and times every request under its route pattern
/// (unmatched requests under `unmatched`, so the label set stays bounded).
pub(crate) async fn track(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    // Any method string is accepted on the wire; only the standard ones
    // become labels, so the label set stays bounded.
    let method = match request.method().as_str() {
        known @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => known,
        _ => "OTHER",
    }
    .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
