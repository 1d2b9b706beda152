//! The benchmark's quick mode, so that it never rots: every scenario runs,
//! against netcourse and plain std, and nothing is lost. It asserts
//! correctness only: speed is measured by `cargo run --release --example
//! bench`, never by a test.

mod common;

use common::run;

#[test]
fn bench_quick_runs_every_scenario_and_loses_nothing() {
    let output = run("bench").args(["all", "--quick"]).assert().success();
    let stdout = String::from_utf8_lossy(&output.get_output().stdout);
    for scenario in ["echo:", "chat:", "udp:", "conns:"] {
        assert!(
            stdout.contains(scenario),
            "{scenario} did not run:\n{stdout}"
        );
    }
    // The chat rows end in: deliveries/s, lost (which must be 0), server ns/line.
    for row in stdout
        .lines()
        .skip_while(|line| !line.starts_with("chat:"))
        .skip(2)
        .take(2)
    {
        let figures: Vec<&str> = row.split_whitespace().rev().take(2).collect();
        assert_eq!(figures.get(1), Some(&"0.00"), "{row}");
    }
}
