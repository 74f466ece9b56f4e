//! Starting a pipeline's consumer threads: spawn, pin, and wait until each has its core.

use crate::affinity;
use crate::error::BuildError;
use crate::processor::Failure;
use crate::WaitStrategy;

use super::Pipeline;

/// What a consumer thread runs: its processor's loop.
pub(crate) type ThreadBody = Box<dyn FnOnce() -> Result<(), Failure> + Send>;

impl<W: WaitStrategy> Pipeline<W> {
    /// Spawns each processor thread, pins it, and waits until every pinned thread has reported
    /// that the kernel accepted its core. On any failure the started threads are halted and joined.
    pub(crate) fn start_threads(
        &mut self,
        to_start: Vec<(String, Option<usize>, ThreadBody)>,
        allowed: &[usize],
    ) -> Result<(), BuildError> {
        let (report, reports) = std::sync::mpsc::channel::<Result<(), (String, usize)>>();
        let mut failure = None;
        for (name, core, body) in to_start {
            let report = report.clone();
            let thread_name = name.clone();
            let spawned = std::thread::Builder::new().name(name.clone()).spawn(move || {
                if let Some(core) = core {
                    if !affinity::pin_current_thread(core) {
                        let _ = report.send(Err((thread_name, core)));
                        return Ok(());
                    }
                }
                let _ = report.send(Ok(()));
                drop(report);
                body()
            });
            match spawned {
                Ok(handle) => self.threads.push((name, handle)),
                Err(e) => {
                    failure = Some(BuildError::Spawn {
                        thread: name,
                        reason: e.to_string(),
                    });
                    break;
                }
            }
        }
        drop(report);
        for _ in 0..self.threads.len() {
            match reports.recv() {
                Ok(Ok(())) => {}
                Ok(Err((thread, core))) => {
                    failure.get_or_insert(BuildError::InvalidCore {
                        core,
                        thread,
                        available: allowed.to_vec(),
                    });
                }
                Err(_) => break,
            }
        }
        match failure {
            None => Ok(()),
            Some(error) => {
                let threads = std::mem::take(&mut self.threads);
                self.alert.raise();
                self.wait_strategy.signal_all();
                for (_, thread) in threads {
                    let _ = thread.join();
                }
                Err(error)
            }
        }
    }
}
