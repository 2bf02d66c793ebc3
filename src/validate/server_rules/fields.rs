//! Fields of built-in kinds that the OpenAPI document types as any string or integer but the
//! API server takes only from a fixed set (a pull policy, a Service's type, a pod's restart
//! policy for its kind) or from zero up (replicas, history limits), a CronJob's schedule, the
//! image every container needs, and the rollout strategies of workloads.
//! `imagePullPolicy: Sometimes` or `replicas: -1` pass every schema; applying them fails the
//! whole Kustomization.

use serde_json::{Map, Value};

use super::{CONTAINER_LISTS, Findings, items, substituted};

const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
const TRAFFIC_POLICIES: &[&str] = &["Cluster", "Local"];
const UPDATE_STRATEGIES: &[&str] = &["RollingUpdate", "OnDelete"];

/// A field's path (`*` for every item of a list) and the values the API server supports there.
type Choice = (&'static [&'static str], &'static [&'static str]);

/// The fields of a kind's own that take one of a fixed set of values.
fn choices(group: &str, kind: &str) -> &'static [Choice] {
    match (group, kind) {
        ("", "Service") => &[
            (
                &["spec", "type"],
                &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"],
            ),
            (&["spec", "ports", "*", "protocol"], PROTOCOLS),
            (&["spec", "sessionAffinity"], &["None", "ClientIP"]),
            (&["spec", "externalTrafficPolicy"], TRAFFIC_POLICIES),
            (&["spec", "internalTrafficPolicy"], TRAFFIC_POLICIES),
            (
                &["spec", "ipFamilyPolicy"],
                &["SingleStack", "PreferDualStack", "RequireDualStack"],
            ),
            (&["spec", "ipFamilies", "*"], &["IPv4", "IPv6"]),
        ],
        ("apps", "Deployment") => &[(
            &["spec", "strategy", "type"],
            &["Recreate", "RollingUpdate"],
        )],
        ("apps", "StatefulSet") => &[
            (
                &["spec", "podManagementPolicy"],
                &["OrderedReady", "Parallel"],
            ),
            (&["spec", "updateStrategy", "type"], UPDATE_STRATEGIES),
        ],
        ("apps", "DaemonSet") => &[(&["spec", "updateStrategy", "type"], UPDATE_STRATEGIES)],
        ("batch", "CronJob") => &[(
            &["spec", "concurrencyPolicy"],
            &["Allow", "Forbid", "Replace"],
        )],
        ("", "PersistentVolumeClaim") => &[
            (
                &["spec", "accessModes", "*"],
                &[
                    "ReadWriteOnce",
                    "ReadOnlyMany",
                    "ReadWriteMany",
                    "ReadWriteOncePod",
                ],
            ),
            (&["spec", "volumeMode"], &["Filesystem", "Block"]),
        ],
        ("networking.k8s.io", "Ingress") => &[(
            &["spec", "rules", "*", "http", "paths", "*", "pathType"],
            &["Exact", "Prefix", "ImplementationSpecific"],
        )],
        ("networking.k8s.io", "NetworkPolicy") => &[
            (&["spec", "policyTypes", "*"], &["Ingress", "Egress"]),
            (
                &["spec", "ingress", "*", "ports", "*", "protocol"],
                PROTOCOLS,
            ),
            (
                &["spec", "egress", "*", "ports", "*", "protocol"],
                PROTOCOLS,
            ),
        ],
        _ => &[],
    }
}

/// The fields of a pod's spec that take one of a fixed set of values, besides its restart
/// policy (see [`restart_policies`]).
const POD_CHOICES: &[Choice] = &[(
    &["dnsPolicy"],
    &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
)];

/// The fields of a container that take one of a fixed set of values.
const CONTAINER_CHOICES: &[Choice] = &[
    (&["imagePullPolicy"], &["Always", "IfNotPresent", "Never"]),
    (
        &["terminationMessagePolicy"],
        &["File", "FallbackToLogsOnError"],
    ),
    (&["ports", "*", "protocol"], PROTOCOLS),
];

/// The restart policies the pods of a kind may have, and whether leaving it out is one of
/// them: a Job's pods must say, since the default (`Always`) is not one a Job takes.
fn restart_policies(group: &str, kind: &str) -> (&'static [&'static str], bool) {
    match (group, kind) {
        ("batch", "Job" | "CronJob") => (&["OnFailure", "Never"], false),
        ("", "Pod" | "PodTemplate") => (&["Always", "OnFailure", "Never"], true),
        _ => (&["Always"], true),
    }
}

/// The fields of a kind that count from zero up.
fn counts(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("apps", "Deployment" | "StatefulSet") => &[
            "/spec/replicas",
            "/spec/minReadySeconds",
            "/spec/revisionHistoryLimit",
        ],
        ("apps", "ReplicaSet") | ("", "ReplicationController") => {
            &["/spec/replicas", "/spec/minReadySeconds"]
        }
        ("apps", "DaemonSet") => &["/spec/minReadySeconds", "/spec/revisionHistoryLimit"],
        ("batch", "Job") => &[
            "/spec/parallelism",
            "/spec/completions",
            "/spec/backoffLimit",
        ],
        ("batch", "CronJob") => &[
            "/spec/startingDeadlineSeconds",
            "/spec/successfulJobsHistoryLimit",
            "/spec/failedJobsHistoryLimit",
        ],
        _ => &[],
    }
}

impl Findings<'_, '_> {
    /// The fields of an object of a built-in kind: its own, and those of its pod spec, when it
    /// has one (where it is, and the spec).
    pub(super) fn fields(
        &mut self,
        (group, kind): (&str, &str),
        value: &Value,
        pod: Option<(&str, &Map<String, Value>)>,
    ) {
        if let Some(object) = value.as_object() {
            self.choices("", object, choices(group, kind));
        }
        if (group, kind) == ("batch", "CronJob")
            && let Some(schedule) = value.pointer("/spec/schedule").and_then(Value::as_str)
            && !substituted(schedule)
            && let Err(problem) = super::schedule::check(schedule)
        {
            let schedule = crate::diagnostic::truncate(schedule);
            let message = format!("`{schedule}` is not a cron schedule: {problem}");
            self.error("/spec/schedule", message);
        }
        for &pointer in counts(group, kind) {
            self.count(pointer, value.pointer(pointer));
        }
        if (group, kind) == ("apps", "Deployment")
            && let Some(strategy) = value.pointer("/spec/strategy").and_then(Value::as_object)
        {
            self.deployment_strategy(strategy);
        }
        if let ("apps", "DaemonSet" | "StatefulSet") = (group, kind)
            && let Some(strategy) = value
                .pointer("/spec/updateStrategy")
                .and_then(Value::as_object)
        {
            self.update_strategy(kind, strategy);
        }
        let Some((at, spec)) = pod else {
            return;
        };
        self.choices(at, spec, POD_CHOICES);
        self.restart_policy(at, spec, restart_policies(group, kind));
        let grace = format!("{at}/terminationGracePeriodSeconds");
        self.count(&grace, spec.get("terminationGracePeriodSeconds"));
        if spec
            .get("containers")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            self.error(
                &format!("{at}/containers"),
                "a pod needs a container".to_owned(),
            );
        }
        for list in CONTAINER_LISTS {
            for (index, container) in items(spec, list) {
                let here = format!("{at}/{list}/{index}");
                self.choices(&here, container, CONTAINER_CHOICES);
                self.image(&here, container);
            }
        }
    }

    /// Each of `choices` under `value`, which is at `at`.
    fn choices(&mut self, at: &str, object: &Map<String, Value>, choices: &[Choice]) {
        for &(path, supported) in choices {
            let Some((first, rest)) = path.split_first() else {
                continue;
            };
            let Some(value) = object.get(*first) else {
                continue;
            };
            each(
                value,
                rest,
                format!("{at}/{first}"),
                &mut |pointer, found| {
                    if let Some(text) = found.as_str()
                        && !substituted(text)
                        && !supported.contains(&text)
                    {
                        self.error(&pointer, unsupported(text, supported));
                    }
                },
            );
        }
    }

    fn restart_policy(
        &mut self,
        at: &str,
        spec: &Map<String, Value>,
        (supported, optional): (&[&str], bool),
    ) {
        match spec.get("restartPolicy") {
            Some(Value::String(policy)) if substituted(policy) => {}
            Some(Value::String(policy)) if !supported.contains(&policy.as_str()) => {
                self.error(
                    &format!("{at}/restartPolicy"),
                    unsupported(policy, supported),
                );
            }
            None if !optional => {
                let kind = self.document.kind().unwrap_or_default();
                let message = format!(
                    "a {kind}'s pods must set `restartPolicy` to {}: the default, `Always`, is refused for a {kind}",
                    listed(supported, "or")
                );
                self.error(at, message);
            }
            _ => {}
        }
    }

    /// A Deployment's strategy: a rolling update's settings only for a rolling update, which
    /// must be able to move (not both `maxSurge` and `maxUnavailable` 0), each a count or a
    /// percentage, at most 100 % unavailable.
    fn deployment_strategy(&mut self, strategy: &Map<String, Value>) {
        let rolling = strategy.get("rollingUpdate").and_then(Value::as_object);
        match strategy.get("type").and_then(Value::as_str) {
            Some("Recreate") if rolling.is_some() => self.error(
                "/spec/strategy/rollingUpdate",
                "a `Recreate` strategy has no `rollingUpdate` settings".to_owned(),
            ),
            Some("RollingUpdate") | None => {
                let Some(rolling) = rolling else {
                    return;
                };
                let mut amounts = [None, None];
                for (amount, field) in amounts.iter_mut().zip(["maxSurge", "maxUnavailable"]) {
                    let pointer = format!("/spec/strategy/rollingUpdate/{field}");
                    *amount = self.count_or_percentage(
                        &pointer,
                        rolling.get(field),
                        field == "maxUnavailable",
                    );
                }
                if amounts == [Some(0), Some(0)] {
                    self.error(
                        "/spec/strategy/rollingUpdate/maxUnavailable",
                        "a rolling update with `maxSurge` 0 needs a `maxUnavailable` above 0, or it cannot replace a pod".to_owned(),
                    );
                }
            }
            _ => {}
        }
    }

    /// A DaemonSet's or StatefulSet's update strategy. A DaemonSet's rolling update either
    /// starts a pod before it stops the old one (`maxSurge`) or stops it first
    /// (`maxUnavailable`, which defaults to 1), exactly one of the two; a StatefulSet's
    /// `OnDelete` strategy has no rolling update settings.
    fn update_strategy(&mut self, kind: &str, strategy: &Map<String, Value>) {
        const AT: &str = "/spec/updateStrategy/rollingUpdate";
        let rolling = strategy.get("rollingUpdate").and_then(Value::as_object);
        let kind_of = strategy.get("type").and_then(Value::as_str);
        match (kind, kind_of) {
            ("StatefulSet", Some("OnDelete")) if rolling.is_some() => self.error(
                AT,
                "an `OnDelete` update strategy has no `rollingUpdate` settings".to_owned(),
            ),
            ("StatefulSet", _) => {
                let partition = rolling.and_then(|rolling| rolling.get("partition"));
                self.count(&format!("{AT}/partition"), partition);
            }
            ("DaemonSet", Some("RollingUpdate") | None) => {
                let empty = Map::new();
                let rolling = rolling.unwrap_or(&empty);
                let mut amount = |field: &str, default: i64| match rolling.get(field) {
                    None | Some(Value::Null) => Some(default),
                    found => self.count_or_percentage(&format!("{AT}/{field}"), found, true),
                };
                let surge = amount("maxSurge", 0);
                let unavailable = amount("maxUnavailable", 1);
                match (surge, unavailable) {
                    (Some(1..), Some(1..)) => self.error(
                        &format!("{AT}/maxSurge"),
                        "a DaemonSet's rolling update surges or takes pods down, not both: with a `maxSurge`, set `maxUnavailable` to 0 (it defaults to 1)".to_owned(),
                    ),
                    (Some(0), Some(0)) => self.error(
                        &format!("{AT}/maxUnavailable"),
                        "a DaemonSet's rolling update with `maxSurge` 0 needs a `maxUnavailable` above 0".to_owned(),
                    ),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// A count or a percentage at `pointer` (`3`, `25%`), if one is there: not below zero,
    /// and where `at_most_all`, not above 100%. Its number, if it is valid.
    pub(super) fn count_or_percentage(
        &mut self,
        pointer: &str,
        found: Option<&Value>,
        at_most_all: bool,
    ) -> Option<i64> {
        match found? {
            Value::Number(number) => {
                self.count(pointer, found);
                number.as_i64().filter(|number| *number >= 0)
            }
            Value::String(text) if !substituted(text) => match percentage(text) {
                Some(percent) if at_most_all && percent > 100 => {
                    let text = crate::diagnostic::truncate(text);
                    self.error(pointer, format!("`{text}` is more than 100%"));
                    None
                }
                Some(percent) => Some(percent),
                None => {
                    let text = crate::diagnostic::truncate(text);
                    let message =
                        format!("`{text}` is neither a count nor a percentage such as `25%`");
                    self.error(pointer, message);
                    None
                }
            },
            _ => None,
        }
    }

    /// A count at `pointer`, if it is a number there: not below zero.
    fn count(&mut self, pointer: &str, found: Option<&Value>) {
        if let Some(number) = found.and_then(Value::as_i64)
            && number < 0
        {
            self.error(
                pointer,
                format!("{number} is below zero; the API server takes 0 or more"),
            );
        }
    }

    /// Every container needs an image: the API server refuses one without, in pod templates
    /// as in pods.
    fn image(&mut self, here: &str, container: &Map<String, Value>) {
        match container.get("image") {
            Some(Value::String(image)) if !image.is_empty() => {}
            Some(Value::String(_)) => self.error(
                &format!("{here}/image"),
                "a container's image may not be empty".to_owned(),
            ),
            None | Some(Value::Null) => self.error(here, "a container needs an `image`".to_owned()),
            // Of another type: the schema check says so.
            Some(_) => {}
        }
    }
}

/// The number of a percentage as the API server reads one: digits and `%`.
fn percentage(text: &str) -> Option<i64> {
    let digits = text.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    // Digits past what fits are more than 100 all the same.
    Some(digits.parse().unwrap_or(i64::MAX))
}

/// Calls `found` with the pointer and value of each place `path` leads to from `value`, which
/// is at `pointer`.
fn each<'v>(
    value: &'v Value,
    path: &[&str],
    pointer: String,
    found: &mut dyn FnMut(String, &'v Value),
) {
    let Some((&first, rest)) = path.split_first() else {
        found(pointer, value);
        return;
    };
    match first {
        "*" => {
            for (index, item) in value.as_array().into_iter().flatten().enumerate() {
                each(item, rest, format!("{pointer}/{index}"), found);
            }
        }
        key => {
            if let Some(next) = value.get(key) {
                each(next, rest, format!("{pointer}/{key}"), found);
            }
        }
    }
}

pub(super) fn unsupported(value: &str, supported: &[&str]) -> String {
    let value = crate::diagnostic::truncate(value);
    match supported {
        [only] => format!("`{value}` is not supported here: only `{only}`"),
        _ => format!(
            "`{value}` is not supported here: {}",
            listed(supported, "or")
        ),
    }
}

/// `A`, `B` or `C` (with `last` for `or`), each cut to a length a message can hold.
pub(super) fn listed(values: &[&str], last: &str) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|value| format!("`{}`", crate::diagnostic::truncate(value)))
        .collect();
    match quoted.split_last() {
        Some((only, [])) => only.clone(),
        Some((tail, head)) => format!("{} {last} {tail}", head.join(", ")),
        None => String::new(),
    }
}
