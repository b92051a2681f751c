//! One module per subcommand, plus [`job`]: what the job commands share (which job, the deployment's
//! replacements, the clients, the runtime, the stop signal).

#[cfg(feature = "local")]
pub(crate) mod demo;
pub(crate) mod docs;
pub(crate) mod doctor;
pub(crate) mod extract;
pub(crate) mod init;
pub(crate) mod job;
#[cfg(feature = "local")]
pub(crate) mod local;
pub(crate) mod migrate;
pub(crate) mod run;
pub(crate) mod schedule;
pub(crate) mod status;
