//! The s3shift tables of the warehouse, one owner each.
//!
//! Every statement that reads or writes `s3shift.runs` or `s3shift.loaded_objects` outside the load transaction
//! is here; the load transaction itself ([`crate::sql::LoadSql`]) writes both in one batch and takes the run's
//! row from [`runs::RunsTable::load_statements`]. The curated `images` table is written only by that batch and
//! checked by [`crate::schema_check`].
//!
//! - [`runs`]: one row per run, its [`RunStatus`](s3shift_core::RunStatus) and figures.
//! - [`ledger`]: `loaded_objects`, read back by the planner in slices the Data API can return.
//! - [`privileges`]: what a run needs on these tables, and which of it the caller lacks.

pub mod ledger;
pub mod privileges;
pub mod runs;

pub use ledger::LedgerTable;
pub use runs::{RunRecord, RunReport, RunsTable};
