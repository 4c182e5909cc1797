//! Amazon Inspector's `ListFindingAggregations`, which the emulator does not implement,
//! answered by the fault proxy as the Amazon Inspector API Reference documents it
//! ("ListFindingAggregations": `POST /findings/aggregation/list`, request `aggregationType`,
//! `aggregationRequest.awsEcrContainerAggregation.repositories` (StringFilter `EQUALS`),
//! `maxResults` up to 100, `nextToken`; answer `aggregationType`, `responses[]` of
//! `AwsEcrContainerAggregationResponse` {`resourceId`, `imageSha`, `repository`, `imageTags`,
//! `severityCounts` {`all`, `critical`, `high`, `medium`}, `inUseCount`, `lastInUseAt`},
//! `nextToken`).

use super::proxy::FaultProxy;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The operation as the proxy names a REST request: method and path.
pub const OPERATION: &str = "POST /findings/aggregation/list";

/// `severityCounts` {all, critical, high, medium} of one image.
type SeverityCounts = [u64; 4];

/// Per (repository, digest): its `severityCounts`.
#[derive(Clone, Default)]
pub struct Inspector(Arc<Mutex<BTreeMap<(String, String), SeverityCounts>>>);

impl Inspector {
    pub fn set(
        &self,
        repository: &str,
        digest: &str,
        all: u64,
        critical: u64,
        high: u64,
        medium: u64,
    ) {
        self.0.lock().unwrap().insert(
            (repository.to_string(), digest.to_string()),
            [all, critical, high, medium],
        );
    }

    /// Answers `ListFindingAggregations` through `proxy` from what was set.
    pub fn install(&self, proxy: &FaultProxy) {
        let me = self.clone();
        proxy.answer(
            OPERATION,
            Arc::new(move |request: &[u8]| {
                let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
                if request["aggregationType"] != "AWS_ECR_CONTAINER" {
                    return (
                        400,
                        json!({"message": "only AWS_ECR_CONTAINER is modelled"}).to_string(),
                    );
                }
                let filters = &request["aggregationRequest"]["awsEcrContainerAggregation"]
                    ["repositories"];
                let wanted: Vec<&str> = filters
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .filter(|f| f["comparison"] == "EQUALS")
                            .filter_map(|f| f["value"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                let max = request["maxResults"].as_u64().unwrap_or(100).min(100) as usize;
                let page: usize = request["nextToken"]
                    .as_str()
                    .and_then(|t| t.strip_prefix("page-"))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let all = me.0.lock().unwrap().clone();
                let matching: Vec<_> = all
                    .iter()
                    .filter(|((repo, _), _)| wanted.is_empty() || wanted.contains(&repo.as_str()))
                    .collect();
                let responses: Vec<Value> = matching
                    .iter()
                    .skip(page * max)
                    .take(max)
                    .map(|((repo, digest), [all, critical, high, medium])| {
                        json!({"awsEcrContainerAggregation": {
                            "resourceId": format!("arn:aws:ecr:us-east-1:123456789012:repository/{repo}/{digest}"),
                            "imageSha": digest,
                            "repository": repo,
                            "architecture": "amd64",
                            "imageTags": [],
                            "accountId": "123456789012",
                            "severityCounts": {"all": all, "critical": critical, "high": high, "medium": medium},
                            "inUseCount": 0,
                        }})
                    })
                    .collect();
                let mut answer = json!({"aggregationType": "AWS_ECR_CONTAINER", "responses": responses});
                if (page + 1) * max < matching.len() {
                    answer["nextToken"] = json!(format!("page-{}", page + 1));
                }
                (200, answer.to_string())
            }),
        );
    }
}
