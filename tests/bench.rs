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

#[test]
fn under_repeated_abuse_no_ping_is_lost_or_late_by_a_second() {
    // For 2 s, clients that never read join the room while 8 MB floods go
    // through it; a ping every 50 ms crosses it (the benchmark runs this for
    // 20 s in release mode, and holds the tight figures).
    let output = run("bench").args(["abuse", "--quick"]).assert().success();
    let stdout = String::from_utf8_lossy(&output.get_output().stdout);
    let row = stdout
        .lines()
        .skip_while(|line| !line.starts_with("abuse:"))
        .find(|line| line.trim_start().starts_with("netcourse"))
        .unwrap_or_else(|| panic!("no netcourse row:\n{stdout}"));
    // p50 ms, p99 ms, max ms, lost, stuck clients.
    let figures: Vec<f64> = row
        .split_whitespace()
        .skip(1)
        .map(|figure| figure.replace(',', "").parse().unwrap())
        .collect();
    assert_eq!(figures.len(), 5, "{row}");
    assert!(figures[2] < 1000.0, "a ping took {} ms: {row}", figures[2]);
    assert_eq!(figures[3], 0.0, "pings lost: {row}");
    assert!(figures[4] >= 1.0, "no never-reading client joined: {row}");
}
