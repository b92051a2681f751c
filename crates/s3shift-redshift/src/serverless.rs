//! Redshift Serverless preflight, over `aws-sdk-redshiftserverless`: a workgroup's status and namespace, and
//! the namespace's IAM roles (what `doctor` checks before a run would find out the hard way).

use aws_sdk_redshiftserverless::error::{ProvideErrorMetadata, SdkError};

use crate::{Error, Result};

/// A workgroup, as far as a run depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workgroup {
    /// `AVAILABLE`, `CREATING`, `MODIFYING`, `DELETING` (empty when the service did not say).
    pub status: String,
    /// Its namespace.
    pub namespace: Option<String>,
    /// Its base capacity in RPUs (what each period of activity is billed at, at least).
    pub base_capacity: Option<i32>,
}

/// A namespace's IAM roles: those COPY may use, and the default one (`IAM_ROLE default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Every attached role, as the service lists it.
    pub iam_roles: Vec<String>,
    /// The default role's ARN.
    pub default_iam_role: Option<String>,
}

/// The Serverless API calls s3shift makes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Serverless {
    client: aws_sdk_redshiftserverless::Client,
}

fn serverless_error<E, R>(op: &'static str, e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::Serverless {
        op,
        message: crate::client::service_message(&e),
        source: Box::new(e),
    }
}

impl Serverless {
    /// Calls through `client` (whose retry configuration handles throttling and transport errors).
    pub fn new(client: aws_sdk_redshiftserverless::Client) -> Self {
        Self { client }
    }

    /// GetWorkgroup.
    pub async fn workgroup(&self, name: &str) -> Result<Workgroup> {
        let out = self
            .client
            .get_workgroup()
            .workgroup_name(name)
            .send()
            .await
            .map_err(|e| serverless_error("GetWorkgroup", e))?;
        let w = out.workgroup();
        Ok(Workgroup {
            status: w
                .and_then(|w| w.status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            namespace: w.and_then(|w| w.namespace_name()).map(str::to_owned),
            base_capacity: w.and_then(|w| w.base_capacity()),
        })
    }

    /// GetNamespace.
    pub async fn namespace(&self, name: &str) -> Result<Namespace> {
        let out = self
            .client
            .get_namespace()
            .namespace_name(name)
            .send()
            .await
            .map_err(|e| serverless_error("GetNamespace", e))?;
        let n = out.namespace();
        Ok(Namespace {
            iam_roles: n.map(|n| n.iam_roles().to_vec()).unwrap_or_default(),
            default_iam_role: n.and_then(|n| n.default_iam_role_arn()).map(str::to_owned),
        })
    }
}
