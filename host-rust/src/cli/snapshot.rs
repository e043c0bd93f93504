//! `tessera snapshot inspect`: verify a snapshot, then show what it holds.
//! Verification comes first and is not optional: a snapshot that does not
//! verify is refused with the verifier's code and never printed, so that
//! nothing on screen can be mistaken for a valid snapshot.

use std::io::Read;
use std::path::Path;
use tessera_core::ErrorCode;

use serde::Serialize;
use tessera_core::ffi::SnapshotInfo;
use tessera_core::{
    Bits, Expect, KeySet, MAX_TEXT_BYTES, PrincipalInfo, ScopeSets, Snapshot, TEXT_PREFIX,
    Verifier, VerifyError,
};
use tessera_host::setup;

use super::output::{print, redact_url, rfc3339};
use super::store_cmds::open_existing;
use super::{CliError, Exit, InspectArgs, config};

/// Verifies and prints a snapshot.
pub(crate) async fn inspect(args: &InspectArgs) -> Result<Exit, CliError> {
    let now = match args.now {
        Some(now) => now,
        None => u64::try_from(setup::unix_now()).unwrap_or(0),
    };
    let bytes = read_input(&args.input)?;
    let (keys, source) = key_set(args, now).await?;
    let verifier = Verifier::new(keys);
    let expect = Expect {
        org: args.org.as_deref(),
        principal: args.principal.as_deref(),
    };
    let trimmed = bytes.trim_ascii();
    let (snapshot, form) = if trimmed.starts_with(TEXT_PREFIX.as_bytes()) {
        let text = std::str::from_utf8(trimmed)
            .map_err(|_| VerifyError::BadEncoding("text form is not base64url without padding"))?;
        (verifier.open_text(text, now, expect)?, "tss1. text")
    } else {
        (verifier.open(&bytes, now, expect)?, "binary envelope")
    };
    let view = View {
        snapshot: &snapshot,
        now,
        source: &source,
        form,
        size: bytes.len(),
    };
    if args.json {
        let json = serde_json::to_string_pretty(&view.json())
            .map_err(|err| CliError::new(ErrorCode::Internal, err.to_string()))?;
        print(&json)?;
    } else {
        print(&view.text())?;
    }
    Ok(Exit::Success)
}

/// The input, refused past the largest text form (plus some whitespace)
/// before it is all in memory.
fn read_input(path: &Path) -> Result<Vec<u8>, CliError> {
    let limit = u64::try_from(MAX_TEXT_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(64);
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes))
    };
    let shown = if path == Path::new("-") {
        Path::new("stdin")
    } else {
        path
    };
    read.map_err(|err| CliError::io(shown, &err))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) >= limit {
        return Err(VerifyError::TooLarge.into());
    }
    Ok(bytes)
}

/// The keys to verify with, and where they came from: `--jwks`, or the
/// keys the store publishes at `now`.
async fn key_set(args: &InspectArgs, now: u64) -> Result<(KeySet, KeySource), CliError> {
    if let Some(path) = &args.jwks {
        let text = std::fs::read_to_string(path).map_err(|err| CliError::io(path, &err))?;
        return Ok((
            KeySet::from_jwks(&text)?,
            KeySource::Jwks(path.display().to_string()),
        ));
    }
    let (location, _) = config::resolve_store(&args.store)?;
    let store = open_existing(&location).await?;
    let at = i64::try_from(now).map_err(|_| {
        CliError::new(
            ErrorCode::BadArgument,
            format!("--now {now} is out of range"),
        )
    })?;
    let keys = tessera_host::published_key_set(&store, at).await;
    store.close().await;
    Ok((keys?, KeySource::Store(redact_url(&location.url()))))
}

/// Where the verifying keys came from.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum KeySource {
    /// A JWKS file (`--jwks`).
    Jwks(String),
    /// The keys a store publishes (its URL, password masked).
    Store(String),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Jwks(path) => write!(f, "a key in {path}"),
            KeySource::Store(url) => write!(f, "a key the store at {url} publishes"),
        }
    }
}

/// An opened snapshot and how it was opened, ready to print.
struct View<'a> {
    /// The verified snapshot.
    snapshot: &'a Snapshot,
    /// The time it was verified at.
    now: u64,
    /// Where the keys came from.
    source: &'a KeySource,
    /// Binary or text.
    form: &'static str,
    /// Input size in bytes.
    size: usize,
}

/// One row of the scope table.
struct Row {
    /// `type:id`, indented by depth.
    label: String,
    /// `type:id`.
    key: String,
    /// The parent's `type:id`, `None` for the org root's children.
    parent: Option<String>,
    /// Hidden from the principal.
    hidden: bool,
    /// The plain set's keys.
    plain: Vec<String>,
    /// What owning the thing adds.
    owner_adds: Vec<String>,
}

impl View<'_> {
    /// Keys of a set, in catalog order.
    fn keys(&self, bits: &Bits) -> Vec<String> {
        self.snapshot.catalog().keys(bits)
    }

    /// Keys in `owned` but not in `plain`.
    fn owner_adds(&self, sets: &ScopeSets) -> Vec<String> {
        let catalog = self.snapshot.catalog();
        sets.owned
            .iter()
            .filter(|&index| !sets.plain.contains(index))
            .map(|index| catalog.key(index).to_owned())
            .collect()
    }

    /// `type:id` of the known node at `at`.
    fn node_key(&self, at: usize) -> String {
        let payload = self.snapshot.payload();
        payload.nodes.get(at).map_or_else(String::new, |node| {
            let ty = payload
                .types
                .get(node.ty as usize)
                .map_or("?", |entry| entry.name.as_str());
            format!("{ty}:{}", node.id)
        })
    }

    /// The known nodes in tree order (each after its parent, siblings in
    /// payload order), indented by depth.
    fn rows(&self) -> Vec<Row> {
        let nodes = &self.snapshot.payload().nodes;
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        let mut top = Vec::new();
        for (at, node) in nodes.iter().enumerate() {
            // INVARIANT (checked by `Snapshot::new`): a parent precedes its
            // child, so this is a tree; a bad index would only misplace a row.
            match node
                .parent
                .and_then(|parent| children.get_mut(parent as usize))
            {
                Some(siblings) => siblings.push(at),
                None => top.push(at),
            }
        }
        let mut rows = Vec::with_capacity(nodes.len());
        let mut stack: Vec<(usize, usize)> = top.into_iter().rev().map(|at| (at, 1)).collect();
        while let Some((at, depth)) = stack.pop() {
            let Some(node) = nodes.get(at) else { continue };
            let key = self.node_key(at);
            rows.push(Row {
                label: format!("{}{key}", "  ".repeat(depth)),
                parent: node.parent.map(|parent| self.node_key(parent as usize)),
                key,
                hidden: node.hidden,
                plain: self.keys(&node.sets.plain),
                owner_adds: self.owner_adds(&node.sets),
            });
            if let Some(below) = children.get(at) {
                stack.extend(below.iter().rev().map(|&child| (child, depth + 1)));
            }
        }
        rows
    }

    /// `2025-06-01T10:15:00Z (1748772900)`.
    fn time(unix: u64) -> String {
        format!("{} ({unix})", rfc3339(unix))
    }

    /// A list, or `none`.
    fn list(items: &[String]) -> String {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    }

    /// The human-readable form.
    fn text(&self) -> String {
        use std::fmt::Write;
        let payload = self.snapshot.payload();
        let header = &payload.header;
        let info = self.snapshot.info();
        let principal = &header.principal;
        let mut flags = Vec::new();
        if principal.superuser {
            flags.push("superuser");
        }
        if principal.anonymous {
            flags.push("anonymous");
        }
        if !principal.active {
            flags.push("inactive");
        }
        flags.push(if principal.member {
            "member"
        } else {
            "not a member"
        });
        let covers = match &info.subtrees {
            None => "the whole org".to_owned(),
            Some(roots) => format!("subtrees {}", roots.join(", ")),
        };
        let token_scopes = match &payload.token_scopes {
            None => "none (every permission)".to_owned(),
            Some(bits) => Self::list(&self.keys(bits)),
        };
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "verified: signed by {}, {}", header.kid, self.source);
        let fields = [
            ("org", header.org.clone()),
            (
                "principal",
                format!(
                    "{} \"{}\" ({})",
                    principal.id,
                    principal.name,
                    flags.join(", ")
                ),
            ),
            ("revision", header.revision.to_string()),
            ("kid", header.kid.clone()),
            ("issued", Self::time(header.issued_at)),
            (
                "expires",
                format!(
                    "{}, in {} s",
                    Self::time(header.expires_at),
                    header.expires_at.saturating_sub(self.now)
                ),
            ),
            (
                "catalog",
                format!(
                    "{} permissions, hash {}",
                    payload.catalog.len(),
                    info.catalog_hash
                ),
            ),
            ("covers", covers),
            ("token scopes", token_scopes),
            (
                "provenance",
                if payload.provenance.is_some() {
                    "yes"
                } else {
                    "no"
                }
                .to_owned(),
            ),
            (
                "format",
                format!(
                    "version {}, {}, {} bytes",
                    header.format_version, self.form, self.size
                ),
            ),
        ];
        for (name, value) in fields {
            let _ = writeln!(out, "{name:<13} {value}");
        }
        let _ = writeln!(out, "\ngroups: {}", Self::list(&payload.groups));
        let _ = writeln!(out, "org roles: {}", Self::list(&payload.root_roles));
        let rows = self.rows();
        let width = rows
            .iter()
            .map(|row| row.label.chars().count())
            .chain([8])
            .max()
            .unwrap_or(8)
            .min(48);
        let _ = writeln!(out, "\nscope table ({} known nodes)", rows.len());
        let _ = writeln!(out, "  {:<width$}  {:<6}  permissions", "node", "hidden");
        let root = &payload.root;
        let mut line = |label: &str, hidden: bool, plain: &[String], owner_adds: &[String]| {
            let _ = writeln!(
                out,
                "  {label:<width$}  {:<6}  {}",
                if hidden { "hidden" } else { "" },
                Self::list(plain)
            );
            if !owner_adds.is_empty() {
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:<6}  owner also: {}",
                    "",
                    "",
                    owner_adds.join(", ")
                );
            }
        };
        line(
            "org root",
            false,
            &self.keys(&root.plain),
            &self.owner_adds(root),
        );
        for row in &rows {
            line(&row.label, row.hidden, &row.plain, &row.owner_adds);
        }
        let _ = writeln!(out, "\nroutes ({})", payload.routes.len());
        let widest = |texts: &mut dyn Iterator<Item = &String>| {
            texts.map(|text| text.chars().count()).max().unwrap_or(0)
        };
        let path_width = widest(&mut payload.routes.iter().map(|route| &route.path));
        let when_width = widest(&mut payload.routes.iter().map(|route| &route.when));
        for route in &payload.routes {
            let _ = writeln!(
                out,
                "  {:<path_width$}  when {:<when_width$}  else {}",
                route.path, route.when, route.fallback
            );
        }
        out.trim_end().to_owned()
    }

    /// The JSON form (`--json`), fields in the order the text shows them.
    fn json(&self) -> Inspected<'_> {
        let payload = self.snapshot.payload();
        let header = &payload.header;
        let sets = |sets: &ScopeSets| Sets {
            plain: self.keys(&sets.plain),
            owner_adds: self.owner_adds(sets),
        };
        Inspected {
            verified: Verified {
                kid: &header.kid,
                keys: self.source,
                at: self.now,
            },
            header: self.snapshot.info(),
            principal: &header.principal,
            format_version: header.format_version,
            form: self.form,
            bytes: self.size,
            catalog: payload
                .catalog
                .iter()
                .map(|entry| entry.key.as_str())
                .collect(),
            token_scopes: payload.token_scopes.as_ref().map(|bits| self.keys(bits)),
            provenance: payload.provenance.is_some(),
            groups: &payload.groups,
            org_roles: &payload.root_roles,
            root: sets(&payload.root),
            nodes: self
                .rows()
                .into_iter()
                .map(|row| Node {
                    node: row.key,
                    parent: row.parent,
                    hidden: row.hidden,
                    sets: Sets {
                        plain: row.plain,
                        owner_adds: row.owner_adds,
                    },
                })
                .collect(),
            routes: payload
                .routes
                .iter()
                .map(|route| Route {
                    path: &route.path,
                    when: &route.when,
                    fallback: &route.fallback,
                })
                .collect(),
        }
    }
}

/// `--json`: what the text form shows.
#[derive(Serialize)]
struct Inspected<'a> {
    /// How it was verified.
    verified: Verified<'a>,
    /// The header as the bindings show it.
    header: SnapshotInfo,
    /// The principal, every flag.
    principal: &'a PrincipalInfo,
    /// The payload format.
    format_version: u32,
    /// Binary or text.
    form: &'static str,
    /// Input size.
    bytes: usize,
    /// Catalog keys, canonical order.
    catalog: Vec<&'a str>,
    /// Token scopes, `null` for none.
    token_scopes: Option<Vec<String>>,
    /// Whether it carries provenance.
    provenance: bool,
    /// Effective groups.
    groups: &'a [String],
    /// Roles held at the org root.
    org_roles: &'a [String],
    /// The sets at the org root.
    root: Sets,
    /// Known nodes, tree order.
    nodes: Vec<Node>,
    /// The routes.
    routes: Vec<Route<'a>>,
}

/// How a snapshot was verified.
#[derive(Serialize)]
struct Verified<'a> {
    /// The signing key.
    kid: &'a str,
    /// Where the key came from: `{"jwks": FILE}` or `{"store": URL}`.
    keys: &'a KeySource,
    /// The time it was verified at, unix seconds.
    at: u64,
}

/// Effective sets at a scope.
#[derive(Serialize)]
struct Sets {
    /// Permission keys.
    plain: Vec<String>,
    /// What owning the thing adds.
    owner_adds: Vec<String>,
}

/// A known node.
#[derive(Serialize)]
struct Node {
    /// `type:id`.
    node: String,
    /// The parent's `type:id`, `null` under the org root.
    parent: Option<String>,
    /// Hidden from the principal.
    hidden: bool,
    /// Its sets.
    #[serde(flatten)]
    sets: Sets,
}

/// A route.
#[derive(Serialize)]
struct Route<'a> {
    /// The pattern.
    path: &'a str,
    /// The predicate, canonical text.
    when: &'a str,
    /// Where a refused visit goes.
    fallback: &'a str,
}
