//! Settings in layers (ripgrep's low/high arguments): clap gives each
//! setting from its flag, else its environment variable (so no clap
//! defaults: an unset setting stays `None`); then the config file fills
//! what is still unset; then the defaults. Validation comes after the
//! merge, so a bad value is refused whichever layer it came from.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tessera_host::{MAX_SNAPSHOT_TTL, Quotas, ServeConfig};

use super::{CliError, ManifestArg, ServeArgs, StoreArgs};

/// `./tessera-data`.
pub(crate) const DEFAULT_DATA_DIR: &str = "./tessera-data";
/// The fleet example, so that `tessera serve` runs from the repository root.
pub(crate) const DEFAULT_MANIFEST: &str = "examples/fleet/manifest.toml";
/// The default listening port.
pub(crate) const DEFAULT_PORT: u16 = 7700;
/// Exported snapshots live 5 minutes unless configured (docs/snapshots.md §3).
pub(crate) const DEFAULT_SNAPSHOT_TTL: i64 = 300;
/// 256 KiB (docs/snapshots.md §3).
pub(crate) const DEFAULT_MAX_SNAPSHOT_BYTES: usize = 256 * 1024;
/// Compiled snapshots kept for checks.
pub(crate) const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// How long a revision read from the store is trusted, in milliseconds.
pub(crate) const DEFAULT_REVISION_FRESHNESS_MS: u64 = 500;
/// Revision event streams open at once (docs/http.md §6.9).
pub(crate) const DEFAULT_MAX_EVENT_STREAMS: usize = 10_000;

/// The config file: every key optional, any other key an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    /// `data_dir`, relative to the file's directory.
    pub(crate) data_dir: Option<PathBuf>,
    /// `database_url`, as given.
    pub(crate) database_url: Option<String>,
    /// `manifest`, relative to the file's directory.
    pub(crate) manifest: Option<PathBuf>,
    /// `listen`, e.g. `"0.0.0.0:7700"`.
    pub(crate) listen: Option<SocketAddr>,
    /// `snapshot_ttl`, seconds.
    pub(crate) snapshot_ttl: Option<i64>,
    /// `max_snapshot_bytes`.
    pub(crate) max_snapshot_bytes: Option<usize>,
    /// `cache_capacity`.
    pub(crate) cache_capacity: Option<usize>,
    /// `revision_freshness_ms`.
    pub(crate) revision_freshness_ms: Option<u64>,
    /// `check_token_superuser_snapshots`.
    pub(crate) check_token_superuser_snapshots: Option<bool>,
    /// `max_event_streams`.
    pub(crate) max_event_streams: Option<usize>,
    /// `[quotas]`.
    pub(crate) quotas: Option<FileQuotas>,
}

/// The config file's `[quotas]` table; a missing key keeps its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileQuotas {
    nodes: Option<u64>,
    groups: Option<u64>,
    assignments: Option<u64>,
    caps: Option<u64>,
    hidden: Option<u64>,
    under_roots: Option<u64>,
    preview_principals: Option<u64>,
}

impl FileQuotas {
    /// Sets `kind` (from `--quotas`); an unknown kind is refused.
    fn set(&mut self, kind: &str, value: u64) -> Result<(), CliError> {
        let slot = match kind {
            "nodes" => &mut self.nodes,
            "groups" => &mut self.groups,
            "assignments" => &mut self.assignments,
            "caps" => &mut self.caps,
            "hidden" => &mut self.hidden,
            "under_roots" => &mut self.under_roots,
            "preview_principals" => &mut self.preview_principals,
            _ => return Err(CliError::config(format!("`{kind}` is not a quota"))),
        };
        *slot = Some(value);
        Ok(())
    }

    /// The quotas: flag or environment, then the file, then the defaults.
    fn merge(flags: &FileQuotas, file: &FileQuotas) -> Quotas {
        let defaults = Quotas::default();
        Quotas {
            nodes: flags.nodes.or(file.nodes).unwrap_or(defaults.nodes),
            groups: flags.groups.or(file.groups).unwrap_or(defaults.groups),
            assignments: flags
                .assignments
                .or(file.assignments)
                .unwrap_or(defaults.assignments),
            caps: flags.caps.or(file.caps).unwrap_or(defaults.caps),
            hidden: flags.hidden.or(file.hidden).unwrap_or(defaults.hidden),
            under_roots: flags
                .under_roots
                .or(file.under_roots)
                .unwrap_or(defaults.under_roots),
            preview_principals: flags
                .preview_principals
                .or(file.preview_principals)
                .unwrap_or(defaults.preview_principals),
        }
    }
}

/// Reads `--quotas nodes=1000,caps=50`.
fn parse_quotas(text: &str) -> Result<FileQuotas, CliError> {
    let mut quotas = FileQuotas::default();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (kind, value) = item
            .split_once('=')
            .ok_or_else(|| CliError::config(format!("quota `{item}` is not KIND=N")))?;
        let value = value.trim().parse::<u64>().map_err(|_| {
            CliError::config(format!("quota `{item}`: `{value}` is not a whole number"))
        })?;
        quotas.set(kind.trim(), value)?;
    }
    Ok(quotas)
}

impl FileConfig {
    /// Reads the file named by `--config`/`TESSERA_CONFIG`, or nothing.
    pub(crate) fn load(path: Option<&Path>) -> Result<FileConfig, CliError> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path).map_err(|err| CliError::io(path, &err))?;
        let mut config = FileConfig::parse(&text)
            .map_err(|why| CliError::config(format!("{}:{why}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.data_dir = config.data_dir.map(|dir| base.join(dir));
        config.manifest = config.manifest.map(|file| base.join(file));
        Ok(config)
    }

    /// Parses the TOML text; the error is `line:column: message`.
    pub(crate) fn parse(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|err| {
            let at = err.span().map_or(String::new(), |span| {
                let before = text.get(..span.start).unwrap_or("");
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
                format!("{line}:{column}:")
            });
            format!("{at} {}", err.message().trim())
        })
    }
}

/// Where the store is, after the layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreLocation {
    /// The data directory.
    pub(crate) data_dir: PathBuf,
    /// The explicit database URL, if any (else SQLite in the data directory).
    pub(crate) database_url: Option<String>,
}

impl StoreLocation {
    /// The URL to connect to.
    pub(crate) fn url(&self) -> String {
        tessera_host::setup::database_url(self.database_url.as_deref(), &self.data_dir)
    }

    /// The SQLite file this location defaults to, when no URL was given.
    pub(crate) fn default_sqlite_file(&self) -> Option<PathBuf> {
        match self.database_url {
            None => Some(self.data_dir.join("tessera.db")),
            Some(_) => None,
        }
    }
}

/// An empty `DATABASE_URL=` means unset, as `setup::database_url` reads it;
/// it must not hide the config file's URL either.
fn non_empty(url: Option<String>) -> Option<String> {
    url.filter(|url| !url.trim().is_empty())
}

/// The store's location: flags/env, then the file, then the default. The
/// data directory is made absolute: the SQLite URL is built from it and
/// parsed as a URL, where a relative `dir/../x` would lose its first
/// component (`dir` reads as a host).
pub(crate) fn store_location(args: &StoreArgs, file: &FileConfig) -> StoreLocation {
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    StoreLocation {
        data_dir: std::path::absolute(&data_dir).unwrap_or(data_dir),
        database_url: non_empty(args.database_url.clone())
            .or_else(|| non_empty(file.database_url.clone())),
    }
}

/// The manifest's path: flag/env, then the file, then the default.
pub(crate) fn manifest_path(args: &ManifestArg, file: &FileConfig) -> PathBuf {
    args.manifest
        .clone()
        .or_else(|| file.manifest.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MANIFEST))
}

/// Reads the config file named in `args` and locates the store.
pub(crate) fn resolve_store(args: &StoreArgs) -> Result<(StoreLocation, FileConfig), CliError> {
    let file = FileConfig::load(args.config.as_deref())?;
    Ok((store_location(args, &file), file))
}

/// `tessera serve`'s settings: the layers merged, then validated.
pub(crate) fn serve_config(args: &ServeArgs) -> Result<ServeConfig, CliError> {
    let file = FileConfig::load(args.store.config.as_deref())?;
    merge_serve(args, &file)
}

/// The merge and validation, without reading anything.
pub(crate) fn merge_serve(args: &ServeArgs, file: &FileConfig) -> Result<ServeConfig, CliError> {
    let store = store_location(&args.store, file);
    let snapshot_ttl = args
        .snapshot_ttl
        .or(file.snapshot_ttl)
        .unwrap_or(DEFAULT_SNAPSHOT_TTL);
    if !(1..=MAX_SNAPSHOT_TTL).contains(&snapshot_ttl) {
        return Err(CliError::config(format!(
            "snapshot_ttl must be 1 to {MAX_SNAPSHOT_TTL} seconds, not {snapshot_ttl}"
        )));
    }
    let max_snapshot_bytes = args
        .max_snapshot_bytes
        .or(file.max_snapshot_bytes)
        .unwrap_or(DEFAULT_MAX_SNAPSHOT_BYTES);
    if max_snapshot_bytes == 0 {
        return Err(CliError::config("max_snapshot_bytes must be at least 1"));
    }
    let cache_capacity = args
        .cache_capacity
        .or(file.cache_capacity)
        .unwrap_or(DEFAULT_CACHE_CAPACITY);
    if cache_capacity == 0 {
        return Err(CliError::config("cache_capacity must be at least 1"));
    }
    Ok(ServeConfig {
        data_dir: store.data_dir,
        database_url: store.database_url,
        manifest: manifest_path(&args.manifest, file),
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT))),
        snapshot_ttl,
        max_snapshot_bytes,
        cache_capacity,
        revision_freshness: std::time::Duration::from_millis(
            args.revision_freshness_ms
                .or(file.revision_freshness_ms)
                .unwrap_or(DEFAULT_REVISION_FRESHNESS_MS),
        ),
        check_token_superuser_snapshots: args
            .check_token_superuser_snapshots
            .or(file.check_token_superuser_snapshots)
            .unwrap_or(false),
        max_event_streams: args
            .max_event_streams
            .or(file.max_event_streams)
            .unwrap_or(DEFAULT_MAX_EVENT_STREAMS),
        quotas: FileQuotas::merge(
            &args
                .quotas
                .as_deref()
                .map(parse_quotas)
                .transpose()?
                .unwrap_or_default(),
            &file.quotas.clone().unwrap_or_default(),
        ),
    })
}

#[cfg(test)]
mod test {
    use std::process::Command;

    use clap::Parser;

    use super::*;

    #[test]
    fn quotas_merge_flag_over_file_over_default() {
        let flags = parse_quotas("nodes=5, caps=7").unwrap();
        let file = FileConfig::parse("[quotas]\nnodes = 9\nhidden = 3\n")
            .unwrap()
            .quotas
            .unwrap();
        let quotas = FileQuotas::merge(&flags, &file);
        let defaults = Quotas::default();
        assert_eq!(
            (quotas.nodes, quotas.caps, quotas.hidden, quotas.groups),
            (5, 7, 3, defaults.groups)
        );
        for bad in ["nodes", "nodes=x", "rows=1", "nodes=-1"] {
            assert_eq!(
                parse_quotas(bad).unwrap_err().code,
                tessera_core::ErrorCode::BadConfig,
                "{bad}"
            );
        }
        assert!(FileConfig::parse("[quotas]\nrows = 1\n").is_err());
    }
    use crate::cli::Cli;

    /// Every variable the layers read, cleared in the child so the outer
    /// environment cannot leak in.
    const VARIABLES: [&str; 10] = [
        "TESSERA_CONFIG",
        "TESSERA_DATA_DIR",
        "DATABASE_URL",
        "TESSERA_MANIFEST",
        "TESSERA_LISTEN",
        "TESSERA_SNAPSHOT_TTL",
        "TESSERA_MAX_SNAPSHOT_BYTES",
        "TESSERA_CACHE_CAPACITY",
        "TESSERA_REVISION_FRESHNESS_MS",
        "TESSERA_PROBE_ARGV",
    ];

    /// What a resolved config looks like in the probe's output.
    fn describe(config: &ServeConfig) -> String {
        format!(
            "data_dir={} database_url={:?} manifest={} listen={} snapshot_ttl={} max_snapshot_bytes={} cache_capacity={}",
            config.data_dir.display(),
            config.database_url,
            config.manifest.display(),
            config.listen,
            config.snapshot_ttl,
            config.max_snapshot_bytes,
            config.cache_capacity
        )
    }

    /// Runs `tessera serve ARGV` up to its resolved config in a child
    /// process (environment variables cannot be set safely in a threaded
    /// test), with exactly `env` set; returns the description or the error.
    fn resolve(argv: &[&str], env: &[(&str, &str)]) -> String {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child.args([
            "--exact",
            "cli::config::test::probe",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]);
        for variable in VARIABLES {
            child.env_remove(variable);
        }
        child.envs(env.iter().copied());
        child.env("TESSERA_PROBE_ARGV", argv.join("\u{1f}"));
        let output = child.output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        stdout
            .lines()
            .find_map(|line| line.split_once("PROBE ").map(|(_, answer)| answer))
            .unwrap_or_else(|| panic!("the probe printed no answer: {stdout}"))
            .to_owned()
    }

    /// The child's side of [`resolve`]; does nothing in a normal run.
    #[test]
    #[ignore = "run by the precedence tests in a child process"]
    fn probe() {
        let Ok(argv) = std::env::var("TESSERA_PROBE_ARGV") else {
            return;
        };
        let argv = std::iter::once("tessera").chain(argv.split('\u{1f}').filter(|a| !a.is_empty()));
        let answer = match Cli::try_parse_from(argv) {
            Ok(Cli {
                command: crate::cli::Command::Serve(args),
            }) => match serve_config(&args) {
                Ok(config) => describe(&config),
                Err(err) => format!("error {}: {}", err.code, err.message),
            },
            Ok(other) => format!("not serve: {other:?}"),
            Err(err) => format!("clap: {}", err.kind()),
        };
        // The harness prints the test's name on the same line first.
        println!("PROBE {answer}");
    }

    /// A config file in its own temporary directory, removed on drop.
    struct TempConfig {
        /// The directory.
        dir: PathBuf,
        /// The file, as an argument.
        file: String,
    }

    impl Drop for TempConfig {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.dir).ok();
        }
    }

    fn temp_config(name: &str, text: &str) -> TempConfig {
        let dir = std::env::temp_dir().join(format!("tessera-cli-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tessera.toml");
        std::fs::write(&file, text).unwrap();
        TempConfig {
            file: file.display().to_string(),
            dir,
        }
    }

    #[test]
    fn defaults_apply_last() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            resolve(&["serve"], &[]),
            format!(
                "data_dir={}/tessera-data database_url=None manifest=examples/fleet/manifest.toml \
                 listen=127.0.0.1:7700 snapshot_ttl=300 max_snapshot_bytes=262144 cache_capacity=10000",
                cwd.display()
            )
        );
    }

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        let config = temp_config(
            "layers",
            "data_dir = \"from-file\"\n\
             listen = \"0.0.0.0:9000\"\n\
             snapshot_ttl = 60\n\
             cache_capacity = 5\n\
             database_url = \"postgres://file@db/tessera\"\n",
        );
        let answer = resolve(
            &["serve", "--config", &config.file, "--cache-capacity", "7"],
            &[
                ("TESSERA_SNAPSHOT_TTL", "120"),
                ("TESSERA_CACHE_CAPACITY", "99"),
                ("TESSERA_MANIFEST", "env.toml"),
                // Empty means unset: the file's URL stands.
                ("DATABASE_URL", ""),
            ],
        );
        assert_eq!(
            answer,
            format!(
                "data_dir={}/from-file database_url=Some(\"postgres://file@db/tessera\") \
                 manifest=env.toml listen=0.0.0.0:9000 snapshot_ttl=120 \
                 max_snapshot_bytes=262144 cache_capacity=7",
                config.dir.display()
            )
        );
    }

    #[test]
    fn each_path_setting_follows_the_same_order() {
        let config = temp_config(
            "paths",
            "data_dir = \"../from-file\"\nmanifest = \"m.toml\"\n",
        );
        let answer = resolve(&["serve", "--config", &config.file], &[]);
        assert!(
            answer.starts_with(&format!(
                "data_dir={}/../from-file database_url=None manifest={}/m.toml ",
                config.dir.display(),
                config.dir.display()
            )),
            "paths in the file are relative to it: {answer}"
        );
        let env = [
            ("TESSERA_DATA_DIR", "/from/env"),
            ("TESSERA_MANIFEST", "/env.toml"),
        ];
        let answer = resolve(&["serve", "--config", &config.file], &env);
        assert!(
            answer.starts_with("data_dir=/from/env database_url=None manifest=/env.toml "),
            "{answer}"
        );
        let answer = resolve(
            &[
                "serve",
                "--config",
                &config.file,
                "--data-dir",
                "/flag",
                "--manifest",
                "/f.toml",
            ],
            &env,
        );
        assert!(
            answer.starts_with("data_dir=/flag database_url=None manifest=/f.toml "),
            "{answer}"
        );
    }

    #[test]
    fn the_config_file_may_come_from_the_environment() {
        let config = temp_config("env-file", "max_snapshot_bytes = 1024\n");
        let answer = resolve(
            &["serve", "--listen", "[::1]:8080"],
            &[("TESSERA_CONFIG", &config.file)],
        );
        assert!(answer.contains("listen=[::1]:8080"), "{answer}");
        assert!(answer.contains("max_snapshot_bytes=1024"), "{answer}");
    }

    #[test]
    fn values_are_validated_whichever_layer_gave_them() {
        let answer = resolve(&["serve"], &[("TESSERA_SNAPSHOT_TTL", "7200")]);
        assert_eq!(
            answer,
            "error BAD_CONFIG: snapshot_ttl must be 1 to 3600 seconds, not 7200"
        );
        let config = temp_config("bad-ttl", "snapshot_ttl = 0\n");
        let answer = resolve(&["serve", "--config", &config.file], &[]);
        assert!(
            answer.starts_with("error BAD_CONFIG: snapshot_ttl"),
            "{answer}"
        );
        assert_eq!(
            resolve(&["serve", "--cache-capacity", "0"], &[]),
            "error BAD_CONFIG: cache_capacity must be at least 1"
        );
    }

    #[test]
    fn unknown_toml_key_is_an_error() {
        let err = FileConfig::parse("listen = \"127.0.0.1:1\"\nsnapshot_tll = 60\n").unwrap_err();
        assert!(err.starts_with("2:1:"), "{err}");
        assert!(err.contains("snapshot_tll"), "{err}");
        let config = temp_config("unknown", "port = 80\n");
        let answer = resolve(&["serve", "--config", &config.file], &[]);
        assert!(answer.starts_with("error BAD_CONFIG: "), "{answer}");
        assert!(answer.contains("port"), "{answer}");
    }

    #[test]
    fn file_values_are_typed() {
        assert!(FileConfig::parse("listen = \"not an address\"\n").is_err());
        assert!(FileConfig::parse("cache_capacity = -1\n").is_err());
        assert_eq!(
            FileConfig::parse("").unwrap(),
            FileConfig::default(),
            "every key is optional"
        );
    }

    #[test]
    fn merge_without_any_layer_gives_the_defaults() {
        let config = merge_serve(&ServeArgs::default(), &FileConfig::default()).unwrap();
        assert_eq!(
            config.data_dir,
            std::env::current_dir().unwrap().join("tessera-data")
        );
        assert_eq!(config.snapshot_ttl, DEFAULT_SNAPSHOT_TTL);
        assert_eq!(config.max_snapshot_bytes, DEFAULT_MAX_SNAPSHOT_BYTES);
    }
}
