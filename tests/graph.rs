//! `fleetgen graph`: the example fleet as a tree, JSON, Mermaid and DOT, with filters, the
//! DOT drawn by the real Graphviz and the Mermaid read by the real Mermaid parser.

mod common;

use std::process::Command;

use common::{example_fleet, fleetgen, repo_root};

fn stdout_of(args: &[&str]) -> String {
    let fleet = example_fleet();
    let assert = fleetgen(fleet.path()).args(args).assert().success();
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

#[test]
fn the_tree_nests_the_kustomization_chain() {
    let tree = stdout_of(&["graph"]);
    insta::assert_snapshot!("graph_human", tree);
    // The chain a reviewer used to follow by eye is one path down the tree.
    let chain = [
        "└── Kustomization flux-system/flux-system",
        "    ├── Kustomization dev-flux-system/dev-flux-system",
        "    │   └── Kustomization dev-flux-system/tenants",
        "    │       ├── Kustomization dev-yakuza/api",
    ];
    let mut lines = tree.lines();
    for wanted in chain {
        assert!(
            lines.any(|line| line.starts_with(wanted)),
            "{wanted} missing in order:\n{tree}"
        );
    }
}

#[test]
fn filters_keep_the_chain_that_reaches_what_was_asked() {
    let tree = stdout_of(&["graph", "--cluster", "k3d-emea", "--tenant", "yakuza"]);
    insta::assert_snapshot!("graph_emea_yakuza", tree);
    assert!(!tree.contains("kaizentm"), "{tree}");
    assert!(!tree.contains("k3d-america"), "{tree}");
    let remote = stdout_of(&["graph", "--cluster", "k3s-america-south", "--env", "dev"]);
    assert!(
        remote.contains("applies to k3s-america-south") && !remote.contains("qa-"),
        "{remote}"
    );
}

#[test]
fn json_objects_are_structured() {
    let json = stdout_of(&["graph", "-o", "json"]);
    insta::assert_snapshot!("graph_json", json);
    let graph: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = graph["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cluster| cluster["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["k3d-america", "k3d-emea", "k3s-america-south"]);
    let tenants = graph["kustomizations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["runs_on"] == "k3d-emea" && node["name"] == "tenants")
        .unwrap();
    assert_eq!(tenants["environment"], "dev");
    assert_eq!(
        tenants["depends_on"][0],
        serde_json::json!({"kind": "Kustomization", "namespace": "dev-flux-system", "name": "infrastructure"})
    );
    assert!(
        tenants["objects"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"kind": "Namespace", "name": "dev-yakuza"}))
    );
}

/// A Kustomization applies to the cluster its kubeConfig names even when the walk sees nothing
/// it applies: a tenant's app (its repository is not the fleet's) or an empty folder. Both
/// used to look as if they applied to their manager.
#[test]
fn targets_come_from_the_kubeconfig() {
    let json = stdout_of(&["graph", "-o", "json"]);
    let graph: serde_json::Value = serde_json::from_str(&json).unwrap();
    let targets = |namespace: &str, name: &str| {
        graph["kustomizations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|node| node["namespace"] == namespace && node["name"] == name)
            .unwrap_or_else(|| panic!("{namespace}/{name} in {json}"))["targets"]
            .clone()
    };
    let remote = serde_json::json!(["k3s-america-south"]);
    assert_eq!(
        targets("dev-kaizentm", "k3s-america-south-azure-vote"),
        remote
    );
    assert_eq!(
        targets("flux-system", "k3s-america-south-infrastructure"),
        remote
    );
    assert_eq!(
        targets("dev-kaizentm", "azure-vote"),
        serde_json::json!(["k3d-america"])
    );
    let tree = stdout_of(&["graph", "--cluster", "k3s-america-south"]);
    assert!(
        tree.contains("Kustomization dev-kaizentm/k3s-america-south-azure-vote  [dev:azure-vote/k3s-america-south; applies to k3s-america-south]"),
        "{tree}"
    );
}

#[test]
fn mermaid_and_dot_draw_clusters_and_edges() {
    let mermaid = stdout_of(&["graph", "--format", "mermaid"]);
    insta::assert_snapshot!("graph_mermaid", mermaid);
    assert!(mermaid.contains("==>|drives|"), "{mermaid}");
    assert!(mermaid.contains("-.->|dependsOn|"), "{mermaid}");
    let dot = stdout_of(&["graph", "--output", "dot"]);
    insta::assert_snapshot!("graph_dot", dot);
}

/// The real Mermaid parser reads every drawing of the example fleet, whole and filtered, and
/// refuses a broken one (so a pass means something).
#[test]
fn the_mermaid_output_parses_with_mermaid() {
    let Some(parser) = common::mermaid_parser() else {
        return;
    };
    let drawings: Vec<(&str, String)> = [
        ("whole", &[][..]),
        ("cluster", &["--cluster", "k3s-america-south"][..]),
        ("env", &["--env", "qa"][..]),
        ("tenant", &["--tenant", "yakuza"][..]),
    ]
    .into_iter()
    .map(|(name, filter)| {
        let mut args = vec!["graph", "-o", "mermaid"];
        args.extend(filter);
        (name, stdout_of(&args))
    })
    .collect();
    let diagrams: Vec<(&str, &str)> = drawings
        .iter()
        .map(|(name, text)| (*name, text.as_str()))
        .collect();
    let report =
        common::mermaid_parse(&parser, &diagrams).unwrap_or_else(|report| panic!("{report}"));
    assert_eq!(
        report,
        "whole.mmd: flowchart-v2\ncluster.mmd: flowchart-v2\nenv.mmd: flowchart-v2\ntenant.mmd: flowchart-v2\n"
    );

    // An unclosed subgraph and a dangling edge: a parser that accepted this would prove nothing.
    let whole = &drawings[0].1;
    let broken = whole.replacen("  end\n", "", 1) + "  k0 -->\n";
    let report = common::mermaid_parse(&parser, &[("broken", &broken)]).unwrap_err();
    assert!(
        report.starts_with("broken.mmd: Parse error on line"),
        "{report}"
    );
}

/// Graphviz draws the example fleet; `FLEETGEN_UPDATE_DOCS=1` refreshes the README's picture.
#[test]
fn graphviz_renders_the_dot_output() {
    let available = Command::new("dot").arg("-V").output().is_ok();
    if !available {
        let skip = std::env::var("FLEETGEN_SKIP_TOOL_TESTS").is_ok_and(|value| value == "1");
        assert!(
            skip && std::env::var_os("CI").is_none(),
            "this test needs Graphviz's `dot` (apt-get install graphviz); \
             set FLEETGEN_SKIP_TOOL_TESTS=1 to skip it locally"
        );
        eprintln!("SKIPPED: Graphviz's dot is not installed");
        return;
    }
    let dot = stdout_of(&["graph", "-o", "dot"]);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("fleet.dot");
    std::fs::write(&input, &dot).unwrap();
    let output = Command::new("dot")
        .arg("-Tsvg")
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.is_empty(), "{stderr}");
    let svg = String::from_utf8(output.stdout).unwrap();
    // Graphviz writes `-` as a character reference.
    let text = svg.replace("&#45;", "-");
    for name in [
        "k3d-america",
        "k3d-emea",
        "k3s-america-south",
        "dev-yakuza/api",
    ] {
        assert!(text.contains(name), "{name} not drawn");
    }
    if std::env::var("FLEETGEN_UPDATE_DOCS").is_ok_and(|value| value == "1") {
        std::fs::write(repo_root().join("docs/fleet-graph.svg"), svg).unwrap();
    }
}

#[test]
fn unknown_names_get_suggestions() {
    let fleet = example_fleet();
    for (flag, typo, close) in [
        ("--cluster", "k3d-amerika", "k3d-america"),
        ("--tenant", "yakusa", "yakuza"),
    ] {
        let assert = fleetgen(fleet.path())
            .args(["graph", flag, typo])
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(
            stderr.contains(&format!("did you mean {close}?")),
            "{stderr}"
        );
    }
}
