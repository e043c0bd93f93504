//! `tessera`: the command line of Tessera's host. It only dispatches; the
//! subcommands live in [`cli`], each a thin layer over the tessera-host
//! library.

mod cli;

/// The host allocates many small, short-lived values per snapshot build
/// (ids, rows, sets, the payload); mimalloc serves them for a fraction of
/// glibc's cost (BENCHMARKS.md, issue 3).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
