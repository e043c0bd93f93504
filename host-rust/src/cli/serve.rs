//! `tessera serve`: the merged settings to [`tessera_host::start`], the
//! two promised stdout lines, then serving until SIGINT or SIGTERM.

use std::future::Future;
use tessera_core::ErrorCode;

use super::output::{note, print};
use super::{CliError, Exit, ServeArgs, config};

/// Starts the service and serves until a signal asks it to stop.
pub(crate) async fn run(args: ServeArgs) -> Result<Exit, CliError> {
    let config = config::serve_config(&args)?;
    let manifest = config.manifest.clone();
    // Listen for the signals before anything can take long: a signal
    // during the start (migrations, reconcile) abandons it cleanly, its
    // transaction rolled back, instead of killing the process mid-write.
    let mut shutdown = Box::pin(shutdown_signal()?);
    let running = tokio::select! {
        started = tessera_host::start(config) => started?,
        () = &mut shutdown => {
            note("stopped before serving");
            return Ok(Exit::Success);
        }
    };
    print(&format!("tessera listening on http://{}", running.address))?;
    print(&format!("bootstrap token: {}", running.bootstrap_token))?;
    note(&format!(
        "the bootstrap token is kept in {}",
        running.token_path.display()
    ));
    if args.demo {
        for line in super::demo::apply(running.admin(), &manifest).await? {
            print(&line)?;
        }
    }
    running.wait(shutdown).await?;
    note("tessera stopped");
    Ok(Exit::Success)
}

/// How long in-flight requests may take to finish after a stop signal.
#[cfg(unix)]
const DRAIN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Resolves at the first SIGINT or SIGTERM (Ctrl-C elsewhere). The
/// handlers are installed now, not when the future is first polled. After
/// it resolved, a second signal, or in-flight requests still running after
/// [`DRAIN_DEADLINE`], end the process at once (exit code 1).
#[cfg(unix)]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|err| {
            CliError::new(
                ErrorCode::Internal,
                format!("cannot listen for {name}: {err}"),
            )
        })
    };
    let mut interrupt = install(SignalKind::interrupt(), "SIGINT")?;
    let mut terminate = install(SignalKind::terminate(), "SIGTERM")?;
    Ok(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        note(&format!("{name}: finishing in-flight requests"));
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => note("SIGINT again: stopping now"),
                _ = terminate.recv() => note("SIGTERM again: stopping now"),
                () = tokio::time::sleep(DRAIN_DEADLINE) => {
                    note("in-flight requests did not finish in time: stopping now");
                }
            }
            std::process::exit(1);
        });
    })
}

/// Resolves at the first Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, CliError> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            note("Ctrl-C: finishing in-flight requests");
        } else {
            // No way to hear Ctrl-C: serve until killed.
            std::future::pending::<()>().await;
        }
    })
}
