//! CPU time a process consumes over a run, read from `/proc` two ways.
//!
//! Per-thread `schedstat` counts nanoseconds on CPU exactly, but a thread that exits
//! takes its counter with it, so a background thread samples every thread's counter
//! and keeps the last value seen. `/proc/PID/stat` (utime + stime, in ticks) keeps
//! the time of exited threads but only counts whole ticks; it is the cross-check.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// How often thread counters are read while a run is going on.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// CPU time used between [`CpuMeter::start`] and [`CpuMeter::finish`].
#[derive(Debug, Clone, Copy)]
pub struct CpuUsed {
    /// Sum over threads of the `schedstat` run time.
    pub schedstat: Duration,
    /// utime + stime of the whole process.
    pub stat: Duration,
}

/// Measures one process's CPU time over a run.
pub struct CpuMeter {
    pid: u32,
    start_threads: HashMap<u32, u64>,
    start_ticks: u64,
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<HashMap<u32, u64>>,
}

impl CpuMeter {
    pub fn start(pid: u32) -> Result<Self, String> {
        let start_threads = thread_run_ns(pid)?;
        let start_ticks = process_ticks(&pid.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let stop = stop.clone();
            let mut last = start_threads.clone();
            std::thread::spawn(move || {
                // Reads once more after being told to stop, so `last` is current.
                loop {
                    let stopping = stop.load(Ordering::Relaxed);
                    if let Ok(now) = thread_run_ns(pid) {
                        last.extend(now);
                    }
                    if stopping {
                        return last;
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        Ok(Self {
            pid,
            start_threads,
            start_ticks,
            stop,
            sampler,
        })
    }

    pub fn finish(self) -> Result<CpuUsed, String> {
        self.stop.store(true, Ordering::Relaxed);
        let ticks = process_ticks(&self.pid.to_string())?;
        let last = self
            .sampler
            .join()
            .map_err(|_| "the CPU sampler panicked")?;
        let ns: u64 = last
            .iter()
            .map(|(tid, ns)| ns.saturating_sub(self.start_threads.get(tid).copied().unwrap_or(0)))
            .sum();
        Ok(CpuUsed {
            schedstat: Duration::from_nanos(ns),
            stat: ticks_to_duration(ticks.saturating_sub(self.start_ticks)),
        })
    }
}

/// This process's own utime + stime so far.
pub fn own_cpu() -> Result<Duration, String> {
    process_ticks("self").map(ticks_to_duration)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// Nanoseconds on CPU of each live thread, by thread id. Threads that exit while
/// the directory is read are skipped.
fn thread_run_ns(pid: u32) -> Result<HashMap<u32, u64>, String> {
    let dir = format!("/proc/{pid}/task");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {dir}: {e}"))?;
    let mut threads = HashMap::new();
    for entry in entries.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue;
        };
        if let Some(ns) = text.split_whitespace().next().and_then(|f| f.parse().ok()) {
            threads.insert(tid, ns);
        }
    }
    if threads.is_empty() {
        return Err(format!("no thread of {pid} has a readable schedstat"));
    }
    Ok(threads)
}

/// utime + stime of `/proc/<which>/stat`, in clock ticks.
fn process_ticks(which: &str) -> Result<u64, String> {
    let path = format!("/proc/{which}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // The command name (field 2) may contain spaces; the fields after it do not.
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or(format!("{path}: no ')' after the command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `fields[0]` is field 3 (state), so utime (14) and stime (15) are 11 and 12.
    let field = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or(format!("{path}: field {} is not a number", i + 3))
    };
    Ok(field(11)? + field(12)?)
}
