//! Named points between the steps of a multi-step command (the rotations)
//! where a test may SIGKILL the process (`CLAWPROV_TEST_KILL_AFTER=<point>`),
//! to prove that a re-run after a kill -9 at each of them finishes the job.
//! A real kill at a real point: nothing is cleaned up, no destructor runs.

/// The environment variable naming the point to die at.
pub const ENV: &str = "CLAWPROV_TEST_KILL_AFTER";

/// Die here (SIGKILL to ourselves) when the test asked for `point`.
pub fn after(point: &str) {
    if std::env::var(ENV).is_ok_and(|p| p == point) {
        // SAFETY: kill(2) with our own pid; no memory is touched.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
