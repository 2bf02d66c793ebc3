//! How many pods an object asks for: a HorizontalPodAutoscaler's bounds, and a
//! PodDisruptionBudget's one limit. The schemas take `maxReplicas` below `minReplicas`, or
//! both limits of a budget; the API server refuses them.

use serde_json::Value;

use super::Findings;

impl Findings<'_, '_> {
    pub(super) fn autoscaler(&mut self, value: &Value) {
        let replicas = |field: &str| {
            value
                .pointer(&format!("/spec/{field}"))
                .and_then(Value::as_i64)
        };
        let (min, max) = (replicas("minReplicas"), replicas("maxReplicas"));
        if let Some(min) = min
            && min < 1
        {
            self.error(
                "/spec/minReplicas",
                format!("{min} is below 1 (scaling to zero needs a feature gate the API server has off by default)"),
            );
        }
        match (min, max) {
            (_, Some(max)) if max < 1 => {
                self.error("/spec/maxReplicas", format!("{max} is below 1"));
            }
            (Some(min), Some(max)) if max < min => self.error(
                "/spec/maxReplicas",
                format!("{max} is below `minReplicas`, {min}"),
            ),
            _ => {}
        }
    }

    pub(super) fn disruption_budget(&mut self, value: &Value) {
        let Some(spec) = value.get("spec").and_then(Value::as_object) else {
            return;
        };
        let given = |field: &str| spec.get(field).is_some_and(|value| !value.is_null());
        if given("minAvailable") && given("maxUnavailable") {
            self.error(
                "/spec",
                "a budget sets `minAvailable` or `maxUnavailable`, not both".to_owned(),
            );
        }
        for field in ["minAvailable", "maxUnavailable"] {
            self.count_or_percentage(&format!("/spec/{field}"), spec.get(field), true);
        }
    }
}
