//! How many pods an object asks for: a HorizontalPodAutoscaler's bounds and the metrics it
//! scales on, and a PodDisruptionBudget's one limit. The schemas take `maxReplicas` below `minReplicas`, or
//! both limits of a budget; the API server refuses them.

use serde_json::Value;

use super::fields::unsupported;
use super::{Findings, given, items, literal};

/// An autoscaler metric's types, and the field each gives its source in.
const METRIC_SOURCES: [(&str, &str); 5] = [
    ("Resource", "resource"),
    ("ContainerResource", "containerResource"),
    ("Pods", "pods"),
    ("Object", "object"),
    ("External", "external"),
];

const TARGET_TYPES: [&str; 3] = ["Utilization", "Value", "AverageValue"];

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

    /// An autoscaler's metrics (autoscaling/v2): each of the type it says, with only that
    /// source's fields, and a target the API server can scale on.
    pub(super) fn autoscaler_metrics(&mut self, value: &Value) {
        let Some(spec) = value.get("spec").and_then(Value::as_object) else {
            return;
        };
        for (index, metric) in items(spec, "metrics") {
            let at = format!("/spec/metrics/{index}");
            let Some(kind) = literal(metric, "type") else {
                continue;
            };
            let Some(&(_, source)) = METRIC_SOURCES.iter().find(|(name, _)| *name == kind) else {
                let kinds: Vec<&str> = METRIC_SOURCES.iter().map(|(name, _)| *name).collect();
                self.error(&format!("{at}/type"), unsupported(kind, &kinds));
                continue;
            };
            for (_, other) in METRIC_SOURCES.iter().filter(|(_, other)| *other != source) {
                if given(metric, other) {
                    self.error(
                        &format!("{at}/{other}"),
                        format!("a `{kind}` metric gives its source in `{source}` only"),
                    );
                }
            }
            let Some(fields) = metric.get(source).and_then(Value::as_object) else {
                self.error(
                    &at,
                    format!("a `{kind}` metric needs its source in `{source}`"),
                );
                continue;
            };
            let here = format!("{at}/{source}/target");
            let Some(target) = fields.get("target").and_then(Value::as_object) else {
                continue;
            };
            if let Some(kind) = literal(target, "type")
                && !TARGET_TYPES.contains(&kind)
            {
                self.error(&format!("{here}/type"), unsupported(kind, &TARGET_TYPES));
            }
            if let Some(utilization) = target.get("averageUtilization").and_then(Value::as_i64)
                && utilization < 1
            {
                self.error(
                    &format!("{here}/averageUtilization"),
                    format!("{utilization} is below 1"),
                );
            }
            match source {
                "resource" | "containerResource" => {
                    match (given(target, "averageUtilization"), given(target, "averageValue")) {
                        (false, false) => self.error(
                            &here,
                            "a resource metric's target needs an `averageUtilization` or an `averageValue`".to_owned(),
                        ),
                        (true, true) => self.error(
                            &here,
                            "a resource metric's target has an `averageUtilization` or an `averageValue`, not both".to_owned(),
                        ),
                        _ => {}
                    }
                }
                "pods" if !given(target, "averageValue") => self.error(
                    &here,
                    "a `Pods` metric's target needs an `averageValue`".to_owned(),
                ),
                _ => {}
            }
        }
    }

    pub(super) fn disruption_budget(&mut self, value: &Value) {
        let Some(spec) = value.get("spec").and_then(Value::as_object) else {
            return;
        };
        if given(spec, "minAvailable") && given(spec, "maxUnavailable") {
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
