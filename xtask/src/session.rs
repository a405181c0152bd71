//! What one run of xtask started, stopped on every way out: a normal return, an error, a
//! panic (the [`Session`] guard's `Drop`), and SIGINT/SIGTERM/SIGHUP (a handler thread that
//! also stops the command running at that moment). Servers that were already running before
//! are never touched.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;

use crate::services::{self, Layout, Running, Service};

/// What each live session started and must stop, shared with the signal handler.
static TO_STOP: Mutex<Vec<(u64, Layout, Vec<Service>)>> = Mutex::new(Vec::new());

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Services brought up for a run; those it started are stopped when it is dropped.
#[derive(Debug)]
pub struct Session {
    id: u64,
    running: Vec<Running>,
}

impl Session {
    /// Brings `wanted` up (see [`services::up`]). Unless `keep`, what this starts is stopped
    /// when the session ends, however it ends.
    pub fn up(layout: &Layout, wanted: &[(Service, String)], keep: bool) -> Result<Session> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if keep {
            return Ok(Session { id, running: services::up(layout, wanted)? });
        }
        // Registered before anything starts, and each server the moment it is spawned: a
        // signal while `up` waits for a server to answer stops that server too.
        lock().push((id, layout.clone(), Vec::new()));
        let mut record = |s: Service| {
            if let Some(entry) = lock().iter_mut().find(|(i, _, _)| *i == id) {
                entry.2.push(s);
            }
        };
        match services::up_with(layout, wanted, &mut record) {
            Ok(running) => Ok(Session { id, running }),
            Err(e) => {
                // `up` stops what it started when it fails; stopping the record again makes
                // sure, and leaves nothing for the drop.
                stop(|i| i == id);
                Err(e)
            }
        }
    }

    /// The services, with their URLs.
    pub fn running(&self) -> &[Running] {
        &self.running
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        stop(|id| id == self.id);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<(u64, Layout, Vec<Service>)>> {
    TO_STOP.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Stops what the chosen sessions started, once (whoever comes first: the guard or a signal).
/// The registry stays locked until the servers are down, so a signal handler arriving in the
/// middle waits for the main thread's stop instead of exiting under it (a signal also ends the
/// running command, which ends the main thread's session).
fn stop(chosen: impl Fn(u64) -> bool) {
    let mut all = lock();
    let (taken, rest): (Vec<_>, Vec<_>) =
        std::mem::take(&mut *all).into_iter().partition(|(id, _, _)| chosen(*id));
    *all = rest;
    for (_, layout, started) in taken {
        if let Err(e) = services::down(&layout, &started) {
            eprintln!("xtask: stopping services failed: {e:#}");
        }
    }
}

/// Handles SIGINT, SIGTERM and SIGHUP for the rest of the process: the running command (see
/// [`crate::cmd::run`]) and the session's services are stopped, then xtask exits with
/// 128 + the signal number.
pub fn install_signal_handlers() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            eprintln!("xtask: signal {sig}: stopping the running command and the services this run started");
            crate::cmd::stop_running_command();
            stop(|_| true);
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}
