//! `tessera console`: a one-time console sign-in URL for an operator on
//! the host's machine (docs/console.md §10.1), made in the store directly,
//! as the app backend would ask for one over HTTP.

use std::net::{Ipv4Addr, SocketAddr};

use super::output::{note, print};
use super::store_cmds::open_for_writing;
use super::{CliError, ConsoleArgs, Exit, config};
use tessera_host::setup;

/// Prints the URL; it works once, within a minute.
pub(crate) async fn console(args: &ConsoleArgs) -> Result<Exit, CliError> {
    let (location, file) = config::resolve_store(&args.store)?;
    let base = match &args.url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let mut listen = file.listen.unwrap_or(SocketAddr::from((
                Ipv4Addr::LOCALHOST,
                config::DEFAULT_PORT,
            )));
            // A host listening on every address is reached here locally.
            if listen.ip().is_unspecified() {
                listen.set_ip(Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{listen}")
        }
    };
    let store = open_for_writing(&location).await?;
    let made =
        tessera_host::create_code(&store, &args.actor, args.org.as_deref(), setup::unix_now())
            .await;
    store.close().await;
    let (code, _) = made?;
    print(&format!("{base}/console/sign-in/{code}"))?;
    note("open it within a minute; it works once");
    Ok(Exit::Success)
}
