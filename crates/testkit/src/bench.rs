//! What the benchmarks share: timing a call many times, percentiles, peak memory.

use std::time::{Duration, Instant};

/// The `p` quantile (0 to 1) of sorted durations; zero for none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Calls `call(i)` `warmup` times untimed, then `n` times timed; the durations, sorted.
pub async fn measure<F, Fut>(warmup: usize, n: usize, mut call: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    for i in 0..warmup {
        call(i).await;
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        call(warmup + i).await;
        out.push(t.elapsed());
    }
    out.sort();
    out
}

/// The JSON line of a latency benchmark: `{"bench", "p50_us", "p99_us", "n"}`.
pub fn latency_line(bench: &str, sorted: &[Duration]) -> String {
    format!(
        "{{\"bench\":\"{bench}\",\"p50_us\":{:.1},\"p99_us\":{:.1},\"n\":{}}}",
        percentile(sorted, 0.5).as_secs_f64() * 1e6,
        percentile(sorted, 0.99).as_secs_f64() * 1e6,
        sorted.len()
    )
}

/// This process's peak resident memory so far, in MiB (`VmHWM` of `/proc/self/status`).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak so a later [`peak_rss_mb`] covers only what follows (Linux: writing 5 to
/// `/proc/self/clear_refs`); false where that is not possible.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_hundred() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&d, 0.5), Duration::from_micros(51));
        assert_eq!(percentile(&d, 0.99), Duration::from_micros(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
        assert_eq!(latency_line("x", &d[..2]), r#"{"bench":"x","p50_us":2.0,"p99_us":2.0,"n":2}"#);
    }

    #[test]
    fn peak_memory_is_read() {
        let mb = peak_rss_mb().unwrap();
        assert!(mb > 0.5 && mb < 10_000.0, "{mb}");
    }
}
