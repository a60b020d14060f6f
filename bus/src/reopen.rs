//! A redb database that is opened again after an I/O error.
//!
//! After a failed write (a full disk, say), redb refuses every later write
//! with "Previous I/O error occurred" until the database is closed and opened
//! again, so one full disk would stop a node until someone restarted it.
//! [`ReopeningDb`] closes the file at the first I/O error and opens it again
//! (redb repairs it if it must) on the first use at least [`RETRY`] later,
//! until the file can be written again. In between, every use fails at once
//! with the cause, which [`ReopeningDb::failure`] tells `/readyz`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redb::{Database, TableDefinition};

/// The shortest time between two attempts to open a failed database again.
pub const RETRY: Duration = Duration::from_secs(1);

/// What a reopened database must be able to write before it is used again:
/// opening works on a full disk, so this shows that there is room again.
const PROBE: TableDefinition<&str, &[u8]> = TableDefinition::new("reopen.probe");
const PROBE_BYTES: usize = 256 * 1024;

/// Makes the tables a database needs (and converts older formats); run at
/// every open, in the write transaction it is given.
pub type Setup = fn(&redb::WriteTransaction) -> Result<(), redb::Error>;

/// A redb database that reopens itself after an I/O error. Share it in an `Arc`.
pub struct ReopeningDb {
    path: PathBuf,
    setup: Setup,
    state: Mutex<State>,
    /// Held by the one caller that is opening the database again.
    reopening: Mutex<()>,
}

struct State {
    /// `None` from a failure until a reopen works.
    db: Option<Arc<Database>>,
    failure: Option<Failure>,
}

struct Failure {
    reason: String,
    /// When the failure happened or the last reopen was tried.
    at: Instant,
}

impl std::fmt::Debug for ReopeningDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReopeningDb({})", self.path.display())
    }
}

impl ReopeningDb {
    /// Opens (or creates) the database at `path` and runs `setup` on it.
    pub fn open(path: &Path, setup: Setup) -> Result<Self, redb::Error> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        setup(&txn)?;
        txn.commit()?;
        Ok(Self {
            path: path.to_owned(),
            setup,
            state: Mutex::new(State { db: Some(Arc::new(db)), failure: None }),
            reopening: Mutex::new(()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The database, opened again first if it failed at least [`RETRY`] ago;
    /// while it cannot be used, why not.
    pub fn get(&self) -> Result<Arc<Database>, String> {
        {
            let state = self.state();
            match (&state.db, &state.failure) {
                (Some(db), None) => return Ok(db.clone()),
                (_, Some(f)) if f.at.elapsed() < RETRY => return Err(f.reason.clone()),
                _ => {}
            }
        }
        // One caller reopens; the others (a readiness probe, say) do not wait for it.
        let Ok(_reopening) = self.reopening.try_lock() else {
            return Err(self.failure().unwrap_or_else(|| "it is being opened again".into()));
        };
        {
            let mut state = self.state();
            if let (Some(db), None) = (&state.db, &state.failure) {
                return Ok(db.clone());
            }
            // Whatever handle is left goes before the file is opened again:
            // redb lets one process open a file once.
            state.db = None;
        }
        let opened = self.reopen();
        let mut state = self.state();
        match opened {
            Ok(db) => {
                tracing::info!(path = %self.path.display(), "database opened again after an I/O error");
                let db = Arc::new(db);
                state.db = Some(db.clone());
                state.failure = None;
                Ok(db)
            }
            Err(reason) => {
                tracing::warn!(path = %self.path.display(), error = %reason, "database still cannot be written");
                state.failure = Some(Failure { reason: reason.clone(), at: Instant::now() });
                Err(reason)
            }
        }
    }

    fn reopen(&self) -> Result<Database, String> {
        let db = Database::create(&self.path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => "a read of the failed database is still under way".into(),
            e => e.to_string(),
        })?;
        let probe = || -> Result<(), redb::Error> {
            let txn = db.begin_write()?;
            (self.setup)(&txn)?;
            txn.open_table(PROBE)?.insert("probe", vec![0u8; PROBE_BYTES].as_slice())?;
            txn.commit()?;
            // the probe's pages stay free in the file for the next writes
            let txn = db.begin_write()?;
            txn.open_table(PROBE)?.remove("probe")?;
            txn.commit()?;
            Ok(())
        };
        probe().map_err(|e| e.to_string())?;
        Ok(db)
    }

    /// Passes `result` on; after an I/O error in it the database is closed,
    /// and opened again on a use at least [`RETRY`] later.
    pub fn check<T, E: Into<redb::Error>>(&self, result: Result<T, E>) -> Result<T, redb::Error> {
        result.map_err(|e| {
            let e = e.into();
            if matches!(e, redb::Error::Io(_) | redb::Error::PreviousIo) {
                let mut state = self.state();
                if state.failure.is_none() {
                    tracing::error!(path = %self.path.display(), error = %e, "database write failed; it will be opened again");
                    state.failure = Some(Failure { reason: e.to_string(), at: Instant::now() });
                }
                state.db = None;
            }
            e
        })
    }

    /// Why the database cannot be used now, if it cannot.
    pub fn failure(&self) -> Option<String> {
        self.state().failure.as_ref().map(|f| f.reason.clone())
    }
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;

    const T: TableDefinition<u64, &[u8]> = TableDefinition::new("t");

    fn setup(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
        txn.open_table(T)?;
        Ok(())
    }

    fn write(db: &ReopeningDb, key: u64, len: usize) -> Result<(), redb::Error> {
        let handle = db.get().map_err(redb::Error::Corrupted)?;
        db.check((|| -> Result<(), redb::Error> {
            let txn = handle.begin_write()?;
            txn.open_table(T)?.insert(key, vec![7u8; len].as_slice())?;
            txn.commit()?;
            Ok(())
        })())
    }

    /// A full disk, then room again: the same handle writes again, without a
    /// restart, and keeps what it had.
    #[test]
    fn writes_again_once_the_disk_has_room() {
        let Some(disk) = crate::testing::SmallDisk::mount("4m") else { return };
        let db = ReopeningDb::open(&disk.path().join("t.redb"), setup).unwrap();
        for i in 0..20 {
            write(&db, i, 1000).unwrap();
        }
        disk.fill();
        let failed = (20..5000).find_map(|i| write(&db, i, 4000).err());
        assert!(matches!(failed, Some(redb::Error::Io(_))), "the full disk was never noticed: {failed:?}");
        assert!(db.failure().unwrap().contains("No space left"), "{:?}", db.failure());
        // still full: a reopen after RETRY fails on the probe, and says why
        std::thread::sleep(RETRY);
        assert!(db.get().is_err());
        assert!(db.failure().is_some());
        disk.free();
        std::thread::sleep(RETRY);
        write(&db, 9999, 10).expect("not writable again after the disk had room");
        assert_eq!(db.failure(), None);
        let handle = db.get().unwrap();
        let txn = handle.begin_read().unwrap();
        let t = txn.open_table(T).unwrap();
        assert!((0..20).all(|i| t.get(i).unwrap().is_some()));
        assert!(t.get(9999).unwrap().is_some());
    }
}
