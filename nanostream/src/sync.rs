//! The one place atomics, `Arc`, cells, locks and spin hints come from.
//!
//! Normal builds use `std` (and `parking_lot` for the blocking wait strategies); builds with
//! `RUSTFLAGS="--cfg loom"` use loom's instrumented versions, so the loom models in `tests/loom_*.rs`
//! explore every interleaving of the real code (the pattern of tokio's `src/loom/mod.rs`).

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicI64, AtomicUsize, Ordering};
    pub(crate) use std::sync::Arc;

    /// Hint to the CPU that we are spinning.
    #[inline(always)]
    pub(crate) fn spin_loop() {
        std::hint::spin_loop();
    }

    /// Give the rest of this time slice to another thread.
    #[inline]
    pub(crate) fn yield_now() {
        std::thread::yield_now();
    }

    /// An `UnsafeCell` with the `with`/`with_mut` interface of loom's, so slot access compiles
    /// under both.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// A mutex with parking_lot's interface.
    pub(crate) type Mutex<T> = parking_lot::Mutex<T>;
    /// The guard of [`Mutex`].
    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    /// A condition variable with parking_lot's interface (`wait(&mut guard)`).
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(parking_lot::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Self(parking_lot::Condvar::new())
        }
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            self.0.wait(guard);
        }
        /// Returns `true` when the wait timed out.
        pub(crate) fn wait_for<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            timeout: std::time::Duration,
        ) -> bool {
            self.0.wait_for(guard, timeout).timed_out()
        }
        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicI64, AtomicUsize, Ordering};
    pub(crate) use loom::sync::Arc;

    pub(crate) fn spin_loop() {
        loom::hint::spin_loop();
    }

    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }

    /// loom's mutex behind parking_lot's interface (no poisoning).
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);
    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
    }

    /// loom's condition variable behind parking_lot's interface.
    #[derive(Debug)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Self(loom::sync::Condvar::new())
        }
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            // loom's `wait` takes the guard by value; swap it through a raw read/write.
            // SAFETY: `guard` is a valid, initialised guard; we move it out, hand it to `wait`,
            // and write the returned guard back before anyone can observe the moved-from slot
            // (`wait` does not unwind under loom except on model failure, which aborts the model).
            unsafe {
                let g = std::ptr::read(guard);
                let g = self.0.wait(g).unwrap();
                std::ptr::write(guard, g);
            }
        }
        /// Returns `true` when the wait timed out (under loom, any wake may count as a timeout).
        pub(crate) fn wait_for<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            timeout: std::time::Duration,
        ) -> bool {
            // SAFETY: as in `wait`.
            unsafe {
                let g = std::ptr::read(guard);
                let (g, res) = self.0.wait_timeout(g, timeout).unwrap();
                std::ptr::write(guard, g);
                res.timed_out()
            }
        }
        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

pub(crate) use imp::*;
