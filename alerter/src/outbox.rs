//! The outbox: every notification that must go out, written to disk before
//! any attempt and kept until it is sent or has failed for good.
//!
//! Each entry is keyed by `alert/channel/recipient` (an escalation's with
//! `/eskalasi` after it), so an alert seen twice (a redelivery, a restart)
//! never queues a second copy, and one that was sent is not sent again. The outbox decides nothing: it hands what it remembers
//! to the policy ([`crate::policy`]) and stores what that decided.

use std::path::Path;
use std::sync::Arc;

use bus::reopen::ReopeningDb;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use time::OffsetDateTime;

use model::Alert;
use uuid::Uuid;

use crate::Error;
use crate::policy::{Decision, Entry, History, Inhibitor, Plan, Status, Timer};
use crate::templates::Child;

/// Entries still to send; the sender scans only these.
const PENDING: TableDefinition<&str, &[u8]> = TableDefinition::new("pending");
/// Entries sent or given up, kept as the record of what happened.
const DONE: TableDefinition<&str, &[u8]> = TableDefinition::new("done");
/// Alerts waiting to be acknowledged before they escalate, in the order
/// they fall due: `<due, unix seconds, 20 digits>/<alert id>` → timer.
const TIMERS: TableDefinition<&str, &[u8]> = TableDefinition::new("timers_by_due");
/// Where each alert's timer is in `TIMERS`: alert id → its key there.
const TIMER_KEYS: TableDefinition<&str, &str> = TableDefinition::new("timer_keys");

fn timer_key(timer: &Timer) -> String {
    format!("{:020}/{}", timer.due.unix_timestamp().max(0), timer.alert.id)
}
/// Alerts acknowledged or escalated as far as they go: no timer again.
const CLOSED: TableDefinition<&str, &[u8]> = TableDefinition::new("closed");
/// When each alert series (`indicator/region`) last had each level notified:
/// `series#level` → unix seconds.
const LAST: TableDefinition<&str, i64> = TableDefinition::new("last_notified");
/// Open awas alerts at province level, which hold back their regions'
/// waspada alerts: alert id → `province#unix seconds raised`.
const INHIBITORS: TableDefinition<&str, &str> = TableDefinition::new("inhibitors");
/// Every alert raised, as a parent's notification lists it among its
/// children: alert id → [`Child`].
const RAISED: TableDefinition<&str, &[u8]> = TableDefinition::new("raised");

/// The outbox database (`data_dir/outbox.redb`).
#[derive(Clone)]
pub struct Outbox {
    /// Opened again after an I/O error (a full disk), so the alerter goes on
    /// once there is room, without a restart.
    db: Arc<ReopeningDb>,
    path: String,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbox({})", self.path)
    }
}

/// A time stored as Unix seconds.
fn unix(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Outbox {
    /// Runs `f` on the outbox on a blocking thread, off the async ones. A
    /// panic in `f` goes on to the caller, which may contain it (see
    /// `bus::contain`).
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Outbox) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let outbox = self.clone();
        match tokio::task::spawn_blocking(move || f(&outbox)).await {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Error::Task { task: "outbox", reason: e.to_string() }),
        }
    }

    pub fn open(path: &Path) -> Result<Self, Error> {
        let err = |e: &dyn std::fmt::Display| Error::Outbox { path: path.display().to_string(), reason: e.to_string() };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        }
        let db = ReopeningDb::open(path, |txn| {
            txn.open_table(PENDING)?;
            txn.open_table(DONE)?;
            txn.open_table(TIMERS)?;
            txn.open_table(TIMER_KEYS)?;
            txn.open_table(CLOSED)?;
            txn.open_table(LAST)?;
            txn.open_table(INHIBITORS)?;
            txn.open_table(RAISED)?;
            Ok(())
        })
        .map_err(|e| err(&e))?;
        Ok(Self { db: Arc::new(db), path: path.display().to_string() })
    }

    /// Whether the outbox can be used, for `/readyz`; after an I/O error,
    /// this also tries to open it again. Blocks.
    pub fn ready(&self) -> Result<(), String> {
        self.db.get().map(drop)
    }

    /// The database, or why it cannot be used now.
    fn db(&self) -> Result<Arc<Database>, Error> {
        self.db.get().map_err(|reason| Error::Outbox { path: self.path.clone(), reason })
    }

    /// A database error; an I/O error closes the database until it can be
    /// opened again.
    fn err(&self, e: impl Into<redb::Error>) -> Error {
        let e = self.db.check::<(), _>(Err(e)).err().map_or_else(String::new, |e| e.to_string());
        Error::Outbox { path: self.path.clone(), reason: e }
    }

    fn bad(&self, e: serde_json::Error) -> Error {
        Error::Outbox { path: self.path.clone(), reason: e.to_string() }
    }

    /// Adds the entries whose keys are new, in one durable transaction;
    /// returns how many were new.
    pub fn enqueue(&self, entries: &[Entry]) -> Result<usize, Error> {
        let txn = self.db()?.begin_write().map_err(|e| self.err(e))?;
        let mut added = 0;
        {
            let mut pending = txn.open_table(PENDING).map_err(|e| self.err(e))?;
            let done = txn.open_table(DONE).map_err(|e| self.err(e))?;
            for entry in entries {
                let key = entry.key.as_str();
                if pending.get(key).map_err(|e| self.err(e))?.is_some()
                    || done.get(key).map_err(|e| self.err(e))?.is_some()
                {
                    continue;
                }
                let bytes = serde_json::to_vec(entry).map_err(|e| self.bad(e))?;
                pending.insert(key, bytes.as_slice()).map_err(|e| self.err(e))?;
                added += 1;
            }
        }
        txn.commit().map_err(|e| self.err(e))?;
        Ok(added)
    }

    /// Records an attempt: a pending entry stays pending, a sent or failed
    /// one moves to the record of what is done.
    pub fn update(&self, entry: &Entry) -> Result<(), Error> {
        let txn = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            let bytes = serde_json::to_vec(entry).map_err(|e| self.bad(e))?;
            let mut pending = txn.open_table(PENDING).map_err(|e| self.err(e))?;
            if entry.status == Status::Pending {
                pending.insert(entry.key.as_str(), bytes.as_slice()).map_err(|e| self.err(e))?;
            } else {
                pending.remove(entry.key.as_str()).map_err(|e| self.err(e))?;
                let mut done = txn.open_table(DONE).map_err(|e| self.err(e))?;
                done.insert(entry.key.as_str(), bytes.as_slice()).map_err(|e| self.err(e))?;
            }
        }
        txn.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The entries of `table` whose keys start with `prefix` (all for "").
    fn read(&self, table: TableDefinition<&str, &[u8]>, prefix: &str) -> Result<Vec<Entry>, Error> {
        let txn = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(table).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in table.range(prefix..).map_err(|e| self.err(e))? {
            let (key, value) = row.map_err(|e| self.err(e))?;
            if !key.value().starts_with(prefix) {
                break;
            }
            match serde_json::from_slice::<Entry>(value.value()) {
                Ok(entry) => out.push(entry),
                Err(e) => tracing::error!(path = %self.path, error = %e, "unreadable outbox entry"),
            }
        }
        Ok(out)
    }

    /// Every entry, pending ones first.
    pub fn entries(&self) -> Result<Vec<Entry>, Error> {
        self.entries_of("")
    }

    /// The entries of the alert whose id starts `prefix` (keys are
    /// `alert/channel/recipient`), pending ones first.
    pub fn entries_of(&self, prefix: &str) -> Result<Vec<Entry>, Error> {
        let mut all = self.read(PENDING, prefix)?;
        all.extend(self.read(DONE, prefix)?);
        Ok(all)
    }

    /// Takes a raised alert in, in one durable transaction: reads what bears
    /// on `plan` ([`History`]), has `decide` decide, and stores the decision.
    pub fn admit(&self, plan: &Plan, decide: impl FnOnce(&History) -> Decision) -> Result<Decision, Error> {
        let alert = &plan.alert;
        let series = format!("{}#{}", alert.key, alert.level);
        let id = alert.id.to_string();
        let txn = self.db()?.begin_write().map_err(|e| self.err(e))?;
        let decision = {
            let mut pending = txn.open_table(PENDING).map_err(|e| self.err(e))?;
            let mut done = txn.open_table(DONE).map_err(|e| self.err(e))?;
            let mut last = txn.open_table(LAST).map_err(|e| self.err(e))?;
            let mut inhibitors = txn.open_table(INHIBITORS).map_err(|e| self.err(e))?;
            let mut timers = txn.open_table(TIMERS).map_err(|e| self.err(e))?;
            let mut timer_keys = txn.open_table(TIMER_KEYS).map_err(|e| self.err(e))?;
            let mut closed = txn.open_table(CLOSED).map_err(|e| self.err(e))?;

            let mut history = History::default();
            for entry in &plan.entries {
                let key = entry.key.as_str();
                if pending.get(key).map_err(|e| self.err(e))?.is_some()
                    || done.get(key).map_err(|e| self.err(e))?.is_some()
                {
                    history.known.insert(entry.key.clone());
                }
            }
            history.last_notified = last.get(series.as_str()).map_err(|e| self.err(e))?.map(|t| unix(t.value()));
            for row in inhibitors.iter().map_err(|e| self.err(e))? {
                let (key, value) = row.map_err(|e| self.err(e))?;
                let (province, at) = value.value().split_once('#').unwrap_or_default();
                history.inhibitors.push(Inhibitor {
                    alert: key.value().to_owned(),
                    province: province.to_owned(),
                    raised_at: unix(at.parse().unwrap_or(0)),
                });
            }
            for row in pending.iter().map_err(|e| self.err(e))? {
                let (_, value) = row.map_err(|e| self.err(e))?;
                if let Ok(entry) = serde_json::from_slice::<Entry>(value.value())
                    && entry.alert.key == alert.key
                {
                    history.waiting.push(entry);
                }
            }
            history.closed = closed.get(id.as_str()).map_err(|e| self.err(e))?.is_some();

            let decision = decide(&history);

            for entry in &decision.grouped {
                let bytes = serde_json::to_vec(entry).map_err(|e| self.bad(e))?;
                pending.remove(entry.key.as_str()).map_err(|e| self.err(e))?;
                done.insert(entry.key.as_str(), bytes.as_slice()).map_err(|e| self.err(e))?;
            }
            for old in &decision.close_timers {
                if let Some(key) = timer_keys.remove(old.as_str()).map_err(|e| self.err(e))? {
                    timers.remove(key.value()).map_err(|e| self.err(e))?;
                }
                closed.insert(old.as_str(), &[][..]).map_err(|e| self.err(e))?;
            }
            for entry in &decision.queue {
                let bytes = serde_json::to_vec(entry).map_err(|e| self.bad(e))?;
                pending.insert(entry.key.as_str(), bytes.as_slice()).map_err(|e| self.err(e))?;
            }
            if let Some(timer) = &decision.timer {
                let bytes = serde_json::to_vec(timer).map_err(|e| self.bad(e))?;
                let key = timer_key(timer);
                timers.insert(key.as_str(), bytes.as_slice()).map_err(|e| self.err(e))?;
                timer_keys.insert(id.as_str(), key.as_str()).map_err(|e| self.err(e))?;
            }
            if let Some(at) = decision.notified_at {
                last.insert(series.as_str(), at.unix_timestamp()).map_err(|e| self.err(e))?;
            }
            if let Some(inhibitor) = &decision.inhibitor {
                let value = format!("{}#{}", inhibitor.province, inhibitor.raised_at.unix_timestamp());
                inhibitors.insert(inhibitor.alert.as_str(), value.as_str()).map_err(|e| self.err(e))?;
            }
            decision
        };
        txn.commit().map_err(|e| self.err(e))?;
        Ok(decision)
    }

    /// Keeps where and how high `alert` was raised, for the notifications
    /// of a parent alert that names it among its children later.
    pub fn remember(&self, alert: &Alert) -> Result<(), Error> {
        let txn = self.db()?.begin_write().map_err(|e| self.err(e))?;
        let child = Child { region: alert.region.clone(), level: alert.level };
        let bytes = serde_json::to_vec(&child).map_err(|e| self.bad(e))?;
        let id = alert.id.to_string();
        txn.open_table(RAISED)
            .map_err(|e| self.err(e))?
            .insert(id.as_str(), bytes.as_slice())
            .map_err(|e| self.err(e))?;
        txn.commit().map_err(|e| self.err(e))
    }

    /// The child alerts `ids` this outbox has seen raised, by region.
    pub fn children(&self, ids: &[Uuid]) -> Result<Vec<Child>, Error> {
        let txn = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(RAISED).map_err(|e| self.err(e))?;
        let mut children: Vec<Child> = Vec::new();
        for id in ids {
            if let Some(value) = table.get(id.to_string().as_str()).map_err(|e| self.err(e))? {
                children.push(serde_json::from_slice(value.value()).map_err(|e| self.bad(e))?);
            }
        }
        children.sort_by(|a, b| a.region.cmp(&b.region));
        Ok(children)
    }

    /// An alert resolved: it holds nothing back any more.
    pub fn resolved(&self, id: &str) -> Result<(), Error> {
        let txn = self.db()?.begin_write().map_err(|e| self.err(e))?;
        txn.open_table(INHIBITORS).map_err(|e| self.err(e))?.remove(id).map_err(|e| self.err(e))?;
        txn.commit().map_err(|e| self.err(e))
    }

    /// Replaces the timer of `timer.alert` (the next step up the chain).
    pub fn reset_timer(&self, timer: &Timer) -> Result<(), Error> {
        let id = timer.alert.id.to_string();
        let txn = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            let bytes = serde_json::to_vec(timer).map_err(|e| self.bad(e))?;
            let mut timers = txn.open_table(TIMERS).map_err(|e| self.err(e))?;
            let mut timer_keys = txn.open_table(TIMER_KEYS).map_err(|e| self.err(e))?;
            if let Some(old) = timer_keys.remove(id.as_str()).map_err(|e| self.err(e))? {
                timers.remove(old.value()).map_err(|e| self.err(e))?;
            }
            let key = timer_key(timer);
            timers.insert(key.as_str(), bytes.as_slice()).map_err(|e| self.err(e))?;
            timer_keys.insert(id.as_str(), key.as_str()).map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Stops the timer of alert `id` for good.
    pub fn close_timer(&self, id: &str) -> Result<(), Error> {
        let txn = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            if let Some(key) =
                txn.open_table(TIMER_KEYS).map_err(|e| self.err(e))?.remove(id).map_err(|e| self.err(e))?
            {
                txn.open_table(TIMERS).map_err(|e| self.err(e))?.remove(key.value()).map_err(|e| self.err(e))?;
            }
            txn.open_table(CLOSED).map_err(|e| self.err(e))?.insert(id, &[][..]).map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Timers due at `now`, and when the next one after those falls due:
    /// only those are read, in the order they fall due.
    pub fn due_timers(&self, now: OffsetDateTime) -> Result<(Vec<Timer>, Option<OffsetDateTime>), Error> {
        let txn = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(TIMERS).map_err(|e| self.err(e))?;
        let mut due = Vec::new();
        let mut next = None;
        for row in table.iter().map_err(|e| self.err(e))? {
            let (_, value) = row.map_err(|e| self.err(e))?;
            match serde_json::from_slice::<Timer>(value.value()) {
                Ok(timer) if timer.due <= now => due.push(timer),
                Ok(timer) => {
                    next = Some(timer.due);
                    break;
                }
                Err(e) => tracing::error!(path = %self.path, error = %e, "unreadable escalation timer"),
            }
        }
        Ok((due, next))
    }

    /// Pending entries whose next attempt is due at `now`, and when the
    /// next one after those falls due.
    pub fn due(&self, now: OffsetDateTime) -> Result<(Vec<Entry>, Option<OffsetDateTime>), Error> {
        let pending = self.read(PENDING, "")?;
        metrics::gauge!("kentongan_alerter_outbox_depth").set(pending.len() as f64);
        let next = pending.iter().filter(|e| e.next_attempt > now).map(|e| e.next_attempt).min();
        Ok((pending.into_iter().filter(|e| e.next_attempt <= now).collect(), next))
    }
}

#[cfg(test)]
mod tests {
    use model::{Alert, DeliveryChannel};

    use super::*;

    fn entry(n: usize) -> Entry {
        let alert = Alert::example(OffsetDateTime::UNIX_EPOCH);
        let recipient = format!("piket{n}@example.go.id");
        Entry {
            key: Entry::key_for(&alert, DeliveryChannel::Email, &recipient),
            alert,
            unit: "u".into(),
            unit_name: "Kesbangpol".into(),
            channel: DeliveryChannel::Email,
            recipient,
            status: Status::Pending,
            attempts: 0,
            next_attempt: OffsetDateTime::UNIX_EPOCH,
            last_error: None,
            escalated_from: Vec::new(),
            notified: Vec::new(),
        }
    }

    /// A full disk, then room again: the outbox takes entries again without
    /// a restart, and keeps what it had.
    #[test]
    fn takes_entries_again_once_a_full_disk_has_room() {
        let Some(disk) = bus::testing::SmallDisk::mount("4m") else { return };
        let outbox = Outbox::open(&disk.path().join("outbox.redb")).unwrap();
        assert_eq!(outbox.enqueue(&[entry(0)]).unwrap(), 1);
        disk.fill();
        let failed =
            (1..5000).find_map(|n| outbox.enqueue(&(0..20).map(|i| entry(n * 20 + i)).collect::<Vec<_>>()).err());
        assert!(failed.is_some(), "the full disk was never noticed");
        disk.free();
        std::thread::sleep(bus::reopen::RETRY);
        assert_eq!(outbox.enqueue(&[entry(1_000_000)]).unwrap(), 1);
        let keys: Vec<String> = outbox.due(OffsetDateTime::now_utc()).unwrap().0.into_iter().map(|e| e.key).collect();
        assert!(keys.contains(&entry(0).key) && keys.contains(&entry(1_000_000).key));
    }

    #[test]
    fn keeps_raised_alerts_for_the_chain_of_a_later_parent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        let at = OffsetDateTime::UNIX_EPOCH;
        let region = |code: &str| model::RegionCode::parse(code).unwrap();
        let palu = Alert { id: Uuid::now_v7(), ..Alert::example(at) };
        let donggala = Alert { id: Uuid::now_v7(), region: region("72.03"), level: model::Level::Awas, ..palu.clone() };
        let outbox = Outbox::open(&path).unwrap();
        outbox.remember(&palu).unwrap();
        outbox.remember(&donggala).unwrap();
        drop(outbox);
        // after a restart, by region; one never seen is left out
        let outbox = Outbox::open(&path).unwrap();
        let children = outbox.children(&[palu.id, Uuid::now_v7(), donggala.id]).unwrap();
        assert_eq!(
            children,
            [
                Child { region: region("72.03"), level: model::Level::Awas },
                Child { region: region("72.71"), level: model::Level::Siaga },
            ]
        );
    }
}
