//! What `tessera serve` and every CLI subcommand share, one question per
//! module: where the data lives ([`data_dir`]), which database and how it
//! is opened ([`url`]), the manifest ([`manifest`]), the key ring
//! ([`keys`]), the bootstrap token ([`bootstrap`]), and the host's clock, re-exported.

mod bootstrap;
mod data_dir;
mod err;
mod keys;
mod manifest;
mod url;

pub use crate::clock::unix_now;
pub use bootstrap::bootstrap_token;
pub use data_dir::ensure_data_dir;
pub use err::SetupError;
pub use keys::ensure_signing_key;
pub use manifest::{check_reconciled, load_manifest};
pub use url::{database_url, open_store};
