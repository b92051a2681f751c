//! Job schedules: the `cron` crate's expressions in job files, and the EventBridge Scheduler expressions that
//! `deploy/` uses for the same jobs (rendered here so that the two can never disagree).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};

use crate::spec::JobSpec;

/// The EventBridge Scheduler expression (`cron(min hour day-of-month month day-of-week year)`) of a job's
/// schedule.
///
/// # Errors
/// A message naming what EventBridge cannot express: a seconds field other than `0` (EventBridge fires on
/// minutes), or both day-of-month and day-of-week restricted (EventBridge needs one of them to be `?`).
pub fn eventbridge_expression(cron_with_seconds: &str) -> Result<String, String> {
    let fields: Vec<&str> = cron_with_seconds.split_whitespace().collect();
    let (sec, min, hour, dom, month, dow, year) = match fields.as_slice() {
        [s, mi, h, d, mo, w] => (*s, *mi, *h, *d, *mo, *w, "*"),
        [s, mi, h, d, mo, w, y] => (*s, *mi, *h, *d, *mo, *w, *y),
        _ => return Err(format!("{cron_with_seconds:?} does not have 6 or 7 fields")),
    };
    if sec != "0" {
        return Err(format!(
            "seconds field {sec:?}: EventBridge Scheduler fires on whole minutes, use 0"
        ));
    }
    let any = |f: &str| f == "*" || f == "?";
    let (dom, dow) = if any(dow) {
        (dom, "?")
    } else if any(dom) {
        ("?", dow)
    } else {
        return Err(format!(
            "day-of-month {dom:?} and day-of-week {dow:?} are both restricted; EventBridge needs one of them to be ?"
        ));
    };
    Ok(format!("cron({min} {hour} {dom} {month} {dow} {year})"))
}

/// The next `n` times `schedule` (a job's, or its reconciliation scan's) fires after `after`.
pub fn next_fires(schedule: &cron::Schedule, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    schedule.after(&after).take(n).collect()
}

/// The least a job's cadence costs per day in Redshift Serverless compute.
///
/// "Billing for Amazon Redshift Serverless" (Amazon Redshift Management Guide): compute is billed "in RPU hours
/// on a per-second basis" while queries run, nothing while none run; "Amazon Redshift pricing" adds a 60-second
/// minimum charge. Every scheduled run keeps the workgroup busy for at least that minute at its base capacity, so
/// a cadence costs at least `runs per day × 60 s × base RPUs / 3600` RPU-hours a day. It costs more when a run's
/// statements last longer than a minute or make the workgroup scale above its base; two jobs whose statements
/// run in the same minute share one minimum. Multiply by the Region's price per RPU-hour for money.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CadenceCost {
    /// Runs per day, averaged over the next seven days (a weekday-only schedule counts 5/7 of its days).
    pub runs_per_day: f64,
    /// The workgroup's base capacity.
    pub base_rpus: i32,
    /// The floor: `runs_per_day × MINIMUM_BILLED_SECONDS × base_rpus / 3600`.
    pub rpu_hours_per_day: f64,
}

/// The least time a period of Redshift Serverless activity is billed for ("Amazon Redshift pricing").
pub const MINIMUM_BILLED_SECONDS: f64 = 60.0;

/// Runs per day of `schedule`, averaged over the seven days after `from`.
pub fn runs_per_day(schedule: &cron::Schedule, from: DateTime<Utc>) -> f64 {
    let end = from + chrono::Duration::days(7);
    let runs = schedule.after(&from).take_while(|t| *t <= end).count();
    runs as f64 / 7.0
}

/// What `schedule` costs at least per day at `base_rpus` (see [`CadenceCost`]).
pub fn cadence_cost(schedule: &cron::Schedule, from: DateTime<Utc>, base_rpus: i32) -> CadenceCost {
    let runs_per_day = runs_per_day(schedule, from);
    CadenceCost {
        runs_per_day,
        base_rpus,
        rpu_hours_per_day: runs_per_day * MINIMUM_BILLED_SECONDS * f64::from(base_rpus) / 3600.0,
    }
}

/// A job's cadence and what it costs, as `--dry-run` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobCadence {
    /// Runs per day (seven-day average).
    pub runs_per_day: f64,
    /// The floor of the cost at the workgroup's base capacity, or why it is not known (a provisioned cluster,
    /// or GetWorkgroup refused).
    pub cost: Result<CadenceCost, String>,
    /// For a job with an event queue: what its `--follow` service costs when uploads arrive all day.
    pub follower: Option<FollowerCost>,
}

/// The cadence of a job's `--follow` service with uploads arriving all day: a load each `max_latency_seconds`
/// (each a run billed at least [`MINIMUM_BILLED_SECONDS`] at the base capacity), plus the reconciliation scans.
/// An upper bound of the loads (fewer in hours without uploads; `max_batch` filling first only with more than it
/// in one `max_latency_seconds`), and a floor of each one's cost. deploy/README's tables are this arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowerCost {
    /// `source.events.max_latency_seconds`.
    pub max_latency_seconds: u64,
    /// Loads a day with uploads all day: 86,400 / `max_latency_seconds`.
    pub loads_per_day: f64,
    /// Reconciliation scans a day (`reconcile_cron`, seven-day average).
    pub scans_per_day: f64,
    /// The floor at the workgroup's base capacity, RPU-hours a day (none when the base capacity is unknown).
    pub rpu_hours_per_day: Option<f64>,
}

impl FollowerCost {
    /// The days in the month [`FollowerCost::rpu_hours_per_month`] counts (the longest, as deploy/README's
    /// table does).
    pub const MONTH_DAYS: f64 = 31.0;

    /// RPU-hours in a 31-day month.
    pub fn rpu_hours_per_month(&self) -> Option<f64> {
        self.rpu_hours_per_day.map(|d| d * Self::MONTH_DAYS)
    }
}

/// What `spec`'s follower costs (see [`FollowerCost`]); `None` for a job without `[source.events]`.
pub fn follower_cost(spec: &JobSpec, now: DateTime<Utc>, base_rpus: Option<i32>) -> Option<FollowerCost> {
    let events = spec.config.source.events.as_ref()?;
    let latency = events.max_latency_seconds.max(1);
    let loads_per_day = 86_400.0 / latency as f64;
    let scans_per_day = spec.reconcile.as_ref().map_or(0.0, |r| runs_per_day(r, now));
    Some(FollowerCost {
        max_latency_seconds: latency,
        loads_per_day,
        scans_per_day,
        rpu_hours_per_day: base_rpus
            .map(|b| (loads_per_day + scans_per_day) * MINIMUM_BILLED_SECONDS * f64::from(b) / 3600.0),
    })
}

/// The cadence of `spec` and, for a Serverless workgroup, its cost at the base capacity GetWorkgroup reports.
pub async fn job_cadence(
    spec: &JobSpec,
    serverless: &aws_sdk_redshiftserverless::Client,
    now: DateTime<Utc>,
) -> JobCadence {
    let runs = runs_per_day(&spec.schedule, now);
    let cost = match &spec.target {
        s3shift_redshift::Target::Serverless { workgroup } => {
            match s3shift_redshift::serverless::Serverless::new(serverless.clone())
                .workgroup(workgroup)
                .await
            {
                Ok(w) => match w.base_capacity {
                    Some(base) => Ok(cadence_cost(&spec.schedule, now, base)),
                    None => Err(format!("workgroup {workgroup} reports no base capacity")),
                },
                Err(e) => Err(format!("base capacity of workgroup {workgroup} unknown: {e}")),
            }
        }
        s3shift_redshift::Target::Cluster { .. } => {
            Err("a provisioned cluster is billed per node-hour, whatever the cadence".to_owned())
        }
    };
    let base = cost.as_ref().ok().map(|c| c.base_rpus);
    JobCadence {
        runs_per_day: runs,
        follower: follower_cost(spec, now, base),
        cost,
    }
}

/// The time source of the scheduler (a fake one in tests).
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
    /// Resolves at `t` (at once if `t` has passed).
    fn sleep_until(&self, t: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, t: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let wait = (t - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// Starts one run of the named job for the given tick (for a catch-up run, the time it was started); the
/// future ends when the run does.
pub type Runner =
    Arc<dyn Fn(String, DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// One scheduled job.
#[derive(Debug, Clone)]
pub struct Scheduled {
    /// Job name.
    pub name: String,
    /// Its schedule.
    pub schedule: cron::Schedule,
}

/// Runs `jobs` on their schedules until `stop` turns true, then waits for the runs in progress (which see the
/// same flag and drain) up to `stop_timeout`.
///
/// Guarantees: a job never has two runs at once; ticks that pass while a job runs, or while the process was
/// suspended, are caught up by exactly one run as soon as possible; ticks are computed from the clock after each
/// wake-up, so a slow run never makes the schedule drift.
pub async fn run_schedule(
    jobs: Vec<Scheduled>,
    clock: Arc<dyn Clock>,
    runner: Runner,
    mut stop: watch::Receiver<bool>,
    stop_timeout: Duration,
) {
    let (done_tx, mut done_rx) = mpsc::channel::<String>(jobs.len().max(1));
    let mut next: HashMap<String, DateTime<Utc>> = HashMap::new();
    let start = clock.now();
    for j in &jobs {
        if let Some(t) = j.schedule.after(&start).next() {
            next.insert(j.name.clone(), t);
        }
    }
    let mut running: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut owed: HashSet<String> = HashSet::new();
    let launch =
        |name: &str, tick: DateTime<Utc>, running: &mut HashMap<String, tokio::task::JoinHandle<()>>| {
            let (runner, done_tx, name) = (runner.clone(), done_tx.clone(), name.to_owned());
            tracing::info!(job = %name, tick = %tick.to_rfc3339(), "scheduled run starting");
            let key = name.clone();
            let handle = tokio::spawn(async move {
                runner(name.clone(), tick).await;
                let _ = done_tx.send(name).await;
            });
            running.insert(key, handle);
        };
    loop {
        if *stop.borrow() {
            break;
        }
        let Some(earliest) = next.values().min().copied() else {
            tracing::warn!("no job has a future tick; the scheduler stops");
            break;
        };
        // Biased: ended runs are handled before the next tick, so a catch-up never races its own tick.
        tokio::select! {
            biased;
            Some(name) = done_rx.recv() => {
                if running.get(&name).is_some_and(|h| !h.is_finished()) {
                    // A newer run of the job (launched after this one ended) is going.
                    continue;
                }
                running.remove(&name);
                if owed.remove(&name) && !*stop.borrow() {
                    tracing::info!(job = %name, "catching up the ticks missed while it ran");
                    launch(&name, clock.now(), &mut running);
                }
                continue;
            }
            _ = stop.changed() => continue,
            _ = clock.sleep_until(earliest) => {}
        }
        let now = clock.now();
        // A run that has ended is not running, even if its end is not yet read from the channel.
        running.retain(|_, h| !h.is_finished());
        for j in &jobs {
            let Some(due) = next.get(&j.name).copied() else {
                continue;
            };
            if due > now {
                continue;
            }
            // Every tick up to now collapses into this one.
            match j.schedule.after(&now).next() {
                Some(t) => next.insert(j.name.clone(), t),
                None => next.remove(&j.name),
            };
            if running.contains_key(&j.name) {
                tracing::warn!(job = %j.name, "previous run still going; this tick runs once it ends");
                owed.insert(j.name.clone());
            } else {
                owed.remove(&j.name);
                launch(&j.name, now, &mut running);
            }
        }
    }
    tracing::warn!(
        runs = running.len(),
        "scheduler stopping; waiting for runs in progress to drain"
    );
    let drain = async {
        for (_, handle) in running.drain() {
            let _ = handle.await;
        }
    };
    if tokio::time::timeout(stop_timeout, drain).await.is_err() {
        tracing::error!(timeout_s = stop_timeout.as_secs(), "runs did not drain in time");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 28 item 5: the shipped jobs' followers, with uploads all day and their hourly reconciliation scans,
    /// stay under deploy/'s default usage limit at its default base capacity (deploy/README's table).
    #[test]
    fn the_shipped_followers_fit_the_default_usage_limit()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        const MONTHLY_RPU_HOURS: f64 = 1500.0;
        const BASE_RPUS: i32 = 8;
        let now = DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")?.with_timezone(&Utc);
        let jobs = s3shift_testkit::repo::root().join("jobs");
        let mut month = 0.0;
        for job in ["api-images", "kafka-images"] {
            // As deployed with EventIngestion=on: the task names the queue (S3SHIFT_QUEUE_URL).
            let overrides = crate::spec::Overrides {
                queue_url: Some(crate::spec::Override {
                    value: format!("https://sqs.eu-west-1.amazonaws.com/123456789012/{job}"),
                    from: "S3SHIFT_QUEUE_URL".into(),
                }),
                ..crate::spec::Overrides::default()
            };
            let spec = crate::load_job_with(&jobs.join(format!("{job}.toml")), &overrides)?;
            let f =
                follower_cost(&spec, now, Some(BASE_RPUS)).ok_or("the shipped jobs have an event queue")?;
            assert_eq!(f.max_latency_seconds, 900, "{job}");
            assert!((f.loads_per_day - 96.0).abs() < 1e-9, "{job}: {f:?}");
            assert!((f.scans_per_day - 24.0).abs() < 1e-9, "{job}: {f:?}");
            // (96 + 24) loads x 60 s x 8 RPUs / 3600 = 16 RPU-hours a day.
            assert!(
                (f.rpu_hours_per_day.unwrap_or_default() - 16.0).abs() < 1e-9,
                "{job}: {f:?}"
            );
            month += f.rpu_hours_per_month().unwrap_or_default();
        }
        assert!(month < MONTHLY_RPU_HOURS, "{month} RPU-hours a month");
        Ok(())
    }

    #[test]
    fn cron_crate_expressions_become_eventbridge_ones() {
        assert_eq!(
            eventbridge_expression("0 0/15 * * * *").as_deref(),
            Ok("cron(0/15 * * * ? *)")
        );
        assert_eq!(
            eventbridge_expression("0 5/10 * * * *").as_deref(),
            Ok("cron(5/10 * * * ? *)")
        );
        assert_eq!(
            eventbridge_expression("0 30 2 * * MON-FRI").as_deref(),
            Ok("cron(30 2 ? * MON-FRI *)")
        );
        assert_eq!(
            eventbridge_expression("0 0 6 1 * * 2027").as_deref(),
            Ok("cron(0 6 1 * ? 2027)")
        );
        assert!(
            eventbridge_expression("30 * * * * *")
                .unwrap_or_default()
                .is_empty()
        );
        assert!(eventbridge_expression("0 0 6 1 * MON").is_err());
        assert!(eventbridge_expression("0 0 6 1").is_err());
    }

    #[test]
    fn a_cadence_costs_at_least_a_minute_of_base_capacity_per_run() {
        use std::str::FromStr;
        let from = DateTime::parse_from_rfc3339("2026-12-02T00:00:30Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let quarter = cron::Schedule::from_str("0 0/15 * * * *").unwrap_or_else(|e| panic!("{e}"));
        let cost = cadence_cost(&quarter, from, 8);
        assert_eq!(cost.runs_per_day, 96.0);
        // 96 runs × 60 s × 8 RPUs = 12.8 RPU-hours.
        assert!((cost.rpu_hours_per_day - 12.8).abs() < 1e-9, "{cost:?}");
        let weekdays = cron::Schedule::from_str("0 30 2 * * MON-FRI").unwrap_or_else(|e| panic!("{e}"));
        assert!((runs_per_day(&weekdays, from) - 5.0 / 7.0).abs() < 1e-9);
    }

    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Virtual time: each sleep jumps to its deadline (plus a one-off `jump` once `jump_at` is passed, as if
    /// the machine had been suspended); past `end` the scheduler is told to stop.
    struct FakeClock {
        now: Mutex<DateTime<Utc>>,
        end: DateTime<Utc>,
        jump: Mutex<Option<(DateTime<Utc>, chrono::Duration)>>,
        stop: watch::Sender<bool>,
        gate_at: Option<(DateTime<Utc>, Arc<tokio::sync::Notify>)>,
        me: Mutex<Option<std::sync::Weak<FakeClock>>>,
    }

    impl FakeClock {
        fn new(
            start: DateTime<Utc>,
            end: DateTime<Utc>,
            jump: Option<(DateTime<Utc>, chrono::Duration)>,
            stop: watch::Sender<bool>,
            gate_at: Option<(DateTime<Utc>, Arc<tokio::sync::Notify>)>,
        ) -> Arc<Self> {
            let clock = Arc::new(Self {
                now: Mutex::new(start),
                end,
                jump: Mutex::new(jump),
                stop,
                gate_at,
                me: Mutex::new(None),
            });
            *clock.me.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::downgrade(&clock));
            clock
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> DateTime<Utc> {
            *self.now.lock().unwrap_or_else(|e| e.into_inner())
        }
        fn sleep_until(&self, t: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            let this = self.me.lock().unwrap_or_else(|e| e.into_inner()).clone();
            Box::pin(async move {
                // Other tasks get their turn first; time moves only if this sleep is not abandoned.
                tokio::task::yield_now().await;
                let Some(this) = this.and_then(|w| w.upgrade()) else {
                    return;
                };
                if t > this.end {
                    let _ = this.stop.send(true);
                    return std::future::pending().await;
                }
                let target = {
                    let mut now = this.now.lock().unwrap_or_else(|e| e.into_inner());
                    let mut target = t.max(*now);
                    let mut jump = this.jump.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some((at, by)) = *jump
                        && target >= at
                    {
                        target += by;
                        *jump = None;
                    }
                    *now = target;
                    target
                };
                if let Some((at, gate)) = &this.gate_at
                    && target >= *at
                {
                    gate.notify_one();
                }
            })
        }
    }

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 11, 28, h, m, s)
            .single()
            .unwrap_or_default()
    }

    fn job(name: &str, cron: &str) -> Scheduled {
        use std::str::FromStr;
        Scheduled {
            name: name.into(),
            schedule: cron::Schedule::from_str(cron).unwrap_or_else(|e| panic!("{cron}: {e}")),
        }
    }

    type Log = Arc<Mutex<Vec<(String, DateTime<Utc>)>>>;

    fn recording_runner(
        clock: Arc<FakeClock>,
        log: Log,
        hold_first_a: Option<Arc<tokio::sync::Notify>>,
        active: Arc<AtomicUsize>,
        max_active: Arc<AtomicUsize>,
    ) -> Runner {
        let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
        Arc::new(move |name: String, tick: DateTime<Utc>| {
            let (_clock, log, hold, active, max_active, first) = (
                clock.clone(),
                log.clone(),
                hold_first_a.clone(),
                active.clone(),
                max_active.clone(),
                first.clone(),
            );
            Box::pin(async move {
                if name == "a" {
                    let n = active.fetch_add(1, Ordering::SeqCst) + 1;
                    max_active.fetch_max(n, Ordering::SeqCst);
                }
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((name.clone(), tick));
                if name == "a"
                    && first.swap(false, Ordering::SeqCst)
                    && let Some(gate) = hold
                {
                    gate.notified().await;
                }
                if name == "a" {
                    active.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
    }

    #[tokio::test]
    async fn a_long_run_never_overlaps_and_its_missed_ticks_run_once() {
        let (stop_tx, stop_rx) = watch::channel(false);
        let gate = Arc::new(tokio::sync::Notify::new());
        let gate_at = Some((at(0, 5, 0), gate.clone()));
        let clock = FakeClock::new(at(0, 0, 30), at(0, 30, 0), None, stop_tx, gate_at);
        let log: Log = Arc::default();
        let (active, max_active) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let runner = recording_runner(clock.clone(), log.clone(), Some(gate), active, max_active.clone());
        let jobs = vec![job("a", "0 * * * * *"), job("b", "0 0/10 * * * *")];
        run_schedule(jobs, clock, runner, stop_rx, Duration::from_secs(5)).await;
        let log = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(
            max_active.load(Ordering::SeqCst),
            1,
            "never two runs of one job at once"
        );
        let a: Vec<DateTime<Utc>> = log.iter().filter(|(j, _)| j == "a").map(|(_, t)| *t).collect();
        assert_eq!(a[0], at(0, 1, 0), "{log:?}");
        // Ticks 00:02 to 00:05 passed while the first run held: exactly one catch-up run, at 00:05.
        let until_five = a.iter().filter(|t| **t <= at(0, 5, 0)).count();
        assert_eq!(until_five, 2, "{a:?}");
        // Afterwards one run per minute, through 00:30.
        let after: Vec<_> = a.iter().filter(|t| **t > at(0, 5, 0)).collect();
        assert_eq!(after.len(), 25, "{a:?}");
        let b: Vec<DateTime<Utc>> = log.iter().filter(|(j, _)| j == "b").map(|(_, t)| *t).collect();
        assert_eq!(b, [at(0, 10, 0), at(0, 20, 0), at(0, 30, 0)]);
    }

    #[tokio::test]
    async fn ticks_missed_while_suspended_are_caught_up_once() {
        let (stop_tx, stop_rx) = watch::channel(false);
        // The machine sleeps from 00:03 to 01:03.
        let jump = Some((at(0, 3, 0), chrono::Duration::hours(1)));
        let clock = FakeClock::new(at(0, 0, 30), at(1, 5, 0), jump, stop_tx, None);
        let log: Log = Arc::default();
        let runner = recording_runner(clock.clone(), log.clone(), None, Arc::default(), Arc::default());
        run_schedule(
            vec![job("a", "0 * * * * *")],
            clock,
            runner,
            stop_rx,
            Duration::from_secs(5),
        )
        .await;
        let a: Vec<DateTime<Utc>> = log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(
            a,
            [at(0, 1, 0), at(0, 2, 0), at(1, 3, 0), at(1, 4, 0), at(1, 5, 0)]
        );
    }
}
