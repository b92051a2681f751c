//! One module per subcommand.

#[cfg(feature = "local")]
pub(crate) mod demo;
pub(crate) mod extract;
#[cfg(feature = "local")]
pub(crate) mod local;
pub(crate) mod ops;
pub(crate) mod run;
