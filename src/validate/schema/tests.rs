use serde_json::{Value, json};

use super::compile::{Store, warm_in};
use super::{Layer, Schemas};
use crate::validate::document::Document;
use crate::validate::embedded;

#[test]
fn swagger_definitions_are_made_strict() {
    let mut schemas = Schemas::new();
    let swagger = json!({
        "swagger": "2.0",
        "definitions": {
            "io.k8s.api.core.v1.ConfigMap": {
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
                    "data": {"type": "object", "additionalProperties": {"type": "string"}}
                },
                "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "ConfigMap"}]
            },
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}}
            }
        }
    });
    schemas.set_kubernetes(swagger, "test").unwrap();
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  nmespace: y\ndata:\n  a: b\n";
    let document = super::super::parse::parse_file("main", "cm.yaml", text.as_bytes())
        .unwrap()
        .remove(0);
    let findings = schemas.check(&document, false);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        findings[0].message,
        "v1 ConfigMap x: /metadata/nmespace: unknown field `nmespace`"
    );
    assert_eq!(findings[0].location.as_ref().unwrap().line, 5);
    let text = "apiVersion: v2\nkind: ConfigMap\nmetadata:\n  name: x\n";
    let document = super::super::parse::parse_file("main", "cm.yaml", text.as_bytes())
        .unwrap()
        .remove(0);
    assert_eq!(
        schemas.check(&document, false)[0].message,
        "v2 ConfigMap x: v2 ConfigMap is not a built-in API version (served: v1)"
    );
}

fn parse(text: &str) -> Document<'_> {
    super::super::parse::parse_file("main", "x.yaml", text.as_bytes())
        .unwrap()
        .remove(0)
}

/// A Kustomization CRD whose v1 schema has only `spec.interval`.
fn narrow_kustomization(extra: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "spec": {
            "group": "kustomize.toolkit.fluxcd.io",
            "names": {"kind": "Kustomization", "plural": "kustomizations"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {"type": "object", "properties": {
                    "interval": {"type": "string"},
                    extra: {"type": "string"}
                }}}
            }}}]
        }
    })
}

#[test]
fn a_later_layer_wins_per_group_version_kind() {
    let mut schemas = Schemas::embedded(None).unwrap();
    let object = parse(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\n  namespace: b\nspec:\n  interval: 1m\n  colour: red\n",
    );
    let rules = |schemas: &Schemas| -> Vec<String> {
        schemas
            .check(&object, false)
            .iter()
            .map(|finding| finding.message.clone())
            .collect()
    };
    // Embedded: `colour` is unknown, and so is the missing required `prune`/`sourceRef`.
    assert!(
        rules(&schemas)
            .iter()
            .any(|message| message.contains("unknown field `colour`")),
        "{:?}",
        rules(&schemas)
    );
    schemas.set_layer(Layer::FleetSource);
    assert_eq!(
        schemas.add_crd(&narrow_kustomization("colour"), "vendored.yaml"),
        1
    );
    assert_eq!(rules(&schemas), Vec::<String>::new());
    // The same layer keeps its first definition; a later layer replaces it.
    assert_eq!(
        schemas.add_crd(&narrow_kustomization("other"), "second.yaml"),
        0
    );
    assert_eq!(rules(&schemas), Vec::<String>::new());
    schemas.set_layer(Layer::CommandLine);
    assert_eq!(
        schemas.add_crd(&narrow_kustomization("other"), "flag.yaml"),
        1
    );
    assert_eq!(
        rules(&schemas),
        ["kustomize.toolkit.fluxcd.io/v1 Kustomization b/a: /spec/colour: unknown field `colour`"]
    );
    let entry = schemas
        .entries()
        .into_iter()
        .find(|entry| {
            entry.api_version == "kustomize.toolkit.fluxcd.io/v1" && entry.kind == "Kustomization"
        })
        .unwrap();
    assert_eq!(entry.source.layer, Layer::CommandLine);
    assert_eq!(entry.source.origin, "flag.yaml");
    // Other kinds of the embedded layer are untouched.
    let helm = schemas
        .entries()
        .into_iter()
        .find(|entry| entry.kind == "HelmRelease")
        .unwrap();
    assert_eq!(helm.source.layer, Layer::Embedded);
    assert!(
        helm.source
            .upstream
            .unwrap()
            .starts_with("fluxcd/helm-controller v")
    );
}

#[test]
fn unknown_kinds_hint_at_the_right_setting() {
    let schemas = Schemas::embedded(None).unwrap();
    let custom = schemas.check(
        &parse("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: a\n"),
        false,
    );
    assert_eq!(custom[0].message, "no schema for example.com/v1 Widget");
    assert!(!custom[0].is_error());
    assert!(
        custom[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("`validation.crds`")
    );
    let builtin = schemas.check(
        &parse("apiVersion: metrics.k8s.io/v1beta1\nkind: NodeMetrics\nmetadata:\n  name: a\n"),
        true,
    );
    assert!(builtin[0].is_error());
    assert!(
        builtin[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("`validation.kubernetes`")
    );
}

#[test]
fn the_kubernetes_minor_is_chosen() {
    let object =
        parse("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\nspec:\n  replicas: 1\n");
    for minor in embedded::kubernetes_minors() {
        let schemas = Schemas::embedded(Some(minor)).unwrap();
        let findings = schemas.check(&object, false);
        assert_eq!(findings.len(), 1, "{minor}: {findings:?}");
        assert_eq!(
            schemas.entries()[0].source.origin,
            format!("Kubernetes v{minor}.0")
        );
    }
    assert!(
        Schemas::embedded(Some("1.2"))
            .unwrap_err()
            .contains("embedded: 1.33, 1.34")
    );
}

#[test]
fn a_kind_prepares_only_its_own_piece() {
    // A store of its own: the process's is filled by every other test.
    let store = Box::leak(Box::new(Store::new()));
    let schemas = Schemas::embedded_in(None, store).unwrap();
    let core = &schemas.cores[0];
    assert!(core.prepared_pieces().is_empty());
    let config_map =
        parse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  nmespace: b\n");
    assert_eq!(schemas.check(&config_map, false).len(), 1);
    assert_eq!(core.prepared_pieces(), ["io.k8s.api.core.v1.ConfigMap"]);
    // Once: a second object of the kind finds its validator ready.
    assert_eq!(schemas.check(&config_map, false).len(), 1);
    assert_eq!(core.prepared_pieces(), ["io.k8s.api.core.v1.ConfigMap"]);
    // A custom resource's metadata needs ObjectMeta's piece, and nothing else built in.
    let kustomization = parse(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\n  nmespace: b\nspec:\n  interval: 1m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: a\n",
    );
    let findings = schemas.check(&kustomization, false);
    assert!(
        findings
            .iter()
            .any(|finding| finding.message.contains("unknown field `nmespace`")),
        "{findings:?}"
    );
    assert_eq!(
        core.prepared_pieces(),
        [
            "io.k8s.api.core.v1.ConfigMap",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        ]
    );
}

#[test]
fn a_cut_inflates_only_the_definitions_its_objects_reach() {
    let store = Box::leak(Box::new(Store::new()));
    let schemas = Schemas::embedded_in(None, store).unwrap();
    let cuts = super::Cuts::default();
    let deployment = parse(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n      labels: {app: a}\n    spec:\n      containers:\n        - name: a\n          image: b\n          imagee: c\n",
    );
    let findings = schemas.check_value_with(
        &deployment,
        deployment.full_value().clone(),
        false,
        Some(&cuts),
    );
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].message.contains("unknown field `imagee`"),
        "{findings:?}"
    );
    let inflated = schemas.cores[0].inflated_definitions();
    let core = |name: &str| format!("io.k8s.api.core.v1.{name}");
    for reached in [
        "io.k8s.api.apps.v1.DeploymentSpec".to_owned(),
        core("PodSpec"),
        core("Container"),
    ] {
        assert!(
            inflated.contains(&reached.as_str()),
            "{reached}: {inflated:?}"
        );
    }
    for not_reached in [core("Volume"), core("EphemeralContainer"), core("Probe")] {
        assert!(
            !inflated.contains(&not_reached.as_str()),
            "{not_reached}: {inflated:?}"
        );
    }
    // No whole validator was made, which would have needed them all.
    assert!(schemas.cores[0].prepared_pieces().is_empty());
}

#[test]
fn warming_makes_the_validators_of_the_kinds_named_and_changes_no_finding() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  selector: {}\n  template:\n    spec:\n      containers:\n        - name: a\n          imagePullPolicy: Always\n          imagee: b\n";
    let kustomization = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\nspec:\n  interval: 1m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: a\n  validation: client\n";
    let findings = |store: &'static Store| -> Vec<String> {
        let schemas = Schemas::embedded_in(Some("1.34"), store).unwrap();
        [deployment, kustomization]
            .into_iter()
            .flat_map(|text| schemas.check(&parse(text), false))
            .map(|finding| finding.to_string())
            .collect()
    };
    let cold = Box::leak(Box::new(Store::new()));
    let expected = findings(cold);
    assert_eq!(expected.len(), 2, "{expected:?}");

    let warmed = Box::leak(Box::new(Store::new()));
    let kinds = [
        ("apps/v1", "Deployment"),
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
        // Passed over: no embedded schema, a version the CRD does not have, no such kind.
        ("example.com/v1", "Widget"),
        ("kustomize.toolkit.fluxcd.io/v9", "Kustomization"),
        ("v1", "Nothing"),
    ]
    .map(|(api_version, kind)| (api_version.to_owned(), kind.to_owned()));
    warm_in(warmed, &kinds, Some("1.34"), super::Ahead::Validators);
    let schemas = Schemas::embedded_in(Some("1.34"), warmed).unwrap();
    assert_eq!(
        schemas.cores[0].prepared_pieces(),
        [
            "io.k8s.api.apps.v1.Deployment",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        ]
    );
    let file = embedded::CRD_FILES
        .iter()
        .position(|file| file.kind == "Kustomization")
        .unwrap();
    let version = embedded::CRD_FILES[file]
        .versions
        .iter()
        .position(|version| version.name == "v1")
        .unwrap();
    assert!(warmed.crd(file, version).is_compiled());
    assert_eq!(findings(warmed), expected);
}

#[test]
fn nulls_are_dropped_before_checking_as_the_api_server_does() {
    let schemas = Schemas::embedded(None).unwrap();
    let messages = |text: &str| -> Vec<String> {
        schemas
            .check(&parse(text), false)
            .iter()
            .map(|finding| finding.message.clone())
            .collect()
    };
    // A built-in kind ignores a null in any field; a custom resource drops it where its schema
    // does not say `nullable` (`suspend` would otherwise be refused: null is not a boolean).
    assert_eq!(
        messages(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: b\nimmutable: null\n"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        messages(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: a\n  namespace: b\nspec:\n  interval: 1m\n  url: https://example.com/a.git\n  suspend: null\n"
        ),
        Vec::<String>::new()
    );
}

/// Every document the example fleet and the Cluster API test fleet render, and variants of
/// some of each kind with an unknown field at every object in them and every scalar of the
/// wrong type: a validator cut to the documents finds exactly what the whole schema finds.
#[test]
fn validators_cut_to_the_documents_find_what_whole_ones_find() {
    use std::collections::BTreeMap;
    use std::path::Path;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fleets = [root.to_path_buf(), root.join("tests/fixtures/capi-fleet")];
    let mut texts: Vec<(String, String, Vec<u8>)> = Vec::new();
    for fleet in &fleets {
        let compiled = crate::pipeline::compile(fleet, &[]).unwrap();
        for (branch, tree) in compiled.rendered.branches.iter() {
            for (path, content) in tree.iter() {
                if crate::render::is_yaml(path) {
                    texts.push((branch.to_owned(), path.to_owned(), content.to_vec()));
                }
            }
        }
    }
    let mut instances: Vec<Value> = Vec::new();
    let mut per_kind: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (branch, path, content) in &texts {
        for document in super::super::parse::parse_file(branch, path, content).unwrap() {
            let value = document.full_value();
            if !value.is_object() {
                continue;
            }
            let kind = (
                document.api_version().unwrap_or_default().to_owned(),
                document.kind().unwrap_or_default().to_owned(),
            );
            instances.push(value.clone());
            let count = per_kind.entry(kind).or_default();
            *count += 1;
            if *count <= 2 {
                instances.extend(variants(&value));
            }
        }
    }
    assert!(per_kind.len() > 20, "{per_kind:?}");

    let whole = Schemas::embedded_in(None, Box::leak(Box::new(Store::new()))).unwrap();
    let cut = Schemas::embedded_in(None, Box::leak(Box::new(Store::new()))).unwrap();
    let cuts = super::Cuts::default();
    let text = |instance: &Value| serde_norway::to_string(instance).unwrap();
    let mut failing = 0;
    for instance in &instances {
        let yaml = text(instance);
        let document = parse(&yaml);
        let expected = whole.check_value(&document, instance.clone(), false);
        let found = cut.check_value_with(&document, instance.clone(), false, Some(&cuts));
        let show = |findings: &[crate::diagnostic::Diagnostic]| -> Vec<String> {
            findings.iter().map(ToString::to_string).collect()
        };
        assert_eq!(show(&found), show(&expected), "{yaml}");
        failing += usize::from(!expected.is_empty());
    }
    // The variants are wrong; the rendered documents are not.
    assert!(
        failing > instances.len() / 3,
        "{failing} of {}",
        instances.len()
    );
    assert!(cuts.schemas() > 20, "{} schemas cut", cuts.schemas());
}

/// `value` with an unknown field added to each object in it, and with each scalar in it
/// replaced by one of another type, one change per variant.
fn variants(value: &Value) -> Vec<Value> {
    fn places(value: &Value, pointer: String, found: &mut Vec<(String, bool)>) {
        match value {
            Value::Object(map) => {
                found.push((pointer.clone(), true));
                for (key, child) in map {
                    let escaped = crate::validate::document::escape_segment(key);
                    places(child, format!("{pointer}/{escaped}"), found);
                }
            }
            Value::Array(items) => {
                for (at, child) in items.iter().enumerate() {
                    places(child, format!("{pointer}/{at}"), found);
                }
            }
            _ => found.push((pointer, false)),
        }
    }
    let mut found = Vec::new();
    places(value, String::new(), &mut found);
    found
        .into_iter()
        .map(|(pointer, is_object)| {
            let mut variant = value.clone();
            let place = variant.pointer_mut(&pointer).unwrap();
            if is_object {
                place
                    .as_object_mut()
                    .unwrap()
                    .insert("zzUnknown".to_owned(), json!({"a": 1}));
            } else {
                *place = match place {
                    Value::String(_) => json!(12345),
                    Value::Number(_) => json!({"not": "a number"}),
                    Value::Bool(_) => json!("yes"),
                    _ => json!(true),
                };
            }
            variant
        })
        .collect()
}

/// A schema with every keyword a cut follows, each leading to objects with properties of their
/// own: a validator cut to documents (each alone, and all of them) reports what the whole
/// one does for each of them and for every variant of them.
#[test]
fn validators_cut_agree_with_whole_ones_through_every_keyword_followed() {
    use super::compile::compile_crd;
    use super::cut::{Seen, cut};

    let object = |name: &str| {
        json!({"type": "object", "additionalProperties": false, "required": [name],
               "properties": {name: {"type": "string"}, "other": {"type": "integer"}}})
    };
    let schema = json!({
        "$defs": {
            "Root": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "byRef": {"$ref": "#/$defs/Shared"},
                    "map": {"type": "object", "additionalProperties": object("m")},
                    "patterned": {"type": "object", "patternProperties": {"^p": object("p")}, "additionalProperties": false},
                    "list": {"type": "array", "items": object("l")},
                    "tuple": {"type": "array", "items": [object("t0"), object("t1")], "additionalItems": object("tx")},
                    "all": {"allOf": [object("a"), {"type": "object"}]},
                    "any": {"anyOf": [object("x"), object("y")]},
                    "one": {"oneOf": [object("x"), object("y")]},
                    "dependent": {"type": "object", "properties": {"d": {"type": "string"}, "e": {}},
                                  "dependencies": {"d": {"properties": {"e": object("e")}}}}
                }
            },
            "Shared": object("s")
        }
    });
    let documents = [
        json!({"byRef": {"s": "1"}, "map": {"k": {"m": "1"}}, "patterned": {"p1": {"p": "1"}},
               "list": [{"l": "1"}], "tuple": [{"t0": "1"}, {"t1": "1"}, {"tx": "1"}],
               "all": {"a": "1"}, "any": {"x": "1"}, "one": {"y": "1"},
               "dependent": {"d": "1", "e": {"e": "1"}}}),
        json!({"map": {"k": {"m": "1", "other": 2}}, "any": {"y": "1", "other": 3}}),
    ];
    let mut instances: Vec<Value> = documents.to_vec();
    for document in &documents {
        instances.extend(variants(document));
    }
    let root = "/$defs/Root";
    let whole =
        compile_crd(&json!({"$ref": "#/$defs/Root", "$defs": schema["$defs"].clone()})).unwrap();
    let errors = |validator: &jsonschema::Validator, instance: &Value| -> Vec<String> {
        validator
            .iter_errors(instance)
            .map(|error| format!("{}: {error}", error.instance_path().as_str()))
            .collect()
    };
    let mut all = Seen::default();
    for instance in &instances {
        all.merge(Seen::of(&schema, root, instance).unwrap());
    }
    let mut failing = 0;
    for instance in &instances {
        let alone = Seen::of(&schema, root, instance).unwrap();
        for seen in [&alone, &all] {
            let mut document = cut(&schema, seen, root);
            document["$ref"] = json!("#/$defs/Root");
            let validator = compile_crd(&document).unwrap();
            assert_eq!(
                errors(&validator, instance),
                errors(&whole, instance),
                "{instance}"
            );
        }
        failing += usize::from(!whole.is_valid(instance));
    }
    assert!(
        failing > instances.len() / 2,
        "{failing} of {}",
        instances.len()
    );
}

/// CRDs a fleet vendors can be written any way: references to the root and to themselves,
/// combinators of objects, maps of objects, int-or-string and nullable fields, a keyword the
/// cut does not follow, and schemas that do not compile. Checked with validators cut to the
/// documents and with whole ones (each in `Schemas` of its own, so neither finds the other's
/// validator made), every document and every variant of it gets the same findings.
#[test]
fn validators_cut_from_crds_a_fleet_gives_find_what_whole_ones_find() {
    let schemas = [
        json!({"type": "object", "properties": {"spec": {"$ref": "#"}}}),
        json!({"type": "object", "properties": {"spec": {"$ref": "#/properties/spec"}}}),
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "a": {"anyOf": [
                {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
                {"type": "object", "properties": {"y": {"type": "integer"}}}
            ]},
            "m": {"type": "object", "additionalProperties": {"type": "object", "properties": {"k": {"type": "string"}}}},
            "p": {"x-kubernetes-int-or-string": true},
            "n": {"type": "string", "nullable": true},
            "l": {"type": "array", "items": {"type": "object", "properties": {"i": {"type": "integer"}}}}
        }}}}),
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "a": {"not": {"type": "object", "properties": {"x": {}}, "required": ["x"]}}
        }}}}),
        json!({"type": "object", "properties": {"spec": {"items": 5}}}),
    ];
    let documents = [
        json!({"apiVersion": "example.com/v1", "kind": "W", "metadata": {"name": "w", "namespace": "n", "labels": {"a": "b"}},
               "spec": {"a": {"x": "1"}, "m": {"one": {"k": "v"}}, "p": 80, "n": "text", "l": [{"i": 1}]}}),
        json!({"apiVersion": "example.com/v1", "kind": "W", "metadata": {"name": "v", "namespace": "n"},
               "spec": {"a": {"y": 2}, "p": "http", "spec": {"spec": {}}}}),
    ];
    let mut instances: Vec<Value> = documents.to_vec();
    for document in &documents {
        instances.extend(variants(document));
    }
    for schema in &schemas {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "ws.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "W", "plural": "ws"}, "scope": "Namespaced",
                     "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema}}]}
        });
        let text = serde_norway::to_string(&crd).unwrap();
        let given = || {
            let mut schemas =
                Schemas::embedded_in(None, Box::leak(Box::new(Store::new()))).unwrap();
            schemas.set_layer(Layer::FleetSource);
            assert_eq!(schemas.add_crd_text(&text, "crds.yaml"), Ok(1));
            schemas
        };
        let (whole, cut, cuts) = (given(), given(), super::Cuts::default());
        for instance in &instances {
            let yaml = serde_norway::to_string(instance).unwrap();
            let document = parse(&yaml);
            let show = |findings: Vec<crate::diagnostic::Diagnostic>| -> Vec<String> {
                findings.iter().map(ToString::to_string).collect()
            };
            assert_eq!(
                show(cut.check_value_with(&document, instance.clone(), false, Some(&cuts))),
                show(whole.check_value(&document, instance.clone(), false)),
                "{schema}\n{yaml}"
            );
        }
    }
}

/// The swagger document types a quantity as any string; the API server parses it. So do the
/// embedded definitions, and a CRD's quantity pattern reads the same.
#[test]
fn quantities_are_checked_as_the_api_server_parses_them() {
    let schemas = Schemas::embedded(None).unwrap();
    let pod = |cpu: &str, memory: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    image: i\n    resources:\n      requests:\n        cpu: {cpu}\n        memory: {memory}\n"
        )
    };
    for (cpu, memory) in [
        ("500m", "64Mi"),
        ("2", "1e9"),
        ("'0.5'", "67108864"),
        ("+1", ".5Gi"),
    ] {
        let text = pod(cpu, memory);
        assert_eq!(schemas.check(&parse(&text), false), [], "{cpu} {memory}");
    }
    let text = pod("fifty", "64MB");
    let findings = schemas.check(&parse(&text), false);
    let said: Vec<(usize, &str)> = findings
        .iter()
        .map(|finding| {
            (
                finding.location.as_ref().unwrap().line,
                finding.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        said,
        [
            (
                10,
                "v1 Pod p: /spec/containers/0/resources/requests/cpu: `fifty` is not a quantity"
            ),
            (
                11,
                "v1 Pod p: /spec/containers/0/resources/requests/memory: `64MB` is not a quantity"
            ),
        ]
    );
    assert!(findings[0].hint.as_deref().unwrap().contains("`64Mi`"));

    let mut custom = Schemas::embedded(None).unwrap();
    custom
        .add_crd_text(
            &format!(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: example.com\n  names: {{kind: Disk}}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          size:\n            anyOf: [{{type: integer}}, {{type: string}}]\n            x-kubernetes-int-or-string: true\n            pattern: '{}'\n",
                crate::validate::strict::QUANTITY_PATTERN
            ),
            "disks.yaml",
        )
        .unwrap();
    let disk = |size: &str| {
        format!("apiVersion: example.com/v1\nkind: Disk\nmetadata: {{name: d}}\nsize: {size}\n")
    };
    assert_eq!(custom.check(&parse(&disk("10Gi")), false), []);
    let findings = custom.check(&parse(&disk("ten")), false);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        findings[0].message,
        "example.com/v1 Disk d: /size: `ten` is not a quantity"
    );
}

/// A Flux interval that is not a duration is said in words, not as the CRD's expression.
#[test]
fn durations_are_said_in_words() {
    let schemas = Schemas::embedded(None).unwrap();
    let release = |interval: &str| {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: r, namespace: n}}\nspec:\n  interval: {interval}\n  chart:\n    spec:\n      chart: c\n      sourceRef: {{kind: HelmRepository, name: h}}\n"
        )
    };
    assert_eq!(schemas.check(&parse(&release("1h30m")), false), []);
    let findings = schemas.check(&parse(&release("30minutes")), false);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        findings[0].message,
        "helm.toolkit.fluxcd.io/v2 HelmRelease n/r: /spec/interval: `30minutes` is not a duration"
    );
    assert_eq!(findings[0].location.as_ref().unwrap().line, 5);
    assert!(findings[0].hint.as_deref().unwrap().contains("`1h30m`"));
}
