//! `tessera export` and `tessera apply`: an org as a `tessera.org/1`
//! document (docs/documents.md §9), read from the store, and a document's
//! plan printed, confirmed and applied, as the trusted backend.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};
use std::sync::Arc;

use tessera_host::{Actor, Admin, ApplyError, PlanStep, read_document, setup};

use super::output::print;
use super::store_cmds::open_existing;
use super::{ApplyArgs, CliError, Exit, ExportArgs, config};

/// Prints the document, or writes it to `--output`.
pub(crate) async fn export(args: &ExportArgs) -> Result<Exit, CliError> {
    let (location, file) = config::resolve_store(&args.store)?;
    let path = config::manifest_path(&args.manifest, &file);
    let manifest = setup::load_manifest(&path)?;
    let store = open_existing(&location).await?;
    setup::check_reconciled(&store, &manifest, &path).await?;
    let mut progress = Progress::new("read", "entries");
    let document = Admin::new(store.clone(), Arc::new(manifest))
        .export_reporting(&Actor::Backend, &args.org, &mut |done, total| {
            progress.show(done, total);
        })
        .await;
    progress.finish();
    store.close().await;
    let text = document?.to_canonical_json();
    match &args.output {
        Some(output) => std::fs::write(output, text).map_err(|err| CliError::io(output, &err))?,
        None => print(text.trim_end())?,
    }
    Ok(Exit::Success)
}

/// Prints the plan that makes the org what the document says; applies it
/// once confirmed (or with `--yes`).
pub(crate) async fn apply(args: &ApplyArgs) -> Result<Exit, CliError> {
    let text = std::fs::read_to_string(&args.file).map_err(|err| CliError::io(&args.file, &err))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|err| {
        CliError::new(
            tessera_core::ErrorCode::BadRequest,
            format!("{}: not JSON: {err}", args.file.display()),
        )
    })?;
    let document = read_document(&value).map_err(refusal)?;
    let (location, file) = config::resolve_store(&args.store)?;
    let path = config::manifest_path(&args.manifest, &file);
    let manifest = setup::load_manifest(&path)?;
    let store = open_existing(&location).await?;
    setup::check_reconciled(&store, &manifest, &path).await?;
    let admin = Admin::new(store.clone(), Arc::new(manifest));
    let outcome = plan_then_apply(&admin, args, &document).await;
    store.close().await;
    outcome
}

async fn plan_then_apply(
    admin: &Admin,
    args: &ApplyArgs,
    document: &tessera_host::OrgDocument,
) -> Result<Exit, CliError> {
    let (plan, _) = admin
        .plan(&Actor::Backend, &args.org, document)
        .await
        .map_err(refusal)?;
    let steps = plan.steps();
    if steps.is_empty() {
        print(&format!(
            "No changes: the org `{}` is what the document says.",
            args.org
        ))?;
        return Ok(Exit::Success);
    }
    print(&table(&steps))?;
    if !args.yes && !confirmed(&args.org, steps.len())? {
        eprintln!("Not applied.");
        return Ok(Exit::Denied);
    }
    let mut progress = Progress::new("applied", "steps");
    let applied = admin
        .apply_reporting(
            &Actor::Backend,
            &args.org,
            document,
            setup::unix_now(),
            &mut |done, total| progress.show(done, total),
        )
        .await
        .map_err(refusal)?;
    progress.finish();
    print(&format!(
        "Applied {} steps to the org `{}` in one transaction.",
        applied.steps().len(),
        args.org
    ))?;
    Ok(Exit::Success)
}

/// The plan as a table (kind, operation, target, pointer), then the
/// counts per kind.
fn table(steps: &[PlanStep]) -> String {
    let width = steps
        .iter()
        .map(|step| step.target.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!(
        "{:<12} {:<6} {:<width$} WHERE IN THE DOCUMENT\n",
        "KIND", "OP", "TARGET"
    );
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for step in steps {
        let pointer = step.pointer.as_deref().unwrap_or("(left out)");
        let _ = writeln!(
            out,
            "{:<12} {:<6} {:<width$} {pointer}",
            step.kind, step.op, step.target
        );
        *counts.entry((step.kind, step.op)).or_default() += 1;
    }
    let summary: Vec<String> = counts
        .into_iter()
        .map(|((kind, op), count)| format!("{kind} {op} {count}"))
        .collect();
    let _ = write!(out, "\n{} steps: {}", steps.len(), summary.join(", "));
    out
}

/// Asks on the terminal; without one, `--yes` is needed.
fn confirmed(org: &str, steps: usize) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        eprintln!("stdin is not a terminal: run again with --yes to apply.");
        return Ok(false);
    }
    eprint!("Apply these {steps} steps to the org `{org}`? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|err| CliError::new(tessera_core::ErrorCode::Io, format!("stdin: {err}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// An apply's refusal with where in the document it arose.
fn refusal(err: ApplyError) -> CliError {
    let at = err
        .pointer
        .map(|pointer| format!(" (at {pointer})"))
        .unwrap_or_default();
    let base = CliError::from(err.error);
    CliError::new(base.code, format!("{}{at}", base.message))
}

/// Progress of a long apply or export on stderr: a bar redrawn in place
/// on a terminal, a plain line at each tenth otherwise; nothing for one of
/// under [`Progress::LONG`] steps or entries.
struct Progress {
    terminal: bool,
    /// What is done (`applied`) and to what (`steps`).
    verb: &'static str,
    unit: &'static str,
    /// Whether a line or bar was drawn.
    drawn: bool,
    /// The last percentage (terminal) or tenth (plain) drawn.
    last: usize,
}

impl Progress {
    /// Applies and exports this long or longer show their progress.
    const LONG: usize = 200;

    fn new(verb: &'static str, unit: &'static str) -> Self {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            verb,
            unit,
            drawn: false,
            last: 0,
        }
    }

    fn show(&mut self, done: usize, total: usize) {
        if let Some(line) = self.line(done, total) {
            self.drawn = true;
            if self.terminal {
                eprint!("\r{line}");
                std::io::stderr().flush().ok();
            } else {
                eprintln!("{line}");
            }
        }
    }

    /// What to draw for `done` of `total`, if anything.
    fn line(&mut self, done: usize, total: usize) -> Option<String> {
        if total < Self::LONG {
            return None;
        }
        let percent = done * 100 / total;
        let (verb, unit) = (self.verb, self.unit);
        if self.terminal {
            if percent == self.last && done != total {
                return None;
            }
            self.last = percent;
            let bar = "#".repeat(percent / 5);
            Some(format!("[{bar:<20}] {percent:>3}% {done} / {total} {unit}"))
        } else if percent / 10 > self.last / 10 {
            self.last = percent;
            Some(format!("{verb} {done} of {total} {unit} ({percent}%)"))
        } else {
            None
        }
    }

    fn finish(&self) {
        if self.drawn && self.terminal {
            eprintln!();
        }
    }
}
