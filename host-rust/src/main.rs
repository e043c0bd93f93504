//! `tessera`: the command line of Tessera's host. It only dispatches; the
//! subcommands live in [`cli`], each a thin layer over the tessera-host
//! library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
