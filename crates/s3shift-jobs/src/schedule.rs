//! Job schedules: the `cron` crate's expressions in job files, and the EventBridge Scheduler expressions that
//! `deploy/` uses for the same jobs (rendered here so that the two can never disagree).

use chrono::{DateTime, Utc};

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

/// The next `n` times the job's schedule fires after `after`.
pub fn next_fires(spec: &JobSpec, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    spec.schedule.after(&after).take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
