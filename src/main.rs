//! The `faultline` binary: the CLI over the built-in protocols.

fn main() {
    std::process::exit(faultline::cli::main());
}
