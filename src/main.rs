fn main() {
    let w = std::env::args().nth(1).unwrap_or("timers".into());
    let r = faultline::bench::run_kernel_workload(&w).unwrap();
    println!("{}", r.line());
}
