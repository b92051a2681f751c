//! What Redshift does between concurrent transactions that DuckDB does not do by itself: table locks (`LOCK`)
//! and the SERIALIZABLE isolation level's refusal of a transaction that cannot be put in a serial order with
//! those that committed while it ran.
//!
//! DuckDB provides the rest, as Redshift does it under either level: each transaction reads the database as of
//! its snapshot, and of two transactions that write the same row the second fails (error 1023 in Redshift's
//! words, see `wording`). Under SNAPSHOT, Redshift's default for Serverless ("Isolation levels in Amazon
//! Redshift"), that is all: "concurrent modifications to different rows in the same table would complete
//! successfully" (What's New, May 2022, "Amazon Redshift launches new Snapshot Isolation level support for
//! concurrent transactions"). Under SERIALIZABLE, "If no serial execution of those transactions can produce the
//! same results, the transaction that runs a statement that might break the ability to serialize is stopped and
//! rolled back" (Isolation levels in Amazon Redshift).
//!
//! # Locks
//! Redshift locks tables, never rows, in three modes ("How do I find and resolve table locks in Amazon Redshift?"):
//! AccessExclusiveLock, "acquired primarily during DDL operations, such as ALTER TABLE, DROP, or TRUNCATE", blocks
//! every other lock; AccessShareLock (reads) and ShareRowExclusiveLock (writes) block AccessExclusiveLock. "The LOCK
//! command obtains a table-level lock in ACCESS EXCLUSIVE mode, waiting if necessary for any conflicting locks to
//! be released ... The lock is released when the transaction that contains the LOCK command completes" (LOCK).
//!
//! Modelled here: the exclusive locks of LOCK and of `ALTER TABLE ... ADD COLUMN`, and the shared holds every
//! statement takes on the tables it reads or writes, kept until its transaction ends (its statement, outside a
//! transaction). A statement waits while a table it touches is another owner's exclusively; an exclusive lock
//! waits until no other owner holds or touches its tables. An owner is a batch's statement id, or a session's id
//! for statements in a session. All tables of one LOCK statement are taken together or not at all. A wait that
//! would close a cycle (each waiting for the other) is refused as a deadlock instead of hanging, as PostgreSQL,
//! whose lock manager Redshift's descends from, does: "Write and read/write operations" describes such deadlocks
//! between transactions that write tables in different orders; the pages do not say which transaction Redshift
//! stops, so the one that closes the cycle is. Not modelled: that writers of one table (ShareRowExclusiveLock)
//! queue behind each other; under snapshot isolation their snapshots make them see each other as they would here.
//!
//! # Serializable
//! Each transaction records the tables it read and wrote. At commit, under SERIALIZABLE, it is refused when a
//! transaction that committed after its snapshot wrote a table it read while reading a table it writes: each
//! would have to come before the other. This catches every two-transaction cycle on a table, the conflict two
//! overlapping loads make; cycles through three or more transactions are not detected (more lenient than
//! Redshift, which the pages do not detail).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A database's isolation level ("CREATE DATABASE" / "ALTER DATABASE ... ISOLATION LEVEL").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Redshift Serverless's default.
    #[default]
    Snapshot,
    /// Refuses a transaction that cannot be serialized with those that committed while it ran.
    Serializable,
}

impl Isolation {
    /// The level as `STV_DB_ISOLATION_LEVEL` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "Snapshot Isolation",
            Self::Serializable => "Serializable",
        }
    }
}

/// Why a lock or a commit was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The statement was cancelled while it waited for a lock.
    Cancelled,
    /// Committing would break serializability: `table` was written by a transaction that committed meanwhile.
    Conflict {
        /// A table of the cycle.
        table: String,
    },
    /// The commit itself failed (DuckDB's error).
    Failed(String),
    /// Waiting for `table` would wait for an owner that (through others) waits for this one.
    Deadlock {
        /// The table waited for.
        table: String,
    },
}

/// Most committed transactions remembered for the serializable check (older ones can only conflict with a
/// transaction that has been open since, which this bound then misses).
const REMEMBERED: usize = 4096;

#[derive(Debug, Default)]
struct Txn {
    /// The commit sequence number the transaction's snapshot saw; `None` until its first statement that takes
    /// one (LOCK does not).
    snapshot: Option<u64>,
    reads: BTreeSet<String>,
    writes: BTreeSet<String>,
}

#[derive(Debug)]
struct Committed {
    seq: u64,
    reads: BTreeSet<String>,
    writes: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Txns {
    open: HashMap<String, Txn>,
    committed: VecDeque<Committed>,
    seq: u64,
}

/// Who holds which table, and who waits for whom.
#[derive(Debug, Default)]
struct Locks {
    /// Exclusively locked table (`schema.table`) → its owner.
    exclusive: HashMap<String, String>,
    /// Owner → the tables its statements read or wrote since its transaction began (shared holds).
    shared: HashMap<String, BTreeSet<String>>,
    /// Owner → the owners it is waiting for.
    waiting: HashMap<String, BTreeSet<String>>,
}

impl Locks {
    /// The other owners that keep `owner` from touching `table` (its exclusive holder), or also from locking it
    /// exclusively (every other owner that touched it).
    fn blockers(&self, owner: &str, table: &str, exclusive: bool) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if let Some(o) = self.exclusive.get(table)
            && o != owner
        {
            out.insert(o.clone());
        }
        if exclusive {
            for (o, tables) in &self.shared {
                if o != owner && tables.contains(table) {
                    out.insert(o.clone());
                }
            }
        }
        out
    }

    /// Whether any of `from` waits, directly or through others, for `owner`.
    fn waits_for(&self, from: &BTreeSet<String>, owner: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut next: Vec<&String> = from.iter().collect();
        while let Some(o) = next.pop() {
            if o == owner {
                return true;
            }
            if seen.insert(o.clone())
                && let Some(w) = self.waiting.get(o)
            {
                next.extend(w.iter());
            }
        }
        false
    }
}

/// Table locks and transaction records for one database.
#[derive(Debug, Default)]
pub(crate) struct Concurrency {
    isolation: Mutex<Isolation>,
    locks: Mutex<Locks>,
    freed: Condvar,
    txns: Mutex<Txns>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Concurrency {
    pub(crate) fn new(isolation: Isolation) -> Self {
        Self {
            isolation: Mutex::new(isolation),
            ..Self::default()
        }
    }

    pub(crate) fn isolation(&self) -> Isolation {
        *guard(&self.isolation)
    }

    pub(crate) fn set_isolation(&self, isolation: Isolation) {
        *guard(&self.isolation) = isolation;
    }

    /// Takes every table of `tables` exclusively for `owner` (LOCK, ALTER TABLE), waiting while another owner
    /// holds or touches any of them; gives up when `cancel` turns true, or when waiting would deadlock.
    pub(crate) fn lock(&self, owner: &str, tables: &[String], cancel: &AtomicBool) -> Result<(), Refusal> {
        self.wait_until(owner, tables, true, cancel, |locks| {
            for t in tables {
                locks.exclusive.insert(t.clone(), owner.to_owned());
            }
        })
    }

    /// Records that `owner` reads or writes `tables` (a shared hold until its transaction ends), first waiting
    /// while another owner locks any of them exclusively.
    pub(crate) fn enter(&self, owner: &str, tables: &[String], cancel: &AtomicBool) -> Result<(), Refusal> {
        self.wait_until(owner, tables, false, cancel, |locks| {
            locks
                .shared
                .entry(owner.to_owned())
                .or_default()
                .extend(tables.iter().cloned());
        })
    }

    fn wait_until(
        &self,
        owner: &str,
        tables: &[String],
        exclusive: bool,
        cancel: &AtomicBool,
        take: impl FnOnce(&mut Locks),
    ) -> Result<(), Refusal> {
        let mut held = guard(&self.locks);
        loop {
            if cancel.load(Ordering::SeqCst) {
                held.waiting.remove(owner);
                return Err(Refusal::Cancelled);
            }
            let blocked = tables.iter().find_map(|t| {
                let by = held.blockers(owner, t, exclusive);
                (!by.is_empty()).then(|| (t.clone(), by))
            });
            let Some((table, by)) = blocked else {
                held.waiting.remove(owner);
                take(&mut held);
                return Ok(());
            };
            if held.waits_for(&by, owner) {
                held.waiting.remove(owner);
                return Err(Refusal::Deadlock { table });
            }
            held.waiting.insert(owner.to_owned(), by);
            held = self
                .freed
                .wait_timeout(held, Duration::from_millis(10))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Releases every lock and hold of `owner` and forgets its open transaction, if any.
    pub(crate) fn end(&self, owner: &str) {
        guard(&self.txns).open.remove(owner);
        let mut held = guard(&self.locks);
        held.exclusive.retain(|_, o| o != owner);
        held.shared.remove(owner);
        held.waiting.remove(owner);
        self.freed.notify_all();
    }

    /// Whether `owner` holds a lock on `table`.
    #[cfg(test)]
    pub(crate) fn holds(&self, owner: &str, table: &str) -> bool {
        guard(&self.locks)
            .exclusive
            .get(table)
            .is_some_and(|o| o == owner)
    }

    /// Whether `owner` has a transaction open (a session between BEGIN and COMMIT or ROLLBACK, a running batch).
    pub(crate) fn in_transaction(&self, owner: &str) -> bool {
        guard(&self.txns).open.contains_key(owner)
    }

    /// Opens a transaction for `owner` (replacing one left open).
    pub(crate) fn begin(&self, owner: &str) {
        guard(&self.txns).open.insert(owner.to_owned(), Txn::default());
    }

    /// Takes `owner`'s snapshot with `take` (DuckDB's) and records which commits it holds; no commit can come
    /// between the two.
    pub(crate) fn snapshot<R>(&self, owner: &str, take: impl FnOnce() -> R) -> R {
        let mut txns = guard(&self.txns);
        let taken = take();
        let seq = txns.seq;
        if let Some(t) = txns.open.get_mut(owner) {
            t.snapshot.get_or_insert(seq);
        }
        taken
    }

    /// Records the tables a statement of `owner`'s transaction read and wrote.
    pub(crate) fn touch(&self, owner: &str, reads: Vec<String>, writes: Vec<String>) {
        let mut txns = guard(&self.txns);
        let seq = txns.seq;
        if let Some(t) = txns.open.get_mut(owner) {
            t.snapshot.get_or_insert(seq);
            t.reads.extend(reads);
            t.writes.extend(writes);
        }
    }

    /// Commits `owner`'s transaction with `write` (DuckDB's COMMIT), unless under SERIALIZABLE a transaction
    /// that committed after its snapshot forms a cycle with it; no snapshot or other commit comes in between.
    /// A refused transaction is forgotten and `write` is not called: the caller rolls it back.
    pub(crate) fn commit(
        &self,
        owner: &str,
        write: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), Refusal> {
        let serializable = self.isolation() == Isolation::Serializable;
        let mut txns = guard(&self.txns);
        let Some(t) = txns.open.remove(owner) else {
            return write().map_err(Refusal::Failed);
        };
        if serializable && let Some(snapshot) = t.snapshot {
            for c in txns.committed.iter().filter(|c| c.seq > snapshot) {
                let they_wrote_what_we_read = c.writes.intersection(&t.reads).next();
                let we_wrote_what_they_read = t.writes.intersection(&c.reads).next();
                if let (Some(table), Some(_)) = (they_wrote_what_we_read, we_wrote_what_they_read) {
                    return Err(Refusal::Conflict { table: table.clone() });
                }
            }
        }
        write().map_err(Refusal::Failed)?;
        if t.writes.is_empty() {
            return Ok(());
        }
        txns.seq += 1;
        let seq = txns.seq;
        txns.committed.push_back(Committed {
            seq,
            reads: t.reads,
            writes: t.writes,
        });
        while txns.committed.len() > REMEMBERED {
            txns.committed.pop_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ok() -> Result<(), String> {
        Ok(())
    }

    fn set(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn two_overlapping_merges_conflict_only_under_serializable() {
        for (level, refused) in [(Isolation::Snapshot, false), (Isolation::Serializable, true)] {
            let c = Concurrency::new(level);
            for who in ["t1", "t2"] {
                c.begin(who);
                c.snapshot(who, || ());
            }
            // Each deletes the identities it stages (reading the table) and inserts them (writing it).
            c.touch("t1", set(&["s.images"]), set(&["s.images"]));
            c.touch("t2", set(&["s.images"]), set(&["s.images"]));
            assert_eq!(c.commit("t1", ok), Ok(()));
            assert_eq!(c.commit("t2", ok).is_err(), refused, "{level:?}");
        }
    }

    #[test]
    fn a_transaction_whose_snapshot_follows_the_commit_does_not_conflict() {
        let c = Concurrency::new(Isolation::Serializable);
        c.begin("t1");
        c.touch("t1", set(&["s.images"]), set(&["s.images"]));
        c.begin("t2"); // waits on a lock: no snapshot yet
        assert_eq!(c.commit("t1", ok), Ok(()));
        c.touch("t2", set(&["s.images"]), set(&["s.images"]));
        assert_eq!(c.commit("t2", ok), Ok(()));
        // Writes to different tables from what the other read: serializable in one order.
        c.begin("a");
        c.begin("b");
        c.touch("a", set(&["s.x"]), set(&["s.y"]));
        c.touch("b", set(&[]), set(&["s.z"]));
        assert_eq!(c.commit("b", ok), Ok(()));
        assert_eq!(c.commit("a", ok), Ok(()));
    }

    #[test]
    fn a_lock_waits_for_its_holder_and_all_tables_are_taken_together() {
        let c = Arc::new(Concurrency::new(Isolation::Snapshot));
        let never = AtomicBool::new(false);
        assert_eq!(c.lock("a", &set(&["s.t", "s.u"]), &never), Ok(()));
        let waiter = {
            let c = c.clone();
            std::thread::spawn(move || {
                let never = AtomicBool::new(false);
                c.lock("b", &set(&["s.u"]), &never)
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "b waits while a holds s.u");
        assert!(c.holds("a", "s.u"));
        c.end("a");
        assert_eq!(waiter.join().ok(), Some(Ok(())));
        assert!(c.holds("b", "s.u"));
        let cancelled = AtomicBool::new(true);
        assert_eq!(c.lock("c", &set(&["s.u"]), &cancelled), Err(Refusal::Cancelled));
    }

    #[test]
    fn an_exclusive_lock_waits_for_readers_and_writers_and_they_wait_for_it() {
        let c = Arc::new(Concurrency::new(Isolation::Snapshot));
        let never = AtomicBool::new(false);
        assert_eq!(c.enter("load", &set(&["s.images"]), &never), Ok(()));
        let alter = {
            let c = c.clone();
            std::thread::spawn(move || c.lock("migrate", &set(&["s.images"]), &AtomicBool::new(false)))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !alter.is_finished(),
            "the ALTER waits while the load's transaction touches the table"
        );
        c.end("load");
        assert_eq!(alter.join().ok(), Some(Ok(())));
        let load = {
            let c = c.clone();
            std::thread::spawn(move || c.enter("load2", &set(&["s.images"]), &AtomicBool::new(false)))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !load.is_finished(),
            "a load waits while the migration holds the table"
        );
        // Another table is free.
        assert_eq!(c.enter("reader", &set(&["s.other"]), &never), Ok(()));
        c.end("migrate");
        assert_eq!(load.join().ok(), Some(Ok(())));
    }

    #[test]
    fn a_wait_that_closes_a_cycle_is_a_deadlock() {
        let c = Arc::new(Concurrency::new(Isolation::Snapshot));
        let never = AtomicBool::new(false);
        assert_eq!(c.lock("a", &set(&["s.x"]), &never), Ok(()));
        assert_eq!(c.enter("b", &set(&["s.y"]), &never), Ok(()));
        // b waits for a's exclusive lock on x ...
        let b = {
            let c = c.clone();
            std::thread::spawn(move || c.enter("b", &set(&["s.x"]), &AtomicBool::new(false)))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!b.is_finished());
        // ... so a's lock on y, which b holds, would wait forever: refused.
        assert_eq!(
            c.lock("a", &set(&["s.y"]), &never),
            Err(Refusal::Deadlock { table: "s.y".into() })
        );
        c.end("a");
        assert_eq!(b.join().ok(), Some(Ok(())));
    }
}
