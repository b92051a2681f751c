//! The Data API's wire protocol: awsJson1_1 over HTTP POST, `X-Amz-Target: RedshiftData.<Operation>`, JSON
//! bodies with the service's member names, errors as `{"__type": ..., "Message": ...}` with their HTTP codes.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::access::DbUser;
use super::engine::{Engine, MAX_ACTIVE, Part, Record, Status, now};
use crate::identity::{ADMIN_DB_USER, ADMIN_SECRET_ARN, Identity};

/// An error as the service sends it.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) extra: Option<(&'static str, String)>,
}

impl ApiError {
    fn validation(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            kind: "ValidationException",
            message: message.into(),
            extra: None,
        }
    }
    fn not_found(id: &str) -> Self {
        Self {
            status: 400,
            kind: "ResourceNotFoundException",
            message: format!("Query does not exist: {id}"),
            extra: Some(("ResourceId", id.to_owned())),
        }
    }
    pub(crate) fn body(&self) -> Value {
        let mut v = json!({"__type": self.kind, "Message": self.message});
        if let Some((k, val)) = &self.extra {
            v[*k] = json!(val);
        }
        v
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ExecuteInput {
    sql: Option<String>,
    sqls: Option<Vec<String>>,
    database: Option<String>,
    workgroup_name: Option<String>,
    cluster_identifier: Option<String>,
    parameters: Option<Vec<Param>>,
    client_token: Option<String>,
    session_keep_alive_seconds: Option<u64>,
    session_id: Option<String>,
    statement_name: Option<String>,
    db_user: Option<String>,
    secret_arn: Option<String>,
    result_format: Option<String>,
    with_event: Option<bool>,
}

#[derive(Deserialize)]
struct Param {
    name: String,
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct IdInput {
    id: Option<String>,
    next_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ListInput {
    max_results: Option<i64>,
    next_token: Option<String>,
    status: Option<String>,
    statement_name: Option<String>,
}

/// Runs one operation; `body` is the request JSON.
pub(crate) fn dispatch(
    engine: &Arc<Engine>,
    caller: &Identity,
    op: &str,
    body: &[u8],
    page_rows: usize,
) -> Result<Value, ApiError> {
    let parse_err = |e: serde_json::Error| ApiError {
        status: 400,
        kind: "SerializationException",
        message: format!("Could not read the request body: {e}"),
        extra: None,
    };
    match op {
        "ExecuteStatement" => execute(
            engine,
            caller,
            serde_json::from_slice(body).map_err(parse_err)?,
            false,
        ),
        "BatchExecuteStatement" => execute(
            engine,
            caller,
            serde_json::from_slice(body).map_err(parse_err)?,
            true,
        ),
        "DescribeStatement" => describe(engine, serde_json::from_slice(body).map_err(parse_err)?),
        "GetStatementResult" => result(
            engine,
            serde_json::from_slice(body).map_err(parse_err)?,
            page_rows,
        ),
        "CancelStatement" => cancel(engine, serde_json::from_slice(body).map_err(parse_err)?),
        "ListStatements" => list(engine, serde_json::from_slice(body).map_err(parse_err)?),
        other => Err(ApiError {
            status: 400,
            kind: "UnknownOperationException",
            message: format!("s3shift-local does not implement RedshiftData.{other}"),
            extra: None,
        }),
    }
}

fn check_id(id: Option<String>) -> Result<String, ApiError> {
    let id = id.ok_or_else(|| ApiError::validation("1 validation error detected: Value null at 'id' failed to satisfy constraint: Member must not be null"))?;
    let base = id.split(':').next().unwrap_or_default();
    let uuid_like = base.len() == 36 && base.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let sub_ok = id
        .split(':')
        .nth(1)
        .is_none_or(|n| n.parse::<u32>().is_ok_and(|n| n >= 1));
    if !uuid_like || !sub_ok || id.split(':').count() > 2 {
        return Err(ApiError::validation(format!(
            "Id must be a UUID, optionally followed by :N (got {id})"
        )));
    }
    Ok(id)
}

/// The database user a call runs as, and the roles of its tag: the secret's user for `SecretArn` (the caller
/// must be allowed to read it), `DbUser` on a provisioned cluster, else the caller's IAM identity.
fn database_user(caller: &Identity, input: &ExecuteInput) -> Result<(DbUser, Vec<String>), ApiError> {
    if let Some(secret) = &input.secret_arn {
        if secret != ADMIN_SECRET_ARN || !caller.reads_admin_secret {
            // The Data API reads the secret with the caller's credentials ("Authorizing access to the Amazon
            // Redshift Data API": the caller needs secretsmanager:GetSecretValue on it).
            return Err(ApiError {
                status: 400,
                kind: "AccessDeniedException",
                message: format!(
                    "User: {} is not authorized to perform: secretsmanager:GetSecretValue on resource: {secret} \
                     because no identity-based policy allows the secretsmanager:GetSecretValue action",
                    caller.arn()
                ),
                extra: None,
            });
        }
        let user = DbUser {
            name: ADMIN_DB_USER.into(),
            superuser: true,
        };
        return Ok((user, Vec::new()));
    }
    if let (Some(db_user), Some(_)) = (&input.db_user, &input.cluster_identifier) {
        let user = DbUser {
            name: db_user.clone(),
            superuser: false,
        };
        return Ok((user, Vec::new()));
    }
    let user = DbUser {
        name: caller.db_user(),
        superuser: caller.superuser(),
    };
    Ok((user, caller.db_roles.clone()))
}

fn execute(
    engine: &Arc<Engine>,
    caller: &Identity,
    input: ExecuteInput,
    batch: bool,
) -> Result<Value, ApiError> {
    if let Some(token) = input.client_token.as_deref()
        && let Some(id) = engine.by_token(token)
        && let Some(r) = engine.get(&id)
    {
        return Ok(execute_output(
            &r,
            input.db_user.as_deref(),
            input.secret_arn.as_deref(),
        ));
    }
    let (user, tag_roles) = database_user(caller, &input)?;
    let sqls: Vec<String> = if batch {
        let sqls = input.sqls.unwrap_or_default();
        if sqls.is_empty() || sqls.len() > 40 {
            return Err(ApiError::validation(format!(
                "Sqls must hold between 1 and 40 statements (got {})",
                sqls.len()
            )));
        }
        sqls
    } else {
        vec![input.sql.unwrap_or_default()]
    };
    for sql in &sqls {
        if sql.trim().is_empty() {
            return Err(ApiError::validation("Sql must not be empty"));
        }
        if sql.len() > 100_000 {
            return Err(ApiError::validation("Sql is longer than 100000 characters"));
        }
    }
    let has_session = input.session_id.is_some();
    match (&input.workgroup_name, &input.cluster_identifier) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "WorkgroupName and ClusterIdentifier cannot both be specified",
            ));
        }
        (None, None) if !has_session => {
            return Err(ApiError::validation(
                "Either WorkgroupName, ClusterIdentifier or SessionId must be specified",
            ));
        }
        _ => {}
    }
    if let Some(w) = &input.workgroup_name
        && !(3..=64).contains(&w.len())
    {
        return Err(ApiError::validation(format!(
            "WorkgroupName must be 3 to 64 characters long (got '{w}')"
        )));
    }
    if input.database.is_none() && !has_session {
        return Err(ApiError::validation(
            "Database must be specified unless SessionId is",
        ));
    }
    if input.session_keep_alive_seconds.is_some_and(|s| s > 86_400) {
        return Err(ApiError::validation(
            "SessionKeepAliveSeconds must be between 0 and 86400",
        ));
    }
    let params: Vec<(String, String)> = input
        .parameters
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.name, p.value))
        .collect();
    // The API reference of BatchExecuteStatement: "The parameters are available to all SQL statements in the
    // batch. Each statement can reference any subset of the provided parameters. Each provided parameter must
    // be referenced by at least one SQL statement in the batch." ExecuteStatement's single statement must
    // reference each (the service's message for both is the one below).
    let referenced: Vec<String> = sqls
        .iter()
        .filter_map(|sql| super::lex::lex(sql).ok())
        .flatten()
        .filter_map(|t| match t {
            super::lex::Tok::Param(name) => Some(name),
            _ => None,
        })
        .collect();
    let unused: Vec<&str> = params
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !referenced.iter().any(|r| r == n))
        .collect();
    if !unused.is_empty() {
        return Err(ApiError::validation(format!(
            "Parameters list contains unused parameters. Unused parameters: [{}]",
            unused.join(", ")
        )));
    }
    for (name, value) in &params {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ApiError::validation(format!(
                "Parameter name '{name}' must match [0-9a-zA-Z_]+"
            )));
        }
        if value.is_empty() {
            return Err(ApiError::validation(format!(
                "Parameter '{name}' must have a value of at least 1 character"
            )));
        }
    }
    if engine.active() >= MAX_ACTIVE {
        return Err(ApiError {
            status: 400,
            kind: "ActiveStatementsExceededException",
            message: format!("Active statements exceeded the allowed quota ({MAX_ACTIVE})."),
            extra: None,
        });
    }
    let session_id = engine
        .session_for(
            input.session_id.as_deref(),
            input.session_keep_alive_seconds,
            &user,
        )
        .map_err(ApiError::validation)?;
    engine.sign_in(&user, &tag_roles).map_err(|e| ApiError {
        status: 500,
        kind: "InternalServerException",
        message: e,
        extra: None,
    })?;
    let parts = sqls
        .into_iter()
        .map(|sql| Part {
            id: String::new(),
            sql,
            status: Status::Submitted,
            error: None,
            created: 0.0,
            updated: 0.0,
            duration_ns: 0,
            has_result_set: false,
            result_rows: -1,
            result: None,
            query_id: -1,
        })
        .collect();
    let record = Record {
        id: engine.new_id(),
        batch,
        parts,
        params,
        status: Status::Submitted,
        error: None,
        created: 0.0,
        updated: 0.0,
        duration_ns: 0,
        database: input.database.unwrap_or_else(|| "dev".into()),
        workgroup: input.workgroup_name,
        cluster: input.cluster_identifier,
        session_id,
        statement_name: input.statement_name,
        pid: 0,
        user,
    };
    let _ = (input.result_format, input.with_event);
    let id = engine.submit(record, input.client_token).map_err(|m| ApiError {
        status: 400,
        kind: "ActiveStatementsExceededException",
        message: m,
        extra: None,
    })?;
    let r = engine.get(&id).ok_or_else(|| ApiError::not_found(&id))?;
    Ok(execute_output(
        &r,
        input.db_user.as_deref(),
        input.secret_arn.as_deref(),
    ))
}

fn execute_output(r: &Record, db_user: Option<&str>, secret: Option<&str>) -> Value {
    let mut v = json!({"Id": r.id, "CreatedAt": r.created, "Database": r.database});
    if let Some(w) = &r.workgroup {
        v["WorkgroupName"] = json!(w);
    }
    if let Some(c) = &r.cluster {
        v["ClusterIdentifier"] = json!(c);
    }
    if let Some(s) = &r.session_id {
        v["SessionId"] = json!(s);
    }
    if let Some(u) = db_user {
        v["DbUser"] = json!(u);
    }
    if let Some(s) = secret {
        v["SecretArn"] = json!(s);
    }
    v
}

fn part_json(p: &Part, rec: &Record) -> Value {
    let mut v = json!({
        "Id": p.id, "Status": p.status.as_str(), "QueryString": p.sql, "CreatedAt": p.created,
        "UpdatedAt": p.updated, "Duration": p.duration_ns, "HasResultSet": p.has_result_set,
        "ResultRows": p.result_rows, "ResultSize": p.result.as_ref().map_or(0, |r| r.bytes),
        "RedshiftQueryId": p.query_id,
    });
    if let Some(e) = &p.error {
        v["Error"] = json!(e);
    }
    let _ = rec;
    v
}

fn describe(engine: &Arc<Engine>, input: IdInput) -> Result<Value, ApiError> {
    let id = check_id(input.id)?;
    let r = engine.get(&id).ok_or_else(|| ApiError::not_found(&id))?;
    let loads = r.parts.iter().any(|p| {
        p.sql
            .trim_start()
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("copy"))
    });
    if r.batch && loads && engine.fail_describe() {
        // The Data API's own rate limit: a client's standard retry backs off and tries again.
        return Err(ApiError {
            status: 400,
            kind: "ThrottlingException",
            message: "Rate exceeded".into(),
            extra: None,
        });
    }
    let mut v = if let Some(n) = id.split(':').nth(1).and_then(|n| n.parse::<usize>().ok()) {
        let p = r
            .parts
            .get(n - 1)
            .filter(|_| r.batch)
            .ok_or_else(|| ApiError::not_found(&id))?;
        part_json(p, &r)
    } else if r.batch {
        json!({
            "Id": r.id, "Status": r.status.as_str(), "CreatedAt": r.created, "UpdatedAt": r.updated,
            "Duration": r.duration_ns, "HasResultSet": r.parts.iter().any(|p| p.has_result_set),
            "ResultRows": r.parts.iter().filter(|p| p.result_rows > 0).map(|p| p.result_rows).sum::<i64>(),
            "ResultSize": 0, "IsBatchStatement": true,
            "SubStatements": r.parts.iter().map(|p| part_json(p, &r)).collect::<Vec<_>>(),
        })
    } else {
        let p = r.parts.first().ok_or_else(|| ApiError::not_found(&id))?;
        let mut v = part_json(p, &r);
        v["Status"] = json!(r.status.as_str());
        v["IsBatchStatement"] = json!(false);
        if !r.params.is_empty() {
            v["QueryParameters"] = json!(
                r.params
                    .iter()
                    .map(|(n, val)| json!({"name": n, "value": val}))
                    .collect::<Vec<_>>()
            );
        }
        v
    };
    v["Database"] = json!(r.database);
    v["RedshiftPid"] = json!(r.pid);
    if r.status == Status::Failed
        && v.get("Error").is_none()
        && let Some(e) = &r.error
    {
        v["Error"] = json!(e);
    }
    if let Some(w) = &r.workgroup {
        v["WorkgroupName"] = json!(w);
    }
    if let Some(c) = &r.cluster {
        v["ClusterIdentifier"] = json!(c);
    }
    if let Some(s) = &r.session_id {
        v["SessionId"] = json!(s);
    }
    Ok(v)
}

fn result(engine: &Arc<Engine>, input: IdInput, page_rows: usize) -> Result<Value, ApiError> {
    let id = check_id(input.id)?;
    let r = engine.get(&id).ok_or_else(|| ApiError::not_found(&id))?;
    let part = match id.split(':').nth(1).and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => r.parts.get(n - 1).filter(|_| r.batch),
        None if r.batch => {
            return Err(ApiError::validation(
                "GetStatementResult needs a sub-statement id (<id>:N) for a batch",
            ));
        }
        None => r.parts.first(),
    }
    .ok_or_else(|| ApiError::not_found(&id))?;
    if part.status != Status::Finished {
        return Err(ApiError::validation(format!(
            "Query does not have result. Please check query status with DescribeStatement (status {}).",
            part.status.as_str()
        )));
    }
    let Some(res) = &part.result else {
        return Err(ApiError::validation(
            "Query does not have result. Please check query status with DescribeStatement.",
        ));
    };
    let start: usize = match input.next_token.as_deref() {
        None => 0,
        Some(t) => t
            .strip_prefix("rows-")
            .and_then(|n| n.parse().ok())
            .filter(|n| *n <= res.rows.len())
            .ok_or_else(|| ApiError::validation("NextToken is not valid for this statement"))?,
    };
    let end = (start + page_rows.max(1)).min(res.rows.len());
    let mut v = json!({
        "Records": res.rows[start..end],
        "ColumnMetadata": res.columns,
        "TotalNumRows": res.rows.len(),
    });
    if end < res.rows.len() {
        v["NextToken"] = json!(format!("rows-{end}"));
    }
    Ok(v)
}

fn cancel(engine: &Arc<Engine>, input: IdInput) -> Result<Value, ApiError> {
    let id = check_id(input.id)?;
    match engine.cancel(&id) {
        None => Err(ApiError::not_found(&id)),
        Some(false) => {
            let status = engine.get(&id).map_or("FINISHED", |r| r.status.as_str());
            Err(ApiError::validation(format!(
                "Could not cancel a query that is already in {status} state with ID: {id}"
            )))
        }
        Some(true) => Ok(json!({"Status": true})),
    }
}

fn list(engine: &Arc<Engine>, input: ListInput) -> Result<Value, ApiError> {
    let max = match input.max_results {
        None | Some(0) => 100,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::validation(format!(
                "MaxResults must be between 0 and 100 (got {n})"
            )));
        }
    };
    let status = input.status.unwrap_or_else(|| "ALL".into()).to_ascii_uppercase();
    let known = [
        "ALL",
        "SUBMITTED",
        "PICKED",
        "STARTED",
        "FINISHED",
        "FAILED",
        "ABORTED",
    ];
    if !known.contains(&status.as_str()) {
        return Err(ApiError::validation(format!(
            "Status must be one of {}",
            known.join(", ")
        )));
    }
    let start: usize = match input.next_token.as_deref() {
        None => 0,
        Some(t) => t
            .strip_prefix("list-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ApiError::validation("NextToken is not valid"))?,
    };
    let all: Vec<Record> = engine
        .ids_newest_first()
        .into_iter()
        .filter_map(|id| engine.get(&id))
        .filter(|r| status == "ALL" || r.status.as_str() == status)
        .filter(|r| {
            input
                .statement_name
                .as_deref()
                .is_none_or(|n| r.statement_name.as_deref().is_some_and(|s| s.starts_with(n)))
        })
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|r| {
            let mut v = json!({
                "Id": r.id, "Status": r.status.as_str(), "CreatedAt": r.created, "UpdatedAt": r.updated,
                "IsBatchStatement": r.batch,
            });
            if r.batch {
                v["QueryStrings"] = json!(r.parts.iter().map(|p| p.sql.clone()).collect::<Vec<_>>());
            } else if let Some(p) = r.parts.first() {
                v["QueryString"] = json!(p.sql);
            }
            if let Some(n) = &r.statement_name {
                v["StatementName"] = json!(n);
            }
            if let Some(s) = &r.session_id {
                v["SessionId"] = json!(s);
            }
            v
        })
        .collect();
    let mut v = json!({"Statements": page});
    if start + max < all.len() {
        v["NextToken"] = json!(format!("list-{}", start + max));
    }
    let _ = now();
    Ok(v)
}
