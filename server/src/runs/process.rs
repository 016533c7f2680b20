//! Process groups, signals and process identity.
//!
//! A run is started as the leader of its own process group, so a stop
//! reaches whatever its user code started too, and a Ctrl-C meant for the
//! server doesn't reach the runs.

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Sends `signal` to the process group `pgid`. A group that is already
/// gone is not an error.
pub fn signal_group(pgid: i32, signal: Signal) -> Result<(), Errno> {
    if pgid <= 1 {
        // Never signal "every process" (-1) or our own group (0).
        return Err(Errno::EINVAL);
    }
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(e),
    }
}

/// True while any process of group `pgid` exists (zombies included).
pub fn group_exists(pgid: i32) -> bool {
    pgid > 1 && killpg(Pid::from_raw(pgid), None) != Err(Errno::ESRCH)
}

/// When process `pid` started, in clock ticks since boot (field 22 of
/// `/proc/<pid>/stat`): with the pid, it names one process, even after the
/// pid is reused.
pub fn start_ticks(pid: i32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 2..];
    // after_name starts at field 3; field 22 is 19 further.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// True when the process `pid` that started at `ticks` still runs.
pub fn same_process_alive(pid: i32, ticks: Option<i64>) -> bool {
    match (start_ticks(pid), ticks) {
        (Some(now), Some(then)) => now == then,
        // Without a recorded start time the pid alone can't prove anything.
        _ => false,
    }
}

/// A signal's name, for exit reasons.
pub fn signal_name(signal: i32) -> String {
    Signal::try_from(signal).map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_start_time_is_read_and_stable() {
        let me = std::process::id() as i32;
        let t = start_ticks(me).expect("/proc/self/stat");
        assert!(t > 0);
        assert!(same_process_alive(me, Some(t)));
        assert!(!same_process_alive(me, Some(t + 1)), "another start time is another process");
        assert!(!same_process_alive(me, None));
    }

    #[test]
    fn dangerous_groups_are_refused() {
        assert_eq!(signal_group(0, Signal::SIGTERM), Err(Errno::EINVAL));
        assert_eq!(signal_group(1, Signal::SIGTERM), Err(Errno::EINVAL));
        assert!(!group_exists(0));
        assert_eq!(signal_name(9), "SIGKILL");
    }
}
