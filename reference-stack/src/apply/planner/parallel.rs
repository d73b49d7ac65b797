//! When and how the planner's two walks over the users run side by side.

/// Snapshots with at least this many users are walked on two threads: below it, a
/// thread costs more than it saves.
pub(super) const PARALLEL_USERS: usize = 20_000;

/// Runs `a` and `b`, `a` on a thread of its own when `parallel` (and the system gives
/// one). The results do not depend on which.
pub(crate) fn both<A: Send, B>(
    parallel: bool,
    a: impl Fn() -> A + Sync,
    b: impl FnOnce() -> B,
) -> (A, B) {
    if !parallel {
        return (a(), b());
    }
    std::thread::scope(|scope| {
        if let Ok(handle) = std::thread::Builder::new().spawn_scoped(scope, &a) {
            let b = b();
            return match handle.join() {
                Ok(a) => (a, b),
                Err(panic) => std::panic::resume_unwind(panic),
            };
        }
        (a(), b())
    })
}
