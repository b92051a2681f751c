//! Statements: their lifecycle (SUBMITTED → PICKED → STARTED → FINISHED | FAILED | ABORTED), run on their own
//! thread over their own DuckDB connection (a session's statements share the session's connection, so its
//! temporary tables live as long as the session, as in Redshift).
//!
//! It is one file of some 830 lines because a statement's lifecycle, its batch's transaction and cancellation
//! are one state machine over the same slots. What a statement does lives elsewhere: translation in
//! `translate`, COPY in `copy`, catalog lookups in `catalog`, privileges in `access`, and the wording of errors
//! in `wording`; what stays here of privileges is the cached catalog snapshot and sign-ins, since their
//! invalidation follows the same runs and transactions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use duckdb::Connection;

use super::access::{self, DbUser};
use super::catalog::create_like;
use super::concurrency::{Concurrency, Isolation, Refusal};
use super::copy;
use super::lex::lex;
use super::results::{QueryResult, from_batches};
use super::translate::{Kind, Plan, plan, public_is_main, render_with_params};
use super::wording::{SERIALIZATION_CONFLICT, StatementError, redshift_error};

/// Most statements not yet finished at once (the Data API's quota).
pub(crate) const MAX_ACTIVE: usize = 500;
/// Most statements remembered (with their results) for Describe/GetStatementResult; the oldest finished ones
/// are forgotten first, so a long-running stand-in keeps flat memory (the service keeps them 24 hours).
const MAX_REMEMBERED: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Submitted,
    Picked,
    Started,
    Finished,
    Failed,
    Aborted,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Picked => "PICKED",
            Self::Started => "STARTED",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Aborted => "ABORTED",
        }
    }
    pub(crate) fn done(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Aborted)
    }
}

/// One statement of a batch, or the only one.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) id: String,
    pub(crate) sql: String,
    pub(crate) status: Status,
    pub(crate) error: Option<String>,
    pub(crate) created: f64,
    pub(crate) updated: f64,
    pub(crate) duration_ns: i64,
    pub(crate) has_result_set: bool,
    pub(crate) result_rows: i64,
    pub(crate) result: Option<Arc<QueryResult>>,
    pub(crate) query_id: i64,
}

/// A statement as DescribeStatement shows it.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) id: String,
    pub(crate) batch: bool,
    pub(crate) parts: Vec<Part>,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) status: Status,
    pub(crate) error: Option<String>,
    pub(crate) created: f64,
    pub(crate) updated: f64,
    pub(crate) duration_ns: i64,
    pub(crate) database: String,
    pub(crate) workgroup: Option<String>,
    pub(crate) cluster: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) statement_name: Option<String>,
    pub(crate) pid: i64,
    /// The database user the statement runs as.
    pub(crate) user: DbUser,
}

/// How long a cancel keeps interrupting a statement that has not stopped yet.
const CANCEL_PERSISTENCE: Duration = Duration::from_secs(60);

struct Slot {
    record: Mutex<Record>,
    cancel: AtomicBool,
    interrupt: Mutex<Option<Arc<duckdb::InterruptHandle>>>,
}

struct Session {
    conn: Mutex<Connection>,
    /// The database user that opened it; only its statements may use it.
    user: DbUser,
    keep_alive: Duration,
    last_used: Mutex<Instant>,
}

/// Where COPY reads from.
#[derive(Debug, Clone)]
pub(crate) struct S3Source {
    pub(crate) client: aws_sdk_s3::Client,
    pub(crate) runtime: tokio::runtime::Handle,
}

pub(crate) struct Engine {
    /// When set, each statement's DuckDB profile (JSON, with the rows each scan read) is written here as
    /// `<query id>.json`: the stand-in's EXPLAIN ANALYZE, for benchmarks (see `LocalRedshiftConfig`).
    pub(crate) profile_dir: Option<std::path::PathBuf>,
    root: Mutex<Connection>,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    order: Mutex<Vec<String>>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    tokens: Mutex<HashMap<String, String>>,
    active: AtomicUsize,
    query_ids: AtomicI64,
    ids: AtomicU64,
    s3: Option<S3Source>,
    /// Simulated steps of the asynchronous lifecycle, so clients see SUBMITTED and STARTED as in Redshift.
    step_delay: Duration,
    /// Largest result set a statement may return (the Data API fails larger ones).
    max_result_bytes: u64,
    /// Sign-ins already recorded (user, tag roles): a sign-in costs DuckDB queries, and the same identity signs
    /// in on every call. Forgotten whenever a privilege statement runs (a role created or dropped changes
    /// which tag roles apply).
    signed_in: Mutex<std::collections::HashSet<(String, Vec<String>)>>,
    /// Bumped by every statement that may change the privilege catalog (and again when its run ends), and by
    /// every recorded sign-in: a cached [`access::Catalog`] of an older generation is stale.
    generation: AtomicU64,
    /// The committed catalog, read through a connection of its own, and its generation: most statements are
    /// checked against it instead of reading the catalog again (a DuckDB query is the stand-in's main cost).
    catalog_cache: Mutex<Option<(u64, Arc<access::Catalog>)>>,
    /// Injected failures, and how many of each were injected so far.
    faults: super::RedshiftFaults,
    /// The IAM roles COPY may use.
    roles: copy::NamespaceRoles,
    conflicts_injected: AtomicUsize,
    copy_failures_injected: AtomicUsize,
    /// Table locks, the isolation level and what the serializable check needs of each transaction.
    concurrency: Concurrency,
}

/// A statement that makes DuckDB's transaction take its snapshot of the main database at once (DuckDB takes it
/// lazily, at a transaction's first read of the database): a batch's snapshot is then taken where Redshift
/// takes it, at its first statement that is not a LOCK.
const TAKE_SNAPSHOT: &str = "SELECT 1 FROM s3shift_acl.roles LIMIT 0";

/// Whether a statement is a LOCK, which takes no snapshot ("Isolation levels in Amazon Redshift" lists the
/// statements that do).
fn is_lock(sql: &str) -> bool {
    let t = sql.trim_start();
    t.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("lock"))
        && t[4..].chars().next().is_none_or(char::is_whitespace)
}

/// Ends an owner's transaction record and releases its locks when dropped: whatever way a batch ends.
struct EndOnDrop<'a> {
    concurrency: &'a Concurrency,
    owner: &'a str,
}

impl Drop for EndOnDrop<'_> {
    fn drop(&mut self) {
        self.concurrency.end(self.owner);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The next step for a file DuckDB 1.5.6 cannot read: a DuckDB reads the files of its own and older storage
/// versions only (the page DuckDB's error names, https://duckdb.org/internals/storage).
const NEWER_FILE: &str = "\nThis s3shift runs DuckDB 1.5.6; s3shift builds before 2026-12-02 ran DuckDB 2.0, whose \
    files 1.5.6 cannot read. Start over in another folder, or copy the tables across: `EXPORT DATABASE 'dir'` in \
    DuckDB 2.0's client, then `IMPORT DATABASE 'dir'` in 1.5.6's.";

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open(
        path: &std::path::Path,
        s3: Option<S3Source>,
        step_delay: Duration,
        max_result_bytes: u64,
        faults: super::RedshiftFaults,
        roles: copy::NamespaceRoles,
        isolation: Isolation,
    ) -> Result<Self, String> {
        let conn = Connection::open(path).map_err(|e| {
            let mut message = e.to_string();
            if message.contains("newer version of DuckDB") {
                message.push_str(NEWER_FILE);
            }
            message
        })?;
        conn.execute_batch(super::catalog::SETUP)
            .and_then(|()| conn.execute_batch(access::SETUP))
            .map_err(|e| format!("preparing it: {e}"))?;
        super::zones::register(&conn).map_err(|e| format!("registering AT TIME ZONE: {e}"))?;
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Ok(Self {
            profile_dir: None,
            root: Mutex::new(conn),
            slots: Mutex::new(HashMap::new()),
            order: Mutex::new(Vec::new()),
            sessions: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            active: AtomicUsize::new(0),
            query_ids: AtomicI64::new(1000),
            ids: AtomicU64::new(seed),
            s3,
            step_delay,
            max_result_bytes,
            signed_in: Mutex::new(std::collections::HashSet::new()),
            generation: AtomicU64::new(0),
            catalog_cache: Mutex::new(None),
            faults,
            roles,
            conflicts_injected: AtomicUsize::new(0),
            copy_failures_injected: AtomicUsize::new(0),
            concurrency: Concurrency::new(isolation),
        })
    }

    /// Whether the next DescribeStatement is to fail (an injected fault).
    pub(crate) fn fail_describe(&self) -> bool {
        self.faults.describe_failures.take()
    }

    fn connection(&self) -> Result<Connection, StatementError> {
        lock(&self.root).try_clone().map_err(StatementError::Connection)
    }

    pub(crate) fn new_id(&self) -> String {
        let mut x = self.ids.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let y = x ^ (x >> 31);
        let z = y.rotate_left(17).wrapping_mul(0x2545_F491_4F6C_DD1D);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            y >> 32,
            (y >> 16) & 0xFFFF,
            y & 0xFFF,
            0x8000 | (z >> 48) & 0x3FFF,
            z & 0xFFFF_FFFF_FFFF
        )
    }

    /// The id earlier given for this client token, if any (idempotent retries).
    pub(crate) fn by_token(&self, token: &str) -> Option<String> {
        lock(&self.tokens).get(token).cloned()
    }

    /// Creates or finds a session; `None` keep-alive with no id means no session.
    pub(crate) fn session_for(
        &self,
        id: Option<&str>,
        keep_alive: Option<u64>,
        user: &DbUser,
    ) -> Result<Option<String>, String> {
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| lock(&s.last_used).elapsed() <= s.keep_alive);
        if let Some(id) = id {
            let s = sessions
                .get(id)
                .filter(|s| s.user == *user)
                .ok_or_else(|| format!("Session {id} does not exist or has expired"))?;
            *lock(&s.last_used) = Instant::now();
            return Ok(Some(id.to_owned()));
        }
        let Some(secs) = keep_alive.filter(|s| *s > 0) else {
            return Ok(None);
        };
        let id = self.new_id();
        let conn = self.connection().map_err(|e| e.to_string())?;
        sessions.insert(
            id.clone(),
            Arc::new(Session {
                conn: Mutex::new(conn),
                user: user.clone(),
                keep_alive: Duration::from_secs(secs),
                last_used: Mutex::new(Instant::now()),
            }),
        );
        Ok(Some(id))
    }

    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Registers a statement and starts it; returns at once (status SUBMITTED).
    pub(crate) fn submit(
        self: &Arc<Self>,
        mut record: Record,
        token: Option<String>,
    ) -> Result<String, String> {
        if self.active() >= MAX_ACTIVE {
            return Err(format!(
                "Active statements exceeded the allowed quota ({MAX_ACTIVE})."
            ));
        }
        // A client token is looked up and recorded under one lock: two requests with the same token, even at
        // the same moment, run one statement ("ClientToken: A unique, case-sensitive identifier that you provide
        // to ensure the idempotency of the request", BatchExecuteStatement).
        let mut tokens = lock(&self.tokens);
        if let Some(id) = token.as_ref().and_then(|t| tokens.get(t)) {
            return Ok(id.clone());
        }
        let id = record.id.clone();
        if let Some(t) = token {
            tokens.insert(t, id.clone());
        }
        drop(tokens);
        let created = now();
        record.created = created;
        record.updated = created;
        record.pid = 1_073_000_000 + (self.query_ids.load(Ordering::Relaxed) % 100_000);
        for (n, p) in record.parts.iter_mut().enumerate() {
            p.id = if record.batch {
                format!("{id}:{}", n + 1)
            } else {
                id.clone()
            };
            p.created = created;
            p.updated = created;
        }
        let slot = Arc::new(Slot {
            record: Mutex::new(record),
            cancel: AtomicBool::new(false),
            interrupt: Mutex::new(None),
        });
        lock(&self.slots).insert(id.clone(), slot.clone());
        self.forget_oldest();
        lock(&self.order).push(id.clone());
        self.active.fetch_add(1, Ordering::Relaxed);
        let engine = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("statement-{}", &id[..8]))
            .spawn(move || {
                engine.run(&slot);
                engine.active.fetch_sub(1, Ordering::Relaxed);
            })
            .map_err(|e| format!("cannot start the statement: {e}"))?;
        Ok(id)
    }

    fn forget_oldest(&self) {
        let mut order = lock(&self.order);
        if order.len() < MAX_REMEMBERED {
            return;
        }
        let mut slots = lock(&self.slots);
        let excess = order.len() + 1 - MAX_REMEMBERED;
        let mut removed = 0;
        order.retain(|id| {
            if removed >= excess {
                return true;
            }
            let done = slots.get(id).is_none_or(|s| lock(&s.record).status.done());
            if done {
                slots.remove(id);
                removed += 1;
            }
            !done
        });
        lock(&self.tokens).retain(|_, id| slots.contains_key(id));
    }

    /// The statement (or, for `<id>:<n>`, the batch holding that sub-statement).
    pub(crate) fn get(&self, id: &str) -> Option<Record> {
        let base = id.split(':').next().unwrap_or(id);
        lock(&self.slots).get(base).map(|s| lock(&s.record).clone())
    }

    /// The statement ids, newest first.
    pub(crate) fn ids_newest_first(&self) -> Vec<String> {
        lock(&self.order).iter().rev().cloned().collect()
    }

    /// Cancels a running statement; `Ok(false)` when it had already finished.
    pub(crate) fn cancel(&self, id: &str) -> Option<bool> {
        let slot = lock(&self.slots).get(id).cloned()?;
        if lock(&slot.record).status.done() {
            return Some(false);
        }
        slot.cancel.store(true, Ordering::SeqCst);
        // DuckDB clears a connection's interrupt when a query starts, so an interrupt that lands between
        // `Started` and the query's first step would be lost and the statement would run on. Keep
        // interrupting until the statement is done (bounded, in case it never checks).
        std::thread::spawn(move || {
            let deadline = Instant::now() + CANCEL_PERSISTENCE;
            while !lock(&slot.record).status.done() && Instant::now() < deadline {
                if let Some(h) = lock(&slot.interrupt).as_ref() {
                    h.interrupt();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Some(true)
    }

    fn set_status(slot: &Slot, status: Status) {
        let mut r = lock(&slot.record);
        if !r.status.done() {
            r.status = status;
            r.updated = now();
        }
    }

    fn run(&self, slot: &Slot) {
        std::thread::sleep(self.step_delay);
        if slot.cancel.load(Ordering::SeqCst) {
            return self.finish_aborted(slot, 0);
        }
        Self::set_status(slot, Status::Picked);
        let (session_id, parts, params, batch, database, user, id) = {
            let r = lock(&slot.record);
            (
                r.session_id.clone(),
                r.parts.clone(),
                r.params.clone(),
                r.batch,
                r.database.clone(),
                r.user.clone(),
                r.id.clone(),
            )
        };
        // Who holds the locks and the transaction: the session, for statements in one, else the statement.
        let owner = session_id.clone().unwrap_or(id);
        let session = session_id
            .as_ref()
            .and_then(|s| lock(&self.sessions).get(s).cloned());
        let own;
        let session_guard;
        let conn: &Connection = match &session {
            Some(s) => {
                session_guard = lock(&s.conn);
                *lock(&s.last_used) = Instant::now();
                &session_guard
            }
            None => match self.connection() {
                Ok(c) => {
                    own = c;
                    &own
                }
                Err(e) => return self.finish(slot, Err(e), 0),
            },
        };
        *lock(&slot.interrupt) = Some(conn.interrupt_handle());
        std::thread::sleep(self.step_delay);
        Self::set_status(slot, Status::Started);
        let started = Instant::now();
        let changed = std::cell::Cell::new(false);
        // Whatever the run's end (commit, rollback, failure), a change it made is now visible or gone.
        let _bump = Bump {
            changed: &changed,
            generation: &self.generation,
        };
        let cx = Context {
            database: &database,
            user: &user,
            own_catalog: session.is_some(),
            changed: &changed,
            owner: &owner,
        };
        if batch {
            // A batch is one transaction, begun at its first statement that takes a snapshot: the LOCKs before
            // it wait for their tables first, so its snapshot holds what their holders committed.
            let _end = EndOnDrop {
                concurrency: &self.concurrency,
                owner: &owner,
            };
            self.concurrency.begin(&owner);
            let mut begun = false;
            for (n, part) in parts.iter().enumerate() {
                if slot.cancel.load(Ordering::SeqCst) {
                    if begun {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    return self.finish_aborted(slot, n);
                }
                if !begun && !is_lock(&part.sql) {
                    let snapshot = self.concurrency.snapshot(&owner, || {
                        conn.execute_batch("BEGIN TRANSACTION")
                            .and_then(|()| conn.execute_batch(TAKE_SNAPSHOT))
                    });
                    if let Err(e) = snapshot {
                        self.record_part(slot, n, Err(e.into()), Duration::ZERO);
                        return self.finish_batch(slot, n, started.elapsed(), false);
                    }
                    begun = true;
                }
                let t0 = Instant::now();
                let outcome = self.run_one(conn, &part.sql, &params, &cx, slot, true);
                let failed = outcome.is_err();
                self.record_part(slot, n, outcome, t0.elapsed());
                if failed {
                    if begun {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    let aborted = slot.cancel.load(Ordering::SeqCst);
                    return self.finish_batch(slot, n, started.elapsed(), aborted);
                }
            }
            if !begun {
                // Only LOCKs: nothing to commit; the locks go with the batch.
                return self.finish_batch(slot, parts.len(), started.elapsed(), false);
            }
            let copies = parts.iter().any(|p| {
                p.sql
                    .trim_start()
                    .get(..4)
                    .is_some_and(|w| w.eq_ignore_ascii_case("copy"))
            });
            if copies && Self::inject(&self.conflicts_injected, self.faults.load_conflicts) {
                let _ = conn.execute_batch("ROLLBACK");
                let mut r = lock(&slot.record);
                r.status = Status::Failed;
                r.error = Some(SERIALIZATION_CONFLICT.to_owned());
                r.updated = now();
                return;
            }
            if copies && !self.faults.copy_commit_delay.is_zero() {
                std::thread::sleep(self.faults.copy_commit_delay);
            }
            let committed = self.concurrency.commit(&owner, || {
                conn.execute_batch("COMMIT")
                    .map_err(|e| redshift_error(&e.to_string()))
            });
            if let Err(refusal) = committed {
                if matches!(refusal, Refusal::Conflict { .. }) {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                let mut r = lock(&slot.record);
                r.status = Status::Failed;
                r.error = Some(StatementError::Refused(refusal).to_string());
                r.updated = now();
                return;
            }
            self.finish_batch(slot, parts.len(), started.elapsed(), false);
        } else {
            let Some(part) = parts.first() else { return };
            let outcome = self.run_one(conn, &part.sql, &params, &cx, slot, false);
            // A lock taken outside a transaction block ends with its statement ("This command is only meaningful
            // when it is run inside a transaction block", LOCK).
            if session.is_none() || !self.concurrency.in_transaction(&owner) {
                self.concurrency.end(&owner);
            }
            self.record_part(slot, 0, outcome, started.elapsed());
            let aborted = slot.cancel.load(Ordering::SeqCst);
            let mut r = lock(&slot.record);
            let p = r.parts[0].clone();
            r.status = if aborted && p.status == Status::Failed {
                Status::Aborted
            } else {
                p.status
            };
            r.error = p.error;
            r.duration_ns = p.duration_ns;
            r.updated = now();
        }
    }

    /// Writes a statement's outcome into its record: here a failure becomes the text clients read.
    fn record_part(&self, slot: &Slot, n: usize, outcome: Result<Outcome, StatementError>, took: Duration) {
        let mut r = lock(&slot.record);
        let p = &mut r.parts[n];
        p.duration_ns = i64::try_from(took.as_nanos()).unwrap_or(i64::MAX);
        p.updated = now();
        match outcome {
            Ok(o) => {
                p.status = Status::Finished;
                p.has_result_set = o.result.is_some();
                p.result_rows = o.rows;
                p.result = o.result.map(Arc::new);
                p.query_id = o.query_id;
            }
            Err(e) => {
                p.status = Status::Failed;
                p.error = Some(e.to_string());
            }
        }
    }

    fn finish_batch(&self, slot: &Slot, stopped_at: usize, took: Duration, aborted: bool) {
        let mut r = lock(&slot.record);
        let failed = r
            .parts
            .get(stopped_at)
            .filter(|p| p.status == Status::Failed)
            .map(|p| p.error.clone());
        for p in r
            .parts
            .iter_mut()
            .skip(stopped_at + usize::from(failed.is_some()))
        {
            p.status = Status::Aborted;
            p.updated = now();
        }
        if let Some(err) = failed {
            // One failure rolls back the whole batch: statements that ran are undone too.
            r.status = if aborted { Status::Aborted } else { Status::Failed };
            r.error = err;
        } else if stopped_at < r.parts.len() {
            r.status = Status::Aborted;
        } else {
            r.status = Status::Finished;
        }
        r.duration_ns = i64::try_from(took.as_nanos()).unwrap_or(i64::MAX);
        r.updated = now();
    }

    fn finish_aborted(&self, slot: &Slot, from: usize) {
        let mut r = lock(&slot.record);
        for p in r.parts.iter_mut().skip(from) {
            p.status = Status::Aborted;
        }
        r.status = Status::Aborted;
        r.updated = now();
    }

    fn finish(&self, slot: &Slot, outcome: Result<(), StatementError>, _n: usize) {
        let mut r = lock(&slot.record);
        if let Err(e) = outcome {
            r.status = Status::Failed;
            r.error = Some(e.to_string());
        }
        r.updated = now();
    }

    /// Runs one statement on `conn` as `cx.user`: its privilege functions answered, its privileges checked,
    /// and what it created or dropped recorded in the privilege catalog.
    fn run_one(
        &self,
        conn: &Connection,
        sql: &str,
        params: &[(String, String)],
        cx: &Context<'_>,
        slot: &Slot,
        in_batch: bool,
    ) -> Result<Outcome, StatementError> {
        let query_id = self.query_ids.fetch_add(1, Ordering::Relaxed);
        let toks = public_is_main(lex(sql)?);
        let temporary_drop = access::drops_temporary(conn, &toks)?;
        if !temporary_drop && access::changes_catalog(&toks) {
            cx.changed.set(true);
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        // A LOCK is checked against the committed catalog: reading the session's own would take the snapshot
        // of its transaction before the lock is granted.
        let own = (cx.own_catalog || cx.changed.get()) && !is_lock(sql);
        let toks =
            access::answer_privilege_functions(|| self.catalog(conn, own), cx.user, cx.database, toks)?;
        let planned = plan(&render_with_params(&toks))?;
        if let Plan::Acl(statement) = &planned {
            access::run_acl(conn, cx.user, statement, cx.database)?;
            lock(&self.signed_in).clear();
            return Ok(Outcome {
                rows: 0,
                result: None,
                query_id,
            });
        }
        if let Plan::SetIsolation(level) = &planned {
            if !cx.user.superuser {
                return Err(StatementError::NotDatabaseOwner(cx.database.to_owned()));
            }
            self.concurrency.set_isolation(*level);
            return Ok(Outcome {
                rows: 0,
                result: None,
                query_id,
            });
        }
        let effects = if temporary_drop {
            Vec::new()
        } else {
            access::authorize(|| self.catalog(conn, own), cx.user, &toks, cx.database)?
        };
        match &planned {
            Plan::Lock(names) => {
                self.lock_tables(conn, names, cx.owner, slot)?;
                return Ok(Outcome {
                    rows: 0,
                    result: None,
                    query_id,
                });
            }
            Plan::Begin if !in_batch => self.concurrency.begin(cx.owner),
            Plan::Commit if !in_batch => {
                let committed = self.concurrency.commit(cx.owner, || {
                    conn.execute_batch("COMMIT")
                        .map_err(|e| redshift_error(&e.to_string()))
                });
                self.concurrency.end(cx.owner);
                if let Err(refusal) = committed {
                    if matches!(refusal, Refusal::Conflict { .. }) {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    return Err(refusal.into());
                }
                return Ok(Outcome {
                    rows: 0,
                    result: None,
                    query_id,
                });
            }
            Plan::Sql { .. } | Plan::Copy(_) | Plan::CreateLike { .. } | Plan::AddColumn { .. } => {
                let catalog = self.catalog(conn, own)?;
                // ALTER TABLE takes the table's AccessExclusiveLock (see `concurrency`); every statement waits
                // for the exclusive locks of others on what it touches, and holds those tables until it ends.
                if let Plan::AddColumn { table, .. } = &planned {
                    self.lock_tables(conn, std::slice::from_ref(table), cx.owner, slot)?;
                }
                let (reads, writes) = access::touched(&catalog, &toks)?;
                let touched: Vec<String> = reads.iter().chain(&writes).cloned().collect();
                self.concurrency.enter(cx.owner, &touched, &slot.cancel)?;
                if self.concurrency.isolation() == Isolation::Serializable {
                    self.concurrency.touch(cx.owner, reads, writes);
                }
            }
            _ => {}
        }
        if let Plan::Copy(spec) = &planned {
            self.may_assume(conn, own, cx.user, &spec.role)?;
        }
        let rollback = matches!(planned, Plan::Rollback) && !in_batch;
        let profiled = self.profile(conn, query_id, true);
        let outcome = self
            .run_planned(conn, planned, params, cx.database, slot, in_batch, query_id)
            .map_err(|e| StatementError::In {
                sql: sql.to_owned(),
                error: Box::new(e),
            });
        if profiled {
            self.profile(conn, query_id, false);
        }
        let outcome = outcome?;
        if rollback {
            self.concurrency.end(cx.owner);
        }
        access::record(conn, cx.user, &effects)?;
        Ok(outcome)
    }

    /// Whether `user` may use COPY's role: GRANT, "Usage notes for granting the ASSUMEROLE permission" (see
    /// `access`), refused in that page's words.
    fn may_assume(
        &self,
        conn: &Connection,
        own: bool,
        user: &access::DbUser,
        role: &copy::CopyRole,
    ) -> Result<(), StatementError> {
        let (key, arn) = match role {
            copy::CopyRole::Credentials => return Ok(()),
            copy::CopyRole::Default => (
                "default",
                self.roles.default.clone().unwrap_or_else(|| "default".to_owned()),
            ),
            copy::CopyRole::Arn(arn) => (arn.as_str(), arn.clone()),
        };
        if self.catalog(conn, own)?.may_assume(user, key, "copy") {
            return Ok(());
        }
        Err(StatementError::AssumeRole {
            user: user.name.clone(),
            arn,
        })
    }

    /// Turns DuckDB's profiling on (writing statement `query_id`'s profile to the profile folder) or off; `false`
    /// when no folder is set or the pragma failed (profiling never fails a statement).
    fn profile(&self, conn: &Connection, query_id: i64, on: bool) -> bool {
        let Some(dir) = &self.profile_dir else {
            return false;
        };
        let sql = if on {
            let path = dir.join(format!("{query_id:010}.json"));
            format!(
                "PRAGMA enable_profiling = 'json'; PRAGMA profiling_output = '{}'",
                path.display().to_string().replace('\'', "''")
            )
        } else {
            "PRAGMA disable_profiling".to_owned()
        };
        conn.execute_batch(&sql).is_ok()
    }

    /// Takes the tables of a LOCK for `owner`, waiting for their holders (see `concurrency`). Temporary tables
    /// are the session's own: nothing to wait for.
    fn lock_tables(
        &self,
        conn: &Connection,
        names: &[Vec<String>],
        owner: &str,
        slot: &Slot,
    ) -> Result<(), StatementError> {
        let catalog = self.catalog(conn, false)?;
        let mut tables = Vec::new();
        for name in names {
            match catalog.resolve(name) {
                Some((schema, _)) if schema.is_empty() => {}
                Some((schema, table)) => tables.push(format!("{schema}.{table}")),
                None => {
                    return Err(StatementError::NoRelation(name.join(".")));
                }
            }
        }
        Ok(self.concurrency.lock(owner, &tables, &slot.cancel)?)
    }

    /// Records a user's sign-in (see [`access::sign_in`]); sign-ins are serialised on the root connection.
    pub(crate) fn sign_in(&self, user: &DbUser, tag_roles: &[String]) -> Result<(), String> {
        let key = (user.name.clone(), tag_roles.to_vec());
        if lock(&self.signed_in).contains(&key) {
            return Ok(());
        }
        let conn = lock(&self.root);
        access::sign_in(&conn, user, tag_roles)?;
        self.generation.fetch_add(1, Ordering::SeqCst);
        lock(&self.signed_in).insert(key);
        Ok(())
    }

    /// Whether to inject one more of a fault allowed `limit` times (counted in `done`).
    fn inject(done: &AtomicUsize, limit: usize) -> bool {
        done.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < limit).then_some(n + 1)
        })
        .is_ok()
    }

    /// The catalog a statement is checked against: read through its own connection when its run changed the
    /// catalog or runs in a session (it must see its own uncommitted changes), else the cached committed one.
    fn catalog(&self, conn: &Connection, own: bool) -> Result<Arc<access::Catalog>, access::AclError> {
        if own {
            return access::Catalog::load(conn).map(Arc::new);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some((g, c)) = lock(&self.catalog_cache).as_ref()
            && *g == generation
        {
            return Ok(c.clone());
        }
        let fresh = self
            .connection()
            .map_err(|e| access::AclError::Engine(e.to_string()))?;
        let c = Arc::new(access::Catalog::load(&fresh)?);
        *lock(&self.catalog_cache) = Some((generation, c.clone()));
        Ok(c)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_planned(
        &self,
        conn: &Connection,
        planned: Plan,
        params: &[(String, String)],
        database: &str,
        slot: &Slot,
        in_batch: bool,
        query_id: i64,
    ) -> Result<Outcome, StatementError> {
        let done = |rows: i64, result: Option<QueryResult>| {
            Ok(Outcome {
                rows,
                result,
                query_id,
            })
        };
        match planned {
            // A batch is already one transaction: its own BEGIN/END are accepted and change nothing.
            Plan::Begin | Plan::Commit if in_batch => done(0, None),
            Plan::Rollback if in_batch => Err(StatementError::RollbackInBatch),
            Plan::Begin => conn
                .execute_batch("BEGIN TRANSACTION")
                .map_err(StatementError::from)
                .and(done(0, None)),
            Plan::Commit => conn
                .execute_batch("COMMIT")
                .map_err(StatementError::from)
                .and(done(0, None)),
            Plan::Rollback => conn
                .execute_batch("ROLLBACK")
                .map_err(StatementError::from)
                .and(done(0, None)),
            Plan::NoOp => done(0, None),
            // `run_one` runs privilege statements, locks and the isolation level itself.
            Plan::Acl(_) | Plan::Lock(_) | Plan::SetIsolation(_) => done(0, None),
            Plan::CreateLike {
                temp,
                if_not_exists,
                name,
                source,
            } => {
                create_like(conn, temp, if_not_exists, &name, &source)?;
                done(0, None)
            }
            Plan::AddColumn { table, column } => {
                super::catalog::add_column(conn, &table, &column)?;
                done(0, None)
            }
            Plan::Copy(spec) => {
                self.roles.assume(&spec.role)?;
                if Self::inject(&self.copy_failures_injected, self.faults.copy_read_failures) {
                    return Err(StatementError::Copy(copy::CopyError::S3 {
                        url: spec.from.clone(),
                        message: "Please reduce your request rate.".into(),
                        status: Some(503),
                        code: "SlowDown".into(),
                    }));
                }
                let cx = copy::load::CopyContext {
                    conn,
                    log: self.connection().ok(),
                    s3: self.s3.as_ref(),
                    cancel: &slot.cancel,
                    query_id,
                    database,
                };
                let rows = copy::load::run_copy(&cx, &spec)?;
                done(i64::try_from(rows).unwrap_or(i64::MAX), None)
            }
            Plan::Sql {
                sql,
                kind,
                params: names,
            } => {
                super::catalog::check_view_replacement(conn, &sql)?;
                let mut stmt = conn.prepare(&sql)?;
                let mut bound: Vec<(String, String)> = Vec::new();
                for name in &names {
                    let value = params
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| StatementError::NoParameter(name.clone()))?;
                    if !bound.iter().any(|(n, _)| n == name) {
                        bound.push((name.clone(), value));
                    }
                }
                let named: Vec<(&str, &dyn duckdb::ToSql)> = bound
                    .iter()
                    .map(|(n, v)| (n.as_str(), v as &dyn duckdb::ToSql))
                    .collect();
                let arrow = stmt.query_arrow(named.as_slice())?;
                let schema = arrow.get_schema();
                let batches: Vec<_> = arrow.collect();
                match kind {
                    Kind::Rows => {
                        // DuckDB's HUGEINT (its SUM of integers) arrives as DECIMAL(38,0); Redshift's SUM of
                        // SMALLINT, INTEGER or BIGINT is BIGINT ("SUM function"). One DESCRIBE tells them apart,
                        // only when such a column is there.
                        let wide = arrow::datatypes::DataType::Decimal128(38, 0);
                        let (schema, batches) = if schema.fields().iter().any(|f| f.data_type() == &wide) {
                            let hugeints = hugeint_columns(conn, &sql, named.as_slice());
                            super::results::narrow_hugeints(&schema, batches, &hugeints)?
                        } else {
                            (schema, batches)
                        };
                        let result = from_batches(&schema, &batches)?;
                        if u64::try_from(result.bytes).unwrap_or(0) > self.max_result_bytes {
                            return Err(StatementError::TooLarge {
                                bytes: result.bytes,
                                limit: self.max_result_bytes,
                            });
                        }
                        done(result.rows.len() as i64, Some(result))
                    }
                    Kind::Count => {
                        let count = batches
                            .first()
                            .filter(|b| b.num_columns() > 0 && b.num_rows() > 0)
                            .and_then(|b| {
                                arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Int64).ok()
                            })
                            .and_then(|c| {
                                c.as_any()
                                    .downcast_ref::<arrow::array::Int64Array>()
                                    .map(|a| a.value(0))
                            })
                            .unwrap_or(0);
                        done(count, None)
                    }
                    Kind::Nothing => done(0, None),
                }
            }
        }
    }
}

/// Bumps the catalog generation when dropped, if the run changed the catalog.
struct Bump<'a> {
    changed: &'a std::cell::Cell<bool>,
    generation: &'a AtomicU64,
}

impl Drop for Bump<'_> {
    fn drop(&mut self) {
        if self.changed.get() {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Who runs a statement, and where.
struct Context<'a> {
    database: &'a str,
    user: &'a DbUser,
    /// The statement runs in a session: its checks read the catalog through the session's connection.
    own_catalog: bool,
    /// Set once a statement of the run (the batch, or the single statement) may have changed the catalog.
    changed: &'a std::cell::Cell<bool>,
    /// The owner of the statement's locks and transaction: its session, or itself.
    owner: &'a str,
}

/// What one statement produced.
struct Outcome {
    rows: i64,
    result: Option<QueryResult>,
    query_id: i64,
}

/// The result columns of `sql` that DuckDB types HUGEINT (none when DESCRIBE cannot say).
fn hugeint_columns(conn: &Connection, sql: &str, params: &[(&str, &dyn duckdb::ToSql)]) -> Vec<usize> {
    let Ok(mut stmt) = conn.prepare(&format!("DESCRIBE {sql}")) else {
        return Vec::new();
    };
    let Ok(rows) = stmt.query_map(params, |r| r.get::<_, String>(1)) else {
        return Vec::new();
    };
    rows.filter_map(Result::ok)
        .enumerate()
        .filter(|(_, ty)| ty == "HUGEINT")
        .map(|(i, _)| i)
        .collect()
}
