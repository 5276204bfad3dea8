//! Copies the SQLite write-ahead log back into the database file on a background thread.
//!
//! Why: with SQLite's default automatic checkpoint (every 1000 WAL pages), the commit that
//! crosses the threshold copies the WAL into the file before it returns — every few ingest
//! batches one commit paid 10-25 ms for it. A PASSIVE checkpoint on its own connection runs
//! beside the writer instead; the writer's automatic checkpoint stays as a high safety net
//! in case this thread falls behind.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the background thread checkpoints.
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// WAL size, in pages, at which a committing writer checkpoints by itself (about 64 MiB of
/// 4 KiB pages): reached only when the background thread cannot keep up.
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// The background checkpoint thread of one database file; stopped by [`Self::stop`] or when
/// dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Starts checkpointing `path` every [`CHECKPOINT_INTERVAL`].
    pub(crate) fn start(path: PathBuf, busy_timeout: Duration) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut conn = None;
                // A message or a dropped sender both mean stop.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL)
                {
                    if conn.is_none() {
                        conn = open(&path, busy_timeout).ok();
                    }
                    // A failed checkpoint is retried on the next tick with a new connection; the
                    // writer's own automatic checkpoint bounds the WAL meanwhile.
                    if let Some(c) = &conn
                        && c.execute_batch("PRAGMA wal_checkpoint(PASSIVE)").is_err()
                    {
                        conn = None;
                    }
                }
            })
            .ok();
        Self {
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(thread),
        }
    }

    /// Stops the thread and waits for it, so the file has no connection of ours left open.
    pub(crate) fn stop(&self) {
        if let Ok(mut stop) = self.stop.lock() {
            stop.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn open(path: &PathBuf, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    Ok(conn)
}
