//! What the emulator's DescribeImages lacks, added by the fault proxy's rewrite hook: each
//! image's `imageScanStatus` and `imageScanFindingsSummary` (AWS returns them once a scan
//! finished), and pagination (`maxResults`/`nextToken`), which the emulator ignores.

use super::proxy::FaultProxy;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Per digest: the scan status and the severity counts the proxy adds.
#[derive(Clone, Default)]
pub struct Summaries(Arc<Mutex<HashMap<String, (String, Value)>>>);

impl Summaries {
    /// `counts` like `{"CRITICAL": 1}`; `Value::Null` adds the status without a summary.
    pub fn set(&self, digest: &str, status: &str, counts: Value) {
        self.0
            .lock()
            .unwrap()
            .insert(digest.to_string(), (status.to_string(), counts));
    }

    /// Rewrites every DescribeImages answer through `proxy`; with `page_size`, a listing (no
    /// `imageIds`) is cut into pages of that many images, with `nextToken`s `page-N`.
    pub fn install(&self, proxy: &FaultProxy, page_size: Option<usize>) {
        let me = self.clone();
        proxy.rewrite(
            "DescribeImages",
            Arc::new(move |request: &[u8], response: &str| {
                let Ok(mut doc) = serde_json::from_str::<Value>(response) else {
                    return response.to_string();
                };
                let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
                let Some(details) = doc.get_mut("imageDetails").and_then(Value::as_array_mut)
                else {
                    return response.to_string();
                };
                let known = me.0.lock().unwrap().clone();
                for d in details.iter_mut() {
                    let digest = d["imageDigest"].as_str().unwrap_or_default().to_string();
                    if let Some((status, counts)) = known.get(&digest) {
                        d["imageScanStatus"] = json!({"status": status, "description": "seeded"});
                        if !counts.is_null() {
                            d["imageScanFindingsSummary"] = json!({
                                "imageScanCompletedAt": 1_795_700_000.0,
                                "vulnerabilitySourceUpdatedAt": 1_795_600_000.0,
                                "findingSeverityCounts": counts,
                            });
                        }
                    }
                }
                if let (Some(size), None) = (page_size, request.get("imageIds")) {
                    details
                        .sort_by(|a, b| a["imageDigest"].as_str().cmp(&b["imageDigest"].as_str()));
                    let page: usize = request["nextToken"]
                        .as_str()
                        .and_then(|t| t.strip_prefix("page-"))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    let total = details.len();
                    let kept: Vec<Value> = details.drain(..).skip(page * size).take(size).collect();
                    *details = kept;
                    if (page + 1) * size < total {
                        doc["nextToken"] = json!(format!("page-{}", page + 1));
                    }
                }
                doc.to_string()
            }),
        );
    }
}
