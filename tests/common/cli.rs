//! Running the `faultline` binary from an integration test, from the crate
//! root, as a user would: its exit code and what it printed.

use std::path::Path;
use std::process::Command;

/// What one command did.
pub struct Output {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `faultline ARGS` from the crate root.
pub fn faultline(args: &[&str]) -> Output {
    faultline_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Runs `faultline ARGS` in folder `dir`.
pub fn faultline_in(dir: &Path, args: &[&str]) -> Output {
    let out =
        Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).current_dir(dir).output().expect("run faultline");
    Output {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}
