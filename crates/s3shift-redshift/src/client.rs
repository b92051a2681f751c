//! Statements through the Data API: submit, poll, read results.

use std::time::{Duration, Instant};

use aws_sdk_redshiftdata::error::ProvideErrorMetadata;
use aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput;
use aws_sdk_redshiftdata::types::{Field, SqlParameter, StatusString};

use crate::{Error, Result};

/// Where statements run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Redshift Serverless workgroup.
    Serverless {
        /// Workgroup name.
        workgroup: String,
    },
    /// A provisioned cluster, with temporary credentials for a database user.
    Cluster {
        /// Cluster identifier.
        cluster_identifier: String,
        /// Database user.
        db_user: String,
    },
}

/// How statements are polled.
#[derive(Debug, Clone, Copy)]
pub struct PollConfig {
    /// First wait after submitting.
    pub first: Duration,
    /// Longest wait between two polls (waits double up to it).
    pub max: Duration,
    /// Give up polling after this long (the statement itself keeps running).
    pub timeout: Duration,
}

/// DescribeStatement failures in a row after which [`DataApi::wait`] gives up (the statement's outcome then
/// stays unknown: the caller must look it up again, never submit it again).
pub const DESCRIBE_FAILURES: u32 = 8;

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(10),
            max: Duration::from_secs(2),
            timeout: Duration::from_secs(3600),
        }
    }
}

/// What a statement's description says about it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementState {
    /// Submitted, picked or started: not done yet.
    Running,
    /// Done.
    Finished(Finished),
    /// Failed with Redshift's error.
    Failed(Failure),
    /// Cancelled.
    Aborted,
}

/// A failed statement: Redshift's error and, for a batch, which of its statements failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Redshift's error text, as DescribeStatement's `Error` gives it.
    pub message: String,
    /// The failing statement of a batch; `None` for a single statement (or when Redshift does not say).
    pub sub_statement: Option<SubStatement>,
}

/// One statement of a batch, by position: a fact callers match on (`index == COPY_STATEMENT`), never a text
/// they parse back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubStatement {
    /// Position in the batch, 0-based.
    pub index: usize,
    /// Statements in the batch.
    pub count: usize,
}

impl std::fmt::Display for SubStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sub-statement {} of {}", self.index + 1, self.count)
    }
}

/// A finished statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Statement id.
    pub id: String,
    /// Rows affected or returned (`-1` when Redshift does not say); for a batch, of each sub-statement.
    pub result_rows: Vec<i64>,
    /// Whether the (last) statement has a result set to fetch.
    pub has_result_set: bool,
}

/// One value of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Text (also how timestamps come back).
    Text(String),
    /// An integer.
    Long(i64),
    /// A float.
    Double(f64),
    /// A boolean.
    Bool(bool),
}

impl Value {
    /// The value as text, if it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer, if it is one (or text holding one).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Long(v) => Some(*v),
            Self::Text(s) => s.parse().ok(),
            Self::Double(d) if d.fract() == 0.0 => Some(*d as i64),
            _ => None,
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Double(v) => Some(*v),
            Self::Long(v) => Some(*v as f64),
            Self::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Null => f.write_str("NULL"),
            Self::Text(s) => f.write_str(s),
            Self::Long(v) => write!(f, "{v}"),
            Self::Double(v) => write!(f, "{v}"),
            Self::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// A whole result set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each with one value per column.
    pub rows: Vec<Vec<Value>>,
}

/// The Data API for one database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DataApi {
    client: aws_sdk_redshiftdata::Client,
    target: Target,
    database: String,
    poll: PollConfig,
    /// A Secrets Manager secret whose database user the statements run as (the namespace's admin secret for
    /// `migrate`); without it they run as the caller's IAM identity (`IAMR:<role>` on Serverless).
    secret_arn: Option<String>,
}

/// Our error for a failed Data API call: the service's code and message in the text, the SDK's error (with its
/// own chain: dispatch failure, I/O error, ...) as the source.
fn api_error<E, R>(op: &'static str, e: aws_sdk_redshiftdata::error::SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::Api {
        op,
        message: service_message(&e),
        source: Some(Box::new(e)),
    }
}

/// The service's code and message of a failed call (`Code: message`), or the SDK's whole story when the call
/// never got an answer. Shared by the Data API and the Serverless calls.
pub(crate) fn service_message<E, R>(e: &aws_sdk_redshiftdata::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_owned(),
        _ => s3shift_core::text::error_chain(e),
    }
}

macro_rules! targeted {
    ($self:ident, $builder:expr) => {{
        let b = $builder.database(&$self.database);
        match (&$self.target, &$self.secret_arn) {
            (Target::Serverless { workgroup }, secret) => {
                b.workgroup_name(workgroup).set_secret_arn(secret.clone())
            }
            // With a secret, the secret names the user ("SecretArn or DbUser", ExecuteStatement).
            (
                Target::Cluster {
                    cluster_identifier, ..
                },
                Some(secret),
            ) => b.cluster_identifier(cluster_identifier).secret_arn(secret),
            (
                Target::Cluster {
                    cluster_identifier,
                    db_user,
                },
                None,
            ) => b.cluster_identifier(cluster_identifier).db_user(db_user),
        }
    }};
}

impl DataApi {
    /// A Data API handle for `database` on `target`.
    pub fn new(
        client: aws_sdk_redshiftdata::Client,
        target: Target,
        database: String,
        poll: PollConfig,
    ) -> Self {
        Self {
            client,
            target,
            database,
            poll,
            secret_arn: None,
        }
    }

    /// The same handle, its statements run as the database user of the Secrets Manager secret `arn` (the
    /// caller needs `secretsmanager:GetSecretValue` on it: "Authorizing access to the Amazon Redshift Data API").
    #[must_use]
    pub fn with_secret(mut self, arn: impl Into<String>) -> Self {
        self.secret_arn = Some(arn.into());
        self
    }

    /// Submits one statement with named parameters (`:name` in the SQL); returns its id at once.
    pub async fn submit(&self, sql: &str, params: &[(&str, String)]) -> Result<String> {
        let params: Vec<SqlParameter> = params
            .iter()
            .filter_map(|(name, value)| SqlParameter::builder().name(*name).value(value).build().ok())
            .collect();
        let b = targeted!(self, self.client.execute_statement().sql(sql));
        let out = b
            .set_parameters((!params.is_empty()).then_some(params))
            .send()
            .await
            .map_err(|e| api_error("ExecuteStatement", e))?;
        out.id().map(str::to_owned).ok_or_else(|| Error::Api {
            op: "ExecuteStatement",
            message: "no statement id in the answer".into(),
            source: None,
        })
    }

    /// Submits statements that run in order as one transaction; returns the batch's id at once.
    pub async fn submit_batch(&self, sqls: &[String]) -> Result<String> {
        self.submit_batch_named(sqls, None, None).await
    }

    /// [`submit_batch`](Self::submit_batch) with a statement name, by which [`find_named`](Self::find_named)
    /// finds the batch again after a crash (even if its id was never recorded), and a client token: submitted
    /// again with the same token, the Data API answers the first submission's id instead of running the batch
    /// twice ("BatchExecuteStatement": ClientToken, "A unique, case-sensitive identifier that you provide to
    /// ensure the idempotency of the request"). The page gives the token no lifetime; callers never rely on it
    /// for longer than the Data API lists the statement (24 hours, "Considerations when calling the Amazon
    /// Redshift Data API").
    pub async fn submit_batch_named(
        &self,
        sqls: &[String],
        name: Option<&str>,
        client_token: Option<&str>,
    ) -> Result<String> {
        let b = targeted!(
            self,
            self.client
                .batch_execute_statement()
                .set_sqls(Some(sqls.to_vec()))
                .set_statement_name(name.map(str::to_owned))
                .set_client_token(client_token.map(str::to_owned))
        );
        let out = b
            .send()
            .await
            .map_err(|e| api_error("BatchExecuteStatement", e))?;
        out.id().map(str::to_owned).ok_or_else(|| Error::Api {
            op: "BatchExecuteStatement",
            message: "no statement id in the answer".into(),
            source: None,
        })
    }

    /// The most recently created statement named exactly `name` (among those the Data API still lists: the
    /// caller's own, from the last 24 hours), with its id.
    pub async fn find_named(&self, name: &str) -> Result<Option<String>> {
        let mut best: Option<(i64, String)> = None;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_statements()
                .statement_name(name)
                .status(StatusString::All)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| api_error("ListStatements", e))?;
            for s in page.statements() {
                if s.statement_name() != Some(name) {
                    continue;
                }
                let created = s.created_at().map_or(0, |t| t.as_nanos() as i64);
                if best.as_ref().is_none_or(|(c, _)| created >= *c) {
                    best = Some((created, s.id().to_owned()));
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(best.map(|(_, id)| id)),
            }
        }
    }

    async fn describe_raw(&self, id: &str) -> Result<DescribeStatementOutput> {
        self.client
            .describe_statement()
            .id(id)
            .send()
            .await
            .map_err(|e| api_error("DescribeStatement", e))
    }

    /// The rows each sub-statement of batch `id` returned or changed, in order (`-1` where Redshift does not
    /// say), whatever the batch's status. "DescribeStatement": ResultRows is "the number of rows affected by SQL
    /// statements such as INSERT, UPDATE, DELETE, COPY, and others".
    pub async fn sub_statement_rows(&self, id: &str) -> Result<Vec<i64>> {
        let d = self.describe_raw(id).await?;
        Ok(d.sub_statements().iter().map(|s| s.result_rows()).collect())
    }

    /// Where statement `id` is now. For a failed batch, the failure names the failing sub-statement.
    pub async fn describe(&self, id: &str) -> Result<StatementState> {
        let d = self.describe_raw(id).await?;
        let subs = d.sub_statements();
        Ok(match d.status() {
            Some(StatusString::Finished) => StatementState::Finished(Finished {
                id: id.to_owned(),
                result_rows: if subs.is_empty() {
                    vec![d.result_rows()]
                } else {
                    subs.iter().map(|s| s.result_rows()).collect()
                },
                has_result_set: d.has_result_set().unwrap_or(false),
            }),
            Some(StatusString::Failed) => {
                let message = d.error().unwrap_or("(no error text)").to_owned();
                let sub_statement = subs
                    .iter()
                    .position(|s| s.error().is_some_and(|e| !e.is_empty()))
                    .filter(|_| subs.len() > 1)
                    .map(|index| SubStatement {
                        index,
                        count: subs.len(),
                    });
                StatementState::Failed(Failure {
                    message,
                    sub_statement,
                })
            }
            Some(StatusString::Aborted) => StatementState::Aborted,
            _ => StatementState::Running,
        })
    }

    /// Polls `id` with growing waits until it is done. A DescribeStatement call that fails (after the SDK's
    /// own retries: a throttle, a 5xx, a dropped connection) says nothing about the statement, which runs on:
    /// polling goes on, up to [`DESCRIBE_FAILURES`] failures in a row.
    ///
    /// # Errors
    /// [`Error::StatementFailed`], [`Error::Aborted`], [`Error::Timeout`] after [`PollConfig::timeout`], or the
    /// last DescribeStatement error.
    pub async fn wait(&self, id: &str) -> Result<Finished> {
        let started = Instant::now();
        let mut pause = self.poll.first;
        let mut failures = 0;
        loop {
            let state = match self.describe(id).await {
                Ok(state) => {
                    failures = 0;
                    state
                }
                Err(e) if failures + 1 < DESCRIBE_FAILURES && started.elapsed() < self.poll.timeout => {
                    failures += 1;
                    tracing::warn!(statement_id = %id, failures, error = %e,
                        "DescribeStatement failed; the statement runs on, polling again");
                    tokio::time::sleep(pause.max(Duration::from_millis(100))).await;
                    pause = (pause * 2).min(self.poll.max);
                    continue;
                }
                Err(e) => return Err(e),
            };
            match state {
                StatementState::Finished(f) => return Ok(f),
                StatementState::Failed(Failure {
                    message,
                    sub_statement,
                }) => {
                    return Err(Error::StatementFailed {
                        id: id.to_owned(),
                        message,
                        sub_statement,
                    });
                }
                StatementState::Aborted => return Err(Error::Aborted { id: id.to_owned() }),
                StatementState::Running => {}
            }
            if started.elapsed() >= self.poll.timeout {
                return Err(Error::Timeout {
                    id: id.to_owned(),
                    seconds: started.elapsed().as_secs(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(self.poll.max);
        }
    }

    /// Runs one statement to completion.
    pub async fn execute(&self, sql: &str, params: &[(&str, String)]) -> Result<Finished> {
        let id = self.submit(sql, params).await?;
        self.wait(&id).await
    }

    /// Runs a query and reads every page of its result.
    pub async fn query(&self, sql: &str, params: &[(&str, String)]) -> Result<Rows> {
        let done = self.execute(sql, params).await?;
        if !done.has_result_set {
            return Ok(Rows::default());
        }
        self.fetch(&done.id).await
    }

    /// Reads every page of the result of finished statement `id`.
    pub async fn fetch(&self, id: &str) -> Result<Rows> {
        let mut rows = Vec::new();
        let columns = self.fetch_each(id, |row| rows.push(row)).await?;
        Ok(Rows { columns, rows })
    }

    /// Runs a query and hands each row of its result to `on_row`, one result page at a time, so the caller
    /// never holds more than a page of it. Returns the number of rows.
    pub async fn query_each(
        &self,
        sql: &str,
        params: &[(&str, String)],
        mut on_row: impl FnMut(Vec<Value>),
    ) -> Result<u64> {
        let done = self.execute(sql, params).await?;
        if !done.has_result_set {
            return Ok(0);
        }
        let mut n = 0u64;
        self.fetch_each(&done.id, |row| {
            n += 1;
            on_row(row);
        })
        .await?;
        Ok(n)
    }

    /// Hands every row of the result of finished statement `id` to `on_row`, page by page; returns the column
    /// names.
    async fn fetch_each(&self, id: &str, mut on_row: impl FnMut(Vec<Value>)) -> Result<Vec<String>> {
        let mut columns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_statement_result()
                .id(id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| api_error("GetStatementResult", e))?;
            if columns.is_empty() {
                columns = page
                    .column_metadata()
                    .iter()
                    .map(|c| c.name().or(c.label()).unwrap_or("").to_owned())
                    .collect();
            }
            for record in page.records() {
                on_row(record.iter().map(value_of).collect());
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(columns),
            }
        }
    }

    /// The database statements run in.
    pub fn database(&self) -> &str {
        &self.database
    }
}

fn value_of(f: &Field) -> Value {
    match f {
        Field::IsNull(true) => Value::Null,
        Field::StringValue(s) => Value::Text(s.clone()),
        Field::LongValue(v) => Value::Long(*v),
        Field::DoubleValue(v) => Value::Double(*v),
        Field::BooleanValue(v) => Value::Bool(*v),
        _ => Value::Null,
    }
}
