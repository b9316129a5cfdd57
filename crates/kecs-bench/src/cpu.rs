//! The CPU time a server process used, whole and by thread name (Linux `/proc`): what tells a
//! storm's DuckDB thread from the request path.

use crate::BenchResult;

/// CPU seconds (user + system) of process `pid`, and of its threads named `thread` (Linux
/// truncates thread names to 15 bytes; `thread` is matched as a prefix of the full name).
pub fn seconds(pid: u32, thread: &str) -> BenchResult<(f64, f64)> {
    let tick = ticks_per_second()?;
    let mut named = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let dir = task?.path();
        // A thread that ended meanwhile: its time is in the process's total.
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue;
        };
        if thread.starts_with(comm.trim_end()) {
            named += ticks(&stat)?;
        }
    }
    // Read after the threads: a running thread's ticks grow while the others are read, and the
    // whole must not be older than its parts.
    let total = ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat"))?)?;
    Ok((total as f64 / tick, named as f64 / tick))
}

/// `utime + stime` of a `/proc/.../stat` line. The name in parentheses may hold spaces, so
/// fields are counted after its closing parenthesis: `utime` and `stime` are the 12th and 13th.
fn ticks(stat: &str) -> BenchResult<u64> {
    let after = stat.rsplit_once(')').ok_or("no ) in stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field =
        |i: usize| -> BenchResult<u64> { Ok(fields.get(i).ok_or("short stat line")?.parse()?) };
    Ok(field(11)? + field(12)?)
}

fn ticks_per_second() -> BenchResult<f64> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()?;
    Ok(String::from_utf8(out.stdout)?.trim().parse()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_read_past_a_name_with_spaces() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(ticks(stat).unwrap(), 325);
    }

    #[test]
    fn a_named_thread_s_time_is_counted_apart() {
        let busy = std::thread::Builder::new()
            .name("cpu-probe-thread-long-name".into())
            .spawn(|| {
                let start = std::time::Instant::now();
                let mut x = 0u64;
                while start.elapsed() < std::time::Duration::from_millis(300) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                let (total, named) =
                    seconds(std::process::id(), "cpu-probe-thread-long-name").unwrap();
                (total, named)
            })
            .unwrap();
        let (total, named) = busy.join().unwrap();
        // The process's and the thread's ticks are accounted apart: one tick (10 ms) of slack.
        assert!(named >= 0.1 && total + 0.011 >= named, "{total} {named}");
    }
}
