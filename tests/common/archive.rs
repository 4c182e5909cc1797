//! ECR archive, which the emulator does not implement, played at the fault proxy as the Amazon
//! ECR API Reference documents it:
//! - `UpdateImageStorageClass` (request `repositoryName`, `imageId`, `targetStorageClass`
//!   `ARCHIVE` | `STANDARD`; answer `registryId`, `repositoryName`, `imageId`, `imageStatus`
//!   `ARCHIVED` | `ACTIVATING` | `ACTIVE`);
//! - `DescribeImages` (`ImageDetail.imageStatus`, `ImageDetail.lastRecordedPullTime`; and
//!   `DescribeImagesFilter.imageStatus`: "If not specified, only images with ACTIVE status are
//!   returned", so an archived image is listed only when the request asks for `ANY`).
//!
//! Not documented, modelled after docs/enforcement.md ("If ECR refuses it while the image is
//! still activating"): `BatchDeleteImage` on an image being restored answers
//! `InvalidParameterException`.

use super::proxy::FaultProxy;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    /// digest -> `ARCHIVED` | `ACTIVATING` (absent: `ACTIVE`).
    status: HashMap<String, &'static str>,
    /// digest -> `lastRecordedPullTime` (seconds since the epoch).
    last_pull: HashMap<String, i64>,
    /// digest -> Inspector's `inUseCount`.
    in_use: HashMap<String, u64>,
    /// The `targetStorageClass` of each `UpdateImageStorageClass`, in order.
    calls: Vec<(String, String)>,
}

/// The archive state of the proxy's images, shared with the answers it installs.
#[derive(Clone, Default)]
pub struct Archive(Arc<Mutex<State>>);

impl Archive {
    /// Installs the answers on `proxy`.
    pub fn install(proxy: &FaultProxy) -> Archive {
        let me = Archive::default();
        let state = me.clone();
        proxy.answer(
            "UpdateImageStorageClass",
            Arc::new(move |request: &[u8]| state.update(request)),
        );
        let state = me.clone();
        proxy.rewrite(
            "DescribeImages",
            Arc::new(move |request: &[u8], response: &str| state.describe(request, response)),
        );
        let state = me.clone();
        proxy.answer(
            super::inspector::OPERATION,
            Arc::new(move |request: &[u8]| state.in_use_answer(request)),
        );
        me
    }

    /// While an image is being restored, `BatchDeleteImage` is refused (until the test calls
    /// `proxy.unanswer("BatchDeleteImage")`, as ECR finishes the restore).
    pub fn refuse_deletes(proxy: &FaultProxy) {
        proxy.answer(
            "BatchDeleteImage",
            Arc::new(|_request: &[u8]| {
                error(
                    400,
                    "InvalidParameterException",
                    "the image is being restored from the archive (ACTIVATING)",
                )
            }),
        );
    }

    pub fn set_status(&self, digest: &str, status: &'static str) {
        let mut st = self.0.lock().unwrap();
        if status == "ACTIVE" {
            st.status.remove(digest);
        } else {
            st.status.insert(digest.to_string(), status);
        }
    }

    pub fn status(&self, digest: &str) -> &'static str {
        self.0
            .lock()
            .unwrap()
            .status
            .get(digest)
            .copied()
            .unwrap_or("ACTIVE")
    }

    pub fn set_last_pull(&self, digest: &str, epoch_s: i64) {
        self.0
            .lock()
            .unwrap()
            .last_pull
            .insert(digest.to_string(), epoch_s);
    }

    pub fn set_in_use(&self, digest: &str, count: u64) {
        self.0
            .lock()
            .unwrap()
            .in_use
            .insert(digest.to_string(), count);
    }

    /// (digest, targetStorageClass) of every `UpdateImageStorageClass`, in order.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().calls.clone()
    }

    fn update(&self, request: &[u8]) -> (u16, String) {
        let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
        let Some(digest) = request["imageId"]["imageDigest"].as_str() else {
            return error(
                400,
                "InvalidParameterException",
                "imageId.imageDigest is required",
            );
        };
        let target = request["targetStorageClass"].as_str().unwrap_or("");
        let mut st = self.0.lock().unwrap();
        st.calls.push((digest.to_string(), target.to_string()));
        let now = st.status.get(digest).copied().unwrap_or("ACTIVE");
        let after = match (target, now) {
            ("ARCHIVE", "ACTIVE") | ("ARCHIVE", "ARCHIVED") => "ARCHIVED",
            ("STANDARD", "ARCHIVED") | ("STANDARD", "ACTIVATING") => "ACTIVATING",
            ("STANDARD", "ACTIVE") => "ACTIVE",
            ("ARCHIVE", "ACTIVATING") => {
                return error(
                    400,
                    "ImageStorageClassUpdateNotSupportedException",
                    "the image is being restored",
                )
            }
            _ => {
                return error(
                    400,
                    "ValidationException",
                    "targetStorageClass must be ARCHIVE or STANDARD",
                )
            }
        };
        if after == "ACTIVE" {
            st.status.remove(digest);
        } else {
            st.status.insert(digest.to_string(), after);
        }
        let answer = json!({
            "registryId": "123456789012",
            "repositoryName": request["repositoryName"],
            "imageId": {"imageDigest": digest},
            "imageStatus": after,
        });
        (200, answer.to_string())
    }

    fn describe(&self, request: &[u8], response: &str) -> String {
        let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
        let wanted = request["filter"]["imageStatus"]
            .as_str()
            .unwrap_or("ACTIVE")
            .to_string();
        let Ok(mut doc) = serde_json::from_str::<Value>(response) else {
            return response.to_string();
        };
        let st = self.0.lock().unwrap();
        if let Some(details) = doc["imageDetails"].as_array_mut() {
            details.retain_mut(|d| {
                let digest = d["imageDigest"].as_str().unwrap_or("").to_string();
                let status = st.status.get(&digest).copied().unwrap_or("ACTIVE");
                d["imageStatus"] = json!(status);
                if let Some(t) = st.last_pull.get(&digest) {
                    d["lastRecordedPullTime"] = json!(t);
                }
                wanted == "ANY" || wanted == status
            });
        }
        doc.to_string()
    }

    /// Inspector's `ListFindingAggregations` for one image (`imageShas` filter): its
    /// `inUseCount` (Amazon Inspector API Reference, AwsEcrContainerAggregationResponse).
    fn in_use_answer(&self, request: &[u8]) -> (u16, String) {
        let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
        let filter = &request["aggregationRequest"]["awsEcrContainerAggregation"];
        let repo = filter["repositories"][0]["value"].as_str().unwrap_or("");
        let st = self.0.lock().unwrap();
        let responses: Vec<Value> = filter["imageShas"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["value"].as_str())
            .filter_map(|sha| {
                let count = st.in_use.get(sha)?;
                Some(json!({"awsEcrContainerAggregation": {
                    "resourceId": format!("arn:aws:ecr:us-east-1:123456789012:repository/{repo}/{sha}"),
                    "imageSha": sha,
                    "repository": repo,
                    "severityCounts": {"all": 0, "critical": 0, "high": 0, "medium": 0},
                    "inUseCount": count,
                    "lastInUseAt": 1_796_212_800,
                }}))
            })
            .collect();
        (
            200,
            json!({"aggregationType": "AWS_ECR_CONTAINER", "responses": responses}).to_string(),
        )
    }
}

/// An awsJson1_1 error as ECR answers it.
fn error(status: u16, kind: &str, message: &str) -> (u16, String) {
    (
        status,
        json!({"__type": kind, "message": message}).to_string(),
    )
}
