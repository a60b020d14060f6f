//! Locking an account name out after repeated failed sign-ins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

/// Failed sign-ins before an account is locked, and for how long.
pub const MAX_FAILURES: usize = 5;
pub const LOCKOUT: time::Duration = time::Duration::minutes(15);

/// Names the lockout map holds before it drops those whose failures are old.
const LOCKOUT_SWEEP: usize = 1_000;

/// Failed sign-ins per account name, on this node. A name is forgotten once
/// its failures are older than [`LOCKOUT`], so the map holds only names tried
/// in the last 15 minutes (and those are bounded by the per-address throttle).
#[derive(Debug, Clone, Default)]
pub struct Lockout {
    failures: Arc<Mutex<HashMap<String, Vec<OffsetDateTime>>>>,
}

impl Lockout {
    /// Counts an attempt by `name` at `now` before its password is checked,
    /// so that parallel guesses count too; refuses with the time the lock
    /// ends when `name` has failed too often. A success clears the count.
    pub fn attempt(&self, name: &str, now: OffsetDateTime) -> Result<(), OffsetDateTime> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= LOCKOUT_SWEEP {
            failures.retain(|_, list| list.last().is_some_and(|t| *t > now - LOCKOUT));
        }
        let list = failures.entry(name.to_owned()).or_default();
        list.retain(|t| *t > now - LOCKOUT);
        if list.len() >= MAX_FAILURES {
            return Err(list[list.len() - MAX_FAILURES] + LOCKOUT);
        }
        list.push(now);
        Ok(())
    }

    /// Forgets the failures of `name`, after it signed in.
    pub fn clear(&self, name: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lockout_forgets_names_whose_failures_are_old() {
        let lockout = Lockout::default();
        let start = OffsetDateTime::now_utc();
        for n in 0..5_000 {
            assert!(lockout.attempt(&format!("nama-{n}"), start).is_ok());
        }
        let later = start + LOCKOUT + time::Duration::seconds(1);
        for _ in 0..MAX_FAILURES {
            assert!(lockout.attempt("dewi", later).is_ok());
        }
        assert!(lockout.attempt("dewi", later).is_err(), "still locks");
        let held = lockout.failures.lock().unwrap().len();
        assert!(held < LOCKOUT_SWEEP, "{held} names held");
    }

    #[test]
    fn a_lock_ends_after_the_lockout_and_a_success_clears_it() {
        let lockout = Lockout::default();
        let start = OffsetDateTime::now_utc();
        for _ in 0..MAX_FAILURES {
            assert!(lockout.attempt("dewi", start).is_ok());
        }
        assert_eq!(lockout.attempt("dewi", start + time::Duration::minutes(1)), Err(start + LOCKOUT));
        assert!(lockout.attempt("dewi", start + LOCKOUT + time::Duration::seconds(1)).is_ok());
        lockout.clear("dewi");
        for _ in 0..MAX_FAILURES {
            assert!(lockout.attempt("dewi", start).is_ok());
        }
    }
}
