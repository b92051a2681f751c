//! The two Redshift Serverless calls that `s3shift doctor` makes (`RedshiftServerless.GetWorkgroup`,
//! `RedshiftServerless.GetNamespace`), answered on the Data API stand-in's port for one workgroup and its
//! namespace. Point `AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS` at the same URL as the Data API.

use serde::Deserialize;
use serde_json::{Value, json};

use super::api::ApiError;

/// The workgroup and namespace the stand-in reports.
#[derive(Debug, Clone)]
pub struct ServerlessConfig {
    /// Workgroup name.
    pub workgroup: String,
    /// Namespace name.
    pub namespace: String,
    /// Database name.
    pub database: String,
    /// The namespace's default IAM role (what `IAM_ROLE default` uses); empty when none is set, and COPY's
    /// `IAM_ROLE default` is then refused.
    pub default_iam_role: String,
    /// Every role associated with the namespace: the only ARNs COPY's `IAM_ROLE` may name.
    pub iam_roles: Vec<String>,
}

impl Default for ServerlessConfig {
    fn default() -> Self {
        let role = "arn:aws:iam::000000000000:role/s3shift-local-copy".to_owned();
        Self {
            workgroup: "local".into(),
            namespace: "local".into(),
            database: "dev".into(),
            default_iam_role: role.clone(),
            iam_roles: vec![role],
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Input {
    workgroup_name: Option<String>,
    namespace_name: Option<String>,
}

fn not_found(what: &str, name: &str) -> ApiError {
    ApiError {
        status: 400,
        kind: "ResourceNotFoundException",
        message: format!("{what} {name} not found"),
        extra: None,
    }
}

/// Answers one `RedshiftServerless.<op>` request.
pub(crate) fn dispatch(config: &ServerlessConfig, op: &str, body: &[u8]) -> Result<Value, ApiError> {
    let input: Input = serde_json::from_slice(body).map_err(|e| ApiError {
        status: 400,
        kind: "SerializationException",
        message: format!("Could not read the request body: {e}"),
        extra: None,
    })?;
    match op {
        "GetWorkgroup" => {
            let name = input.workgroup_name.unwrap_or_default();
            if name != config.workgroup {
                return Err(not_found("Workgroup", &name));
            }
            Ok(json!({"workgroup": {
                "workgroupName": config.workgroup,
                "workgroupId": "00000000-0000-0000-0000-000000000001",
                "workgroupArn": format!("arn:aws:redshift-serverless:us-east-1:000000000000:workgroup/{}", config.workgroup),
                "namespaceName": config.namespace,
                "status": "AVAILABLE",
                "baseCapacity": 8,
                "publiclyAccessible": false,
                "enhancedVpcRouting": false,
                "subnetIds": [],
                "securityGroupIds": [],
            }}))
        }
        "GetNamespace" => {
            let name = input.namespace_name.unwrap_or_default();
            if name != config.namespace {
                return Err(not_found("Namespace", &name));
            }
            Ok(json!({"namespace": {
                "namespaceName": config.namespace,
                "namespaceId": "00000000-0000-0000-0000-000000000002",
                "namespaceArn": format!("arn:aws:redshift-serverless:us-east-1:000000000000:namespace/{}", config.namespace),
                "status": "AVAILABLE",
                "dbName": config.database,
                "defaultIamRoleArn": config.default_iam_role,
                "iamRoles": config.iam_roles,
                "kmsKeyId": "AWS_OWNED_KMS_KEY",
            }}))
        }
        other => Err(ApiError {
            status: 400,
            kind: "UnknownOperationException",
            message: format!("s3shift-local does not implement RedshiftServerless.{other}"),
            extra: None,
        }),
    }
}
