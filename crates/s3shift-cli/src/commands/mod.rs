//! One module per subcommand.

pub(crate) mod extract;
#[cfg(feature = "local")]
pub(crate) mod local;
