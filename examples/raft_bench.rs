//! Runs the `raft` benchmark (DESIGN section 6) until `faultline bench raft`
//! is wired in the CLI: `cargo run --release --example raft_bench`.

fn main() {
    println!("{}", faultline::protocols::raft::bench().line());
}
