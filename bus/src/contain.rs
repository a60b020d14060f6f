//! Containing a panic to the record that caused it.
//!
//! A stage that panics on one record and is restarted reads that record
//! again and panics again, forever, and nothing behind it is processed. Each
//! stage runs its work on a record through [`contain`] (or, for async work,
//! [`contain_async`]) and sends a record whose work panicked to `deadletter`
//! with the cause, then goes on with the next.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

/// What a panic said, for a log line and a deadletter reason.
pub fn panic_cause(payload: &(dyn Any + Send)) -> String {
    let cause = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("panic: {cause}")
}

fn contained(stage: &str, payload: &(dyn Any + Send)) -> String {
    let cause = panic_cause(payload);
    tracing::error!(stage, cause = %cause, "a record made the stage panic; it goes to deadletter");
    metrics::counter!("kentongan_stage_panics_total", "stage" => stage.to_owned()).increment(1);
    cause
}

/// Runs `f`; a panic in it becomes `Err(cause)`, logged and counted for `stage`.
pub fn contain<T>(stage: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| contained(stage, &*p))
}

/// [`contain`] for a future.
pub async fn contain_async<T>(stage: &str, f: impl Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(f).catch_unwind().await.map_err(|p| contained(stage, &*p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_cause() {
        assert_eq!(contain("t", || 7), Ok(7));
        let n = 3;
        assert_eq!(contain("t", || -> i32 { panic!("bad {n}") }), Err("panic: bad 3".to_owned()));
        assert_eq!(contain("t", || -> i32 { panic!("static") }), Err("panic: static".to_owned()));
    }

    #[tokio::test]
    async fn an_async_panic_becomes_its_cause() {
        let r: Result<(), String> = contain_async("t", async { panic!("later") }).await;
        assert_eq!(r, Err("panic: later".to_owned()));
    }
}
