//! The typed cluster keys: what each `KEY=value` in a cluster file means, which values it
//! accepts, its default, and when it is required. `fleetgen keys` prints this table.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

/// The type of a key's value; each parses the raw string into a [`Value`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type", content = "values")]
pub enum KeyType {
    /// One of a fixed set of words.
    Enum(Vec<String>),
    /// An IP network in CIDR notation, e.g. `10.244.0.0/16`.
    Cidr,
    /// A version `vMAJOR.MINOR.PATCH` (the `v` may be omitted and is added).
    Version,
    /// A non-negative whole number.
    Count,
    /// A TCP/UDP port, 1–65535.
    Port,
    Bool,
    /// A comma-separated list of IP addresses.
    IpList,
    /// The name of another cluster of the fleet.
    Cluster,
    /// A DNS-1123 label: lower-case letters, digits and `-`.
    Name,
    /// A Go duration as Flux takes it, e.g. `10m`, `1h30m`.
    Duration,
    /// A ClusterRole name (RBAC's rules; the fleet's allow-list is checked by the model).
    Role,
    /// Free text on one line, without control characters, at most [`MAX_TEXT`] bytes.
    Text,
}

/// Longest text value accepted: values are names, regions and IDs, never documents.
pub const MAX_TEXT: usize = 1024;

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyType::Enum(values) => write!(f, "{}", values.join("|")),
            KeyType::Cidr => f.write_str("cidr"),
            KeyType::Version => f.write_str("version"),
            KeyType::Count => f.write_str("count"),
            KeyType::Port => f.write_str("port"),
            KeyType::Bool => f.write_str("bool"),
            KeyType::IpList => f.write_str("ip-list"),
            KeyType::Cluster => f.write_str("cluster"),
            KeyType::Name => f.write_str("name"),
            KeyType::Duration => f.write_str("duration"),
            KeyType::Role => f.write_str("role"),
            KeyType::Text => f.write_str("text"),
        }
    }
}

/// A parsed value, as templates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    Number(u64),
    Bool(bool),
    List(Vec<String>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) => f.write_str(text),
            Value::Number(number) => write!(f, "{number}"),
            Value::Bool(flag) => write!(f, "{flag}"),
            Value::List(items) => f.write_str(&items.join(",")),
        }
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// When a key must have a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Required {
    No,
    /// Required for clusters whose `PROVIDER` is one of these.
    ForProviders(Vec<&'static str>),
    /// Required when `FLUX=remote`.
    ForRemoteFlux,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeySpec {
    pub name: String,
    #[serde(flatten)]
    pub ty: KeyType,
    pub default: Option<String>,
    pub required: Required,
    /// Providers this key applies to; empty when it applies to every cluster.
    pub providers: Vec<&'static str>,
    /// Whether an environment membership file may override it. Keys that shape the cluster
    /// itself (its provider, network, machines) cannot differ between environments, because
    /// the environments share the one cluster.
    pub per_environment: bool,
    pub help: String,
    /// Defined by the fleet (`keys:` in `fleet/fleet.yaml`) rather than by fleetgen.
    pub custom: bool,
}

/// The value `fleetgen add-cluster` writes for what only the user can decide (networks, key
/// pairs, versions). The loader refuses it with "fill in KEY", so an unfilled file can never
/// render with a guessed or empty value.
pub const PLACEHOLDER: &str = "<FILL-IN>";

/// Whether a raw value is still [`PLACEHOLDER`] (or a variant of it, such as `<FILL-IN: …>`
/// written by hand as a reminder).
pub fn is_placeholder(raw: &str) -> bool {
    raw.trim_start().starts_with("<FILL-IN")
}

pub const PROVIDERS: [&str; 4] = ["existing", "aws", "openstack", "docker"];
const CAPI: [&str; 3] = ["aws", "openstack", "docker"];

struct Builtin {
    name: &'static str,
    ty: fn() -> KeyType,
    default: Option<&'static str>,
    required: fn() -> Required,
    providers: &'static [&'static str],
    per_environment: bool,
    help: &'static str,
}

fn no() -> Required {
    Required::No
}
fn capi() -> Required {
    Required::ForProviders(CAPI.to_vec())
}
fn aws() -> Required {
    Required::ForProviders(vec!["aws"])
}
fn cloud() -> Required {
    Required::ForProviders(vec!["aws", "openstack"])
}
fn openstack() -> Required {
    Required::ForProviders(vec!["openstack"])
}
fn enumeration(values: &[&str]) -> KeyType {
    KeyType::Enum(values.iter().map(|value| (*value).to_owned()).collect())
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "PROVIDER",
        ty: || enumeration(&PROVIDERS),
        default: Some("existing"),
        required: no,
        providers: &[],
        per_environment: false,
        help: "How the cluster comes to exist: `existing` (made outside fleetgen), or provisioned by Cluster API on its MANAGED_BY cluster with the `aws`, `openstack` or `docker` infrastructure provider.",
    },
    Builtin {
        name: "MANAGED_BY",
        ty: || KeyType::Cluster,
        default: None,
        required: || Required::ForRemoteFlux,
        providers: &[],
        per_environment: false,
        help: "The management cluster: its Cluster API provisions this cluster (PROVIDER other than existing) and, with FLUX=remote, its Flux applies everything to this cluster through the `<cluster>-kubeconfig` Secret.",
    },
    Builtin {
        name: "FLUX",
        ty: || enumeration(&["local", "remote"]),
        default: Some("local"),
        required: no,
        providers: &[],
        per_environment: false,
        help: "`local`: Flux runs in the cluster, bootstrapped with --path=clusters/<cluster> on the main branch. `remote`: no Flux in the cluster; the MANAGED_BY cluster's Flux drives it.",
    },
    Builtin {
        name: "KUBERNETES_VERSION",
        ty: || KeyType::Version,
        default: None,
        required: capi,
        providers: &[],
        per_environment: false,
        help: "Kubernetes version of the control plane and the machines, e.g. v1.33.1.",
    },
    Builtin {
        name: "POD_CIDR",
        ty: || KeyType::Cidr,
        default: None,
        required: capi,
        providers: &[],
        per_environment: false,
        help: "Pod network. Must not overlap another cluster's pod, service or node network.",
    },
    Builtin {
        name: "SERVICE_CIDR",
        ty: || KeyType::Cidr,
        default: None,
        required: capi,
        providers: &[],
        per_environment: false,
        help: "Service network. Must not overlap another network of this or another cluster.",
    },
    Builtin {
        name: "NODE_CIDR",
        ty: || KeyType::Cidr,
        default: None,
        required: cloud,
        providers: &[],
        per_environment: false,
        help: "Network of the machines: the subnet CAPO creates on OpenStack, the VPC CIDR on AWS. Must not overlap another cluster's networks: two VPCs with one CIDR cannot be peered, and CAPA's default (10.0.0.0/16 for every cluster) is not used for that reason.",
    },
    Builtin {
        name: "CNI",
        ty: || enumeration(&["cilium", "calico", "none"]),
        default: Some("cilium"),
        required: no,
        providers: &CAPI,
        per_environment: false,
        help: "CNI installed into a Cluster API cluster at creation, by a HelmChartProxy of the Cluster API add-on provider for Helm (CAAPH, which the manager must run); `none` leaves it to you. With cilium the cluster runs without kube-proxy.",
    },
    Builtin {
        name: "CNI_VERSION",
        ty: || KeyType::Version,
        default: None,
        required: no,
        providers: &CAPI,
        per_environment: false,
        help: "Chart version of the CNI (cilium chart, or Calico's tigera-operator chart). Unset, the release fleetgen pins is installed (cilium v1.19.1, tigera-operator v3.30.2) and a KUBERNETES_VERSION it is not tested with is an error; a version set here is used as is.",
    },
    Builtin {
        name: "CLOUD_CONTROLLER_MANAGER_VERSION",
        ty: || KeyType::Version,
        default: None,
        required: no,
        providers: &["aws", "openstack"],
        per_environment: false,
        help: "Version of the cloud controller manager: the image tag on AWS, the chart version on OpenStack. Defaults to the release of KUBERNETES_VERSION's minor (v1.<minor>.0 on AWS, chart 2.<minor>.0 on OpenStack); its minor must not be newer than the cluster's.",
    },
    Builtin {
        name: "CONTROL_PLANE_MACHINE_COUNT",
        ty: || KeyType::Count,
        default: Some("1"),
        required: no,
        providers: &CAPI,
        per_environment: false,
        help: "Number of control-plane machines: odd (1, 3, 5), because each runs a member of the stacked etcd, whose quorum is a majority; Cluster API refuses an even number.",
    },
    Builtin {
        name: "WORKER_MACHINE_COUNT",
        ty: || KeyType::Count,
        default: Some("2"),
        required: no,
        providers: &CAPI,
        per_environment: false,
        help: "Number of worker machines.",
    },
    Builtin {
        name: "CLUSTER_READY_TIMEOUT",
        ty: || KeyType::Duration,
        default: Some("30m"),
        required: no,
        providers: &CAPI,
        per_environment: false,
        help: "How long the manager's `<cluster>-cluster` Kustomization waits for the Cluster and its control plane to be Available before it reports a failure; everything applied to the cluster waits for it.",
    },
    Builtin {
        name: "AWS_REGION",
        ty: || KeyType::Text,
        default: None,
        required: aws,
        providers: &["aws"],
        per_environment: false,
        help: "AWS region of the cluster, e.g. eu-west-1.",
    },
    Builtin {
        name: "AWS_SSH_KEY_NAME",
        ty: || KeyType::Text,
        default: None,
        required: aws,
        providers: &["aws"],
        per_environment: false,
        help: "Name of an EC2 key pair that exists in AWS_REGION.",
    },
    Builtin {
        name: "AWS_AMI_ID",
        ty: || KeyType::Text,
        default: None,
        required: aws,
        providers: &["aws"],
        per_environment: false,
        help: "EC2 image (ami-…) of every machine, built for KUBERNETES_VERSION in AWS_REGION. CAPA publishes images only for recent Kubernetes minors, as examples and not for production (`clusterawsadm ami list --kubernetes-version v1.33.4 --region eu-west-1` lists them); build your own with image-builder. Changing it makes new machine templates, and Cluster API replaces the machines.",
    },
    Builtin {
        name: "AWS_EBS_CSI",
        ty: || KeyType::Bool,
        default: Some("false"),
        required: no,
        providers: &["aws"],
        per_environment: false,
        help: "Install the EBS CSI driver (a CAAPH HelmChartProxy) for persistent volumes. It runs with the machines' instance profile, which then needs AWS's AmazonEBSCSIDriverPolicy.",
    },
    Builtin {
        name: "AWS_CONTROL_PLANE_MACHINE_TYPE",
        ty: || KeyType::Text,
        default: None,
        required: aws,
        providers: &["aws"],
        per_environment: false,
        help: "EC2 instance type of control-plane machines, e.g. t3.large. Changing it makes a new machine template, and Cluster API replaces the machines.",
    },
    Builtin {
        name: "AWS_NODE_MACHINE_TYPE",
        ty: || KeyType::Text,
        default: None,
        required: aws,
        providers: &["aws"],
        per_environment: false,
        help: "EC2 instance type of worker machines, e.g. t3.large. Changing it makes a new machine template, and Cluster API replaces the machines.",
    },
    Builtin {
        name: "AWS_AVAILABILITY_ZONE_USAGE_LIMIT",
        ty: || KeyType::Count,
        default: None,
        required: no,
        providers: &["aws"],
        per_environment: false,
        help: "How many availability zones the cluster's VPC spans (CAPA's default, 3, when unset). Each zone costs a NAT gateway and an Elastic IP; 1 is cheapest but has no zone redundancy.",
    },
    Builtin {
        name: "OPENSTACK_CLOUD",
        ty: || KeyType::Text,
        default: None,
        required: openstack,
        providers: &["openstack"],
        per_environment: false,
        help: "Name of the cloud in the clouds.yaml of the `<cluster>-cloud-config` Secret, which the operator creates in namespace <cluster> on the manager.",
    },
    Builtin {
        name: "OPENSTACK_EXTERNAL_NETWORK_ID",
        ty: || KeyType::Text,
        default: None,
        required: openstack,
        providers: &["openstack"],
        per_environment: false,
        help: "ID of the external (public) network for the router and the API load balancer.",
    },
    Builtin {
        name: "OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR",
        ty: || KeyType::Text,
        default: None,
        required: openstack,
        providers: &["openstack"],
        per_environment: false,
        help: "Flavor of control-plane machines. Changing it makes a new machine template, and Cluster API replaces the machines.",
    },
    Builtin {
        name: "OPENSTACK_NODE_MACHINE_FLAVOR",
        ty: || KeyType::Text,
        default: None,
        required: openstack,
        providers: &["openstack"],
        per_environment: false,
        help: "Flavor of worker machines. Changing it makes a new machine template, and Cluster API replaces the machines.",
    },
    Builtin {
        name: "OPENSTACK_IMAGE_NAME",
        ty: || KeyType::Text,
        default: None,
        required: openstack,
        providers: &["openstack"],
        per_environment: false,
        help: "Glance image the machines boot from, built for KUBERNETES_VERSION (image-builder). Changing it makes new machine templates, and Cluster API replaces the machines.",
    },
    Builtin {
        name: "OPENSTACK_SSH_KEY_NAME",
        ty: || KeyType::Text,
        default: None,
        required: openstack,
        providers: &["openstack"],
        per_environment: false,
        help: "Name of a Nova key pair.",
    },
    Builtin {
        name: "OPENSTACK_ROOT_VOLUME_SIZE",
        ty: || KeyType::Count,
        default: None,
        required: no,
        providers: &["openstack"],
        per_environment: false,
        help: "Size in GiB of a Cinder root volume for every machine, which flavors without a local disk need; unset, the machines boot from the flavor's disk.",
    },
    Builtin {
        name: "OPENSTACK_ROOT_VOLUME_TYPE",
        ty: || KeyType::Text,
        default: None,
        required: no,
        providers: &["openstack"],
        per_environment: false,
        help: "Cinder volume type of the root volumes (OPENSTACK_ROOT_VOLUME_SIZE); the cloud's default type when unset.",
    },
    Builtin {
        name: "OPENSTACK_CONTROL_PLANE_SERVER_GROUP",
        ty: || KeyType::Text,
        default: None,
        required: no,
        providers: &["openstack"],
        per_environment: false,
        help: "Name of a Nova server group for the control-plane machines, which CAPO does not create: make it with the anti-affinity (or soft-anti-affinity) policy so that one hypervisor failure cannot take down the etcd quorum.",
    },
    Builtin {
        name: "OPENSTACK_LB_PROVIDER",
        ty: || enumeration(&["amphora", "ovn"]),
        default: None,
        required: no,
        providers: &["openstack"],
        per_environment: false,
        help: "Octavia provider of the API server's load balancer (the cloud's default when unset). Set the same `lb-provider` in the [LoadBalancer] section of the cloud controller manager's cloud.conf for Services of type LoadBalancer.",
    },
    Builtin {
        name: "OPENSTACK_CINDER_CSI",
        ty: || KeyType::Bool,
        default: Some("false"),
        required: no,
        providers: &["openstack"],
        per_environment: false,
        help: "Install the Cinder CSI driver (a CAAPH HelmChartProxy) for persistent volumes, with the cloud controller manager's credentials; its chart version is the cloud controller manager's (2.<minor>.0, or CLOUD_CONTROLLER_MANAGER_VERSION).",
    },
    Builtin {
        name: "OPENSTACK_DNS_NAMESERVERS",
        ty: || KeyType::IpList,
        default: None,
        required: no,
        providers: &["openstack"],
        per_environment: false,
        help: "Comma-separated DNS servers of the machines' subnet (the subnet's default when unset).",
    },
    Builtin {
        name: "OPENSTACK_FAILURE_DOMAIN",
        ty: || KeyType::Text,
        default: None,
        required: no,
        providers: &["openstack"],
        per_environment: false,
        help: "Availability zone (Cluster API failure domain) of the worker machines; Nova picks one when unset.",
    },
    Builtin {
        name: "SYNC_INTERVAL",
        ty: || KeyType::Duration,
        default: Some("10m"),
        required: no,
        providers: &[],
        per_environment: true,
        help: "How often Flux reconciles this cluster's Kustomizations.",
    },
    Builtin {
        name: "TENANT_ROLE",
        ty: || KeyType::Role,
        default: Some("admin"),
        required: no,
        providers: &[],
        per_environment: true,
        help: "ClusterRole bound in each tenant namespace to the tenant's service account, unless the tenant file sets `role`. `admin` (not cluster-admin) keeps tenants inside their namespace.",
    },
];

/// All keys a fleet knows: fleetgen's own plus the fleet's custom ones, in table order.
#[derive(Debug, Clone)]
pub struct KeyRegistry {
    specs: Vec<KeySpec>,
}

impl Default for KeyRegistry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl KeyRegistry {
    pub fn builtin() -> Self {
        let specs = BUILTINS
            .iter()
            .map(|builtin| KeySpec {
                name: builtin.name.to_owned(),
                ty: (builtin.ty)(),
                default: builtin.default.map(str::to_owned),
                required: (builtin.required)(),
                providers: builtin.providers.to_vec(),
                per_environment: builtin.per_environment,
                help: builtin.help.to_owned(),
                custom: false,
            })
            .collect();
        Self { specs }
    }

    pub fn add(&mut self, spec: KeySpec) {
        self.specs.push(spec);
    }

    pub fn get(&self, name: &str) -> Option<&KeySpec> {
        self.specs.iter().find(|spec| spec.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &KeySpec> {
        self.specs.iter()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.specs.iter().map(|spec| spec.name.as_str())
    }
}

impl KeySpec {
    /// Parses a raw value, or explains what is expected.
    pub fn parse(&self, raw: &str) -> Result<Value, String> {
        parse_value(&self.ty, raw)
    }

    pub fn applies_to(&self, provider: &str) -> bool {
        self.providers.is_empty() || self.providers.contains(&provider)
    }

    pub fn is_required(&self, provider: &str, remote_flux: bool) -> bool {
        match &self.required {
            Required::No => false,
            Required::ForProviders(providers) => providers.contains(&provider),
            Required::ForRemoteFlux => remote_flux,
        }
    }
}

pub fn parse_value(ty: &KeyType, raw: &str) -> Result<Value, String> {
    match ty {
        KeyType::Enum(values) => {
            if values.iter().any(|value| value == raw) {
                Ok(Value::Text(raw.to_owned()))
            } else {
                Err(format!("expected one of {}", values.join(", ")))
            }
        }
        KeyType::Cidr => parse_cidr(raw).map(|net| Value::Text(net.to_string())),
        KeyType::Version => parse_version(raw).map(Value::Text),
        KeyType::Count => raw
            .parse::<u64>()
            .map(Value::Number)
            .map_err(|_| "expected a whole number, e.g. 3".to_owned()),
        KeyType::Port => match raw.parse::<u64>() {
            Ok(port @ 1..=65535) => Ok(Value::Number(port)),
            _ => Err("expected a port number between 1 and 65535".to_owned()),
        },
        KeyType::Bool => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("expected true or false".to_owned()),
        },
        KeyType::IpList => {
            let items: Vec<String> = raw
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect();
            for item in &items {
                item.parse::<IpAddr>().map_err(|_| {
                    format!(
                        "`{}` is not an IP address",
                        crate::diagnostic::truncate(item)
                    )
                })?;
            }
            Ok(Value::List(items))
        }
        KeyType::Cluster | KeyType::Name => {
            crate::model::names::check_label(raw)
                .map_err(|problem| format!("not a valid name: {problem}"))?;
            Ok(Value::Text(raw.to_owned()))
        }
        KeyType::Duration => parse_duration(raw).map(|()| Value::Text(raw.to_owned())),
        KeyType::Role => {
            crate::model::names::check_role(raw)
                .map_err(|problem| format!("not a valid ClusterRole name: {problem}"))?;
            Ok(Value::Text(raw.to_owned()))
        }
        KeyType::Text => {
            if raw.is_empty() {
                return Err("expected a value".to_owned());
            }
            if raw.len() > MAX_TEXT {
                return Err(format!(
                    "it is {} bytes long; text values are at most {MAX_TEXT}",
                    raw.len()
                ));
            }
            if let Some(bad) = raw
                .chars()
                .find(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
            {
                return Err(format!(
                    "it contains {}; text values are one line without control characters",
                    crate::model::names::describe_char(bad)
                ));
            }
            Ok(Value::Text(raw.to_owned()))
        }
    }
}

pub fn parse_cidr(raw: &str) -> Result<IpNet, String> {
    let net: IpNet = raw
        .parse()
        .map_err(|_| "expected a CIDR such as 10.244.0.0/16".to_owned())?;
    if net.network() != net.addr() {
        return Err(format!("host bits are set; the network is {}", net.trunc()));
    }
    Ok(net)
}

/// Accepts `v1.33.1` or `1.33.1` and returns the `v`-prefixed form Kubernetes uses.
pub fn parse_version(raw: &str) -> Result<String, String> {
    let digits = raw.strip_prefix('v').unwrap_or(raw);
    let (core, suffix) = match digits.split_once(['-', '+']) {
        Some((core, _)) => (core, &digits[core.len()..]),
        None => (digits, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |part: &&str| {
        !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part.len() == 1 || !part.starts_with('0'))
    };
    if parts.len() != 3 || !parts.iter().all(numeric) {
        return Err("expected a version MAJOR.MINOR.PATCH such as v1.33.1".to_owned());
    }
    Ok(format!("v{core}{suffix}"))
}

fn parse_duration(raw: &str) -> Result<(), String> {
    let error = || "expected a duration such as 30s, 10m or 1h".to_owned();
    if raw.is_empty() {
        return Err(error());
    }
    let mut rest = raw;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(error());
        }
        rest = &rest[digits..];
        let unit = ["ms", "h", "m", "s"]
            .into_iter()
            .find(|unit| rest.starts_with(unit))
            .ok_or_else(error)?;
        rest = &rest[unit.len()..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.33.1").unwrap(), "v1.33.1");
        assert_eq!(parse_version("v1.30.0-rc.1").unwrap(), "v1.30.0-rc.1");
        for bad in ["1.33", "v1.x.1", "latest", "", "v01.2.3", "\"\"1.25.4"] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert_eq!(
            parse_cidr("10.244.0.0/16").unwrap().to_string(),
            "10.244.0.0/16"
        );
        assert!(
            parse_cidr("10.244.1.0/16")
                .unwrap_err()
                .contains("10.244.0.0/16")
        );
        assert!(parse_cidr("10.244.0.0").is_err());
        assert!(parse_cidr("fd00::/64").is_ok());
    }

    #[test]
    fn durations_counts_ports() {
        assert!(parse_value(&KeyType::Duration, "1h30m").is_ok());
        assert!(parse_value(&KeyType::Duration, "10").is_err());
        assert_eq!(parse_value(&KeyType::Count, "3").unwrap(), Value::Number(3));
        assert!(parse_value(&KeyType::Count, "-1").is_err());
        assert!(parse_value(&KeyType::Port, "0").is_err());
        assert_eq!(
            parse_value(&KeyType::IpList, "9.9.9.9, 1.1.1.1").unwrap(),
            Value::List(vec!["9.9.9.9".into(), "1.1.1.1".into()])
        );
    }

    #[test]
    fn every_builtin_default_parses() {
        for spec in KeyRegistry::builtin().iter() {
            if let Some(default) = &spec.default {
                spec.parse(default)
                    .unwrap_or_else(|error| panic!("{}: {error}", spec.name));
            }
        }
    }
}
