//! The privilege layer's errors, as facts (what was refused, which object, which word did not parse); Redshift's
//! wording is made only where one is shown (`Display`), at the Data API's edge, which sends the text.

use std::fmt;

/// Why a privilege statement or function was refused.
#[derive(Debug)]
pub(crate) enum AclError {
    /// The statement does not parse at `near` (a token, or `end of input`).
    Syntax {
        /// Where.
        near: String,
    },
    /// A privilege function's arguments do not parse.
    SyntaxIn {
        /// The function (upper case).
        function: String,
    },
    /// A named object does not exist.
    Missing {
        /// `user`, `role`, `relation`, `schema` or `database`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// An object to create exists.
    Exists {
        /// `role`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A function of that name and arity does not exist.
    NoFunction(String),
    /// The user may not do this.
    Denied(Denied),
    /// A privilege or command type that is not one.
    Unrecognized {
        /// `privilege` or `command`.
        what: &'static str,
        /// The word given.
        value: String,
    },
    /// Something Redshift does that the stand-in does not model (refused, never silently allowed).
    NotSupported(String),
    /// Only the owner (or a superuser) may do this.
    NotOwner {
        /// `relation` or `schema`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// Granting a role to PUBLIC.
    RoleToPublic,
    /// The privilege catalog (DuckDB) failed.
    Catalog(duckdb::Error),
    /// An error of the engine around the privilege layer, already in Redshift's words.
    Engine(String),
}

/// What a refusal is about.
#[derive(Debug)]
pub(crate) enum Denied {
    /// `permission denied for <kind> <name>`.
    For {
        /// `relation`, `schema` or `database`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// `permission denied to <action>` (`create role`, `drop role`, `grant role`).
    To(&'static str),
    /// A superuser-only act, said in full.
    SuperuserOnly(&'static str),
}

impl fmt::Display for AclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ERROR: ")?;
        match self {
            Self::Syntax { near } => write!(f, "syntax error at or near \"{near}\""),
            Self::SyntaxIn { function } => write!(f, "syntax error in {function}"),
            Self::Missing { kind, name } => write!(f, "{kind} \"{name}\" does not exist"),
            Self::Exists { kind, name } => write!(f, "{kind} \"{name}\" already exists"),
            Self::NoFunction(name) => write!(f, "function {name} does not exist"),
            Self::Denied(Denied::For { kind, name }) => write!(f, "permission denied for {kind} {name}"),
            Self::Denied(Denied::To(action)) => write!(f, "permission denied to {action}"),
            Self::Denied(Denied::SuperuserOnly(what)) => write!(f, "permission denied: {what}"),
            Self::Unrecognized { what, value } => write!(f, "unrecognized {what} type: \"{value}\""),
            Self::NotSupported(what) => write!(f, "s3shift-local does not support {what}"),
            Self::NotOwner { kind, name } => write!(f, "must be owner of {kind} {name}"),
            Self::RoleToPublic => f.write_str("cannot grant a role to PUBLIC"),
            Self::Catalog(e) => write!(f, "privilege catalog: {e}"),
            Self::Engine(text) => f.write_str(text.strip_prefix("ERROR: ").unwrap_or(text)),
        }
    }
}

impl std::error::Error for AclError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Catalog(e) => Some(e),
            _ => None,
        }
    }
}

impl From<duckdb::Error> for AclError {
    fn from(e: duckdb::Error) -> Self {
        Self::Catalog(e)
    }
}

impl From<String> for AclError {
    fn from(text: String) -> Self {
        Self::Engine(text)
    }
}

/// At the edge: the engine passes Redshift's text.
impl From<AclError> for String {
    fn from(e: AclError) -> Self {
        e.to_string()
    }
}
