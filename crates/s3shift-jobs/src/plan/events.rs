//! Planning from an event batch ([`EventBatch`], received and sorted by event mode, `crate::events`): look the
//! named keys up in the ledger, mark what is loaded, and plan the rest within the run's limits. The work
//! follows the messages, never the bucket: no listing, and one ledger statement per
//! [`KEYS_PER_LOOKUP`](s3shift_redshift::warehouse::ledger::KEYS_PER_LOOKUP) keys.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use s3shift_core::ObjectRef;
use s3shift_redshift::warehouse::LedgerTable;
use s3shift_redshift::warehouse::ledger::LedgerWindow;

use super::{LoadedSet, Plan, PlanBuilder, PlanReport, Planner};
use crate::Result;
use crate::events::EventBatch;
use crate::spec::JobSpec;

impl Planner<'_> {
    /// Plans from `batch`: marks what the ledger holds (a redelivery: its messages then wait on nothing, see
    /// [`EventBatch::take_done`]) and plans the objects left, most urgent first, within the run's limits.
    pub(crate) async fn plan_events(
        &self,
        spec: &JobSpec,
        now: DateTime<Utc>,
        batch: &mut EventBatch,
    ) -> Result<Plan> {
        let src = &spec.config.source;
        let ledger = LedgerTable::beside(&spec.table)?;
        let keys: Vec<&str> = {
            let mut k: Vec<&str> = batch.objects().map(|o| o.key.as_str()).collect();
            k.sort_unstable();
            k.dedup();
            k
        };
        // The lookup reads the ledger window only, as a scan does: an object a message names still exists, or
        // did until lately, so its row (if any) is no older than the window's start.
        let (lifecycle, start) = self.ledger_window(spec, &src.prefixes, now).await?;
        let window = LedgerWindow {
            source: &src.name,
            bucket: &src.bucket,
            since: start.since,
        };
        let mut loaded = HashMap::new();
        // Rows a scan wrote carry no version id, nor do event identities (see `identity_of`).
        let statements = ledger
            .lookup_keys(self.api, window, &keys, |hit| {
                let id = s3shift_core::object::identity(&src.bucket, hit.key, hit.etag, None);
                let at = loaded.entry(id).or_insert(hit.loaded_at);
                *at = (*at).max(hit.loaded_at);
            })
            .await?;
        tracing::debug!(keys = keys.len(), statements, "ledger lookup");
        batch.mark_loaded(&loaded);
        let nothing_loaded = LoadedSet::default();
        let mut builder = PlanBuilder::new(
            &nothing_loaded,
            now,
            chrono::Duration::zero(),
            &spec.config.limits,
        );
        for o in batch.objects() {
            let mut object = ObjectRef {
                bucket: o.bucket.clone(),
                key: o.key.clone(),
                version_id: None,
                etag: o.etag.clone(),
                size: o.size,
                last_modified: o.event_time,
                expires_at: None,
            };
            object.expires_at = self.expiry(spec, &lifecycle, &object);
            builder.add(object);
        }
        let mut plan = builder.finish();
        plan.counts.already_loaded = batch.counts.already_loaded;
        plan.counts.listed = batch.counts.created;
        plan.report = PlanReport {
            data_api_statements: statements,
            ledger_window: Some(start.since),
            ..PlanReport::default()
        };
        Ok(plan)
    }
}
