//! Rendering: every blueprint × every unit of its scope → files in the branch trees, then a
//! computed `kustomization.yaml` per generated directory. No I/O happens here beyond reading
//! the blueprints; the result is a set of in-memory [`Tree`]s.
//!
//! Templates run in minijinja's strict-undefined mode: a misspelt variable is an error naming
//! the template line, never an empty string in the output.

pub mod blueprint;
pub mod documents;
mod failure;
pub mod kustomization;
pub mod scalar;
pub mod shape;
mod unit;
pub mod values;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior, Value};
use rayon::prelude::*;

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::error::{Error, Result};
use crate::plan::{Plan, Unit};
use crate::tree::{Branches, GENERATED_HEADER, Tree};
use blueprint::Blueprint;
use failure::{Templates, template_diagnostic};
use unit::{CompiledBlueprint, UnitOutput};

/// What rendering produced, besides the trees: facts later stages need.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub branches: Branches,
    /// Per branch, the directories that are `flux bootstrap` paths.
    pub bootstrap_paths: BTreeMap<String, BTreeSet<String>>,
    /// Per branch, files the operator commits by hand (path → how to make it).
    pub operator_files: BTreeMap<String, BTreeMap<String, String>>,
    /// Per environment, the main-branch files rendered for it (its entry point on each
    /// cluster): what a promotion compares beside the environment's own branch.
    pub environment_files: BTreeMap<String, BTreeSet<String>>,
    /// What the value check needs to know of where each file came from; see [`values`].
    pub values: values::ValueCheck,
}

/// The `(apiVersion, kind)` pairs the YAML templates of `blueprints` write literally (see
/// [`shape::kinds`]).
pub fn declared_kinds<'b>(
    blueprints: impl IntoIterator<Item = &'b Blueprint>,
) -> BTreeSet<(String, String)> {
    blueprints
        .into_iter()
        .flat_map(|blueprint| &blueprint.files)
        .filter(|(path, _)| is_yaml(path))
        .flat_map(|(_, source)| shape::kinds(source))
        .collect()
}

/// Renders `plan` with `blueprints`. Units are rendered in parallel; their output is merged in
/// plan order, so the result does not depend on scheduling.
pub fn render(plan: &Plan, blueprints: &[Blueprint]) -> Result<Rendered> {
    render_with(plan, blueprints, &crate::progress::Quiet)
}

/// [`render`], telling `progress` of each blueprint × unit rendered.
pub fn render_with(
    plan: &Plan,
    blueprints: &[Blueprint],
    progress: &dyn crate::progress::Progress,
) -> Result<Rendered> {
    render_ahead(plan, blueprints, progress, |_| ())
}

/// [`render_with`], handing `ahead`, before anything is rendered, the blueprints that apply
/// to a unit: what the rendered objects will be is known from their templates
/// ([`declared_kinds`]) before they are.
pub fn render_ahead(
    plan: &Plan,
    blueprints: &[Blueprint],
    progress: &dyn crate::progress::Progress,
    ahead: impl FnOnce(&[&Blueprint]),
) -> Result<Rendered> {
    let templates = Templates::new(blueprints);
    let env = environment(blueprints, &templates)?;
    let mut rendered = Rendered::default();
    let compiled = blueprints
        .iter()
        .map(|blueprint| CompiledBlueprint::new(&env, blueprint, &templates, &mut rendered.values))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|mut diagnostics| {
            diagnostics.sort();
            Error::Invalid(diagnostics)
        })?;
    // Both walk every unit on one core; side by side they take the time of the longer.
    let (value_sets, contexts) = rayon::join(
        || rendered.values.add_units(&plan.units),
        || Contexts::new(&plan.units),
    );

    let mut declared_dirs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for branch in std::iter::once(&plan.main_branch).chain(&plan.branches) {
        rendered.branches.trees.insert(branch.clone(), Tree::new());
        declared_dirs.insert(branch.clone(), BTreeSet::new());
        rendered
            .bootstrap_paths
            .insert(branch.clone(), BTreeSet::new());
        rendered
            .operator_files
            .insert(branch.clone(), BTreeMap::new());
    }
    let work: Vec<(&CompiledBlueprint<'_>, &Unit, u32)> = compiled
        .iter()
        .flat_map(|blueprint| {
            plan.units
                .iter()
                .zip(&value_sets)
                .filter(move |(unit, _)| unit.scope == blueprint.blueprint.manifest.scope)
                .map(move |(unit, set)| (blueprint, unit, *set))
        })
        .filter(|(_, unit, _)| rendered.branches.trees.contains_key(&unit.branch))
        .collect();
    progress.start("rendering", work.len() as u64);
    // Which blueprints apply where is known first, so that what they write can be told before
    // it is rendered.
    let applies: Vec<Result<bool, Box<Diagnostic>>> = work
        .par_iter()
        .map(|(blueprint, unit, _)| blueprint.applies(|| contexts.context(unit), &templates))
        .collect();
    // The work is in blueprint order: a blueprint's units follow each other.
    let mut applying: Vec<&Blueprint> = work
        .iter()
        .zip(&applies)
        .filter(|(_, applies)| matches!(applies, Ok(true)))
        .map(|((blueprint, _, _), _)| blueprint.blueprint)
        .collect();
    applying.dedup_by(|one, other| std::ptr::eq(*one, *other));
    ahead(&applying);
    let outputs: Vec<Result<UnitOutput, Box<Diagnostic>>> = work
        .par_iter()
        .zip(applies)
        .map(|((blueprint, unit, set), applies)| {
            let output = match applies {
                Ok(true) => blueprint.render(
                    *set,
                    contexts.context(unit),
                    &templates,
                    unit.branch == plan.main_branch,
                ),
                Ok(false) => Ok(UnitOutput::default()),
                Err(diagnostic) => Err(diagnostic),
            };
            progress.advance(1);
            output
        })
        .collect();
    progress.finish();

    let mut diagnostics = Diagnostics::new();
    let mut failures: Vec<(Diagnostic, &Unit)> = Vec::new();
    // Each branch's files in the order rendered, numbered across branches: merged into their
    // trees side by side, the first writer of a path and the order of conflicts are still
    // those of one pass over the work.
    let mut placed: BTreeMap<&str, Vec<Placed<'_>>> = BTreeMap::new();
    let mut order = 0;
    for ((blueprint, unit, _), output) in work.iter().zip(outputs) {
        let output = match output {
            Ok(output) => output,
            Err(diagnostic) => {
                failures.push((*diagnostic, unit));
                continue;
            }
        };
        let branch = &unit.branch;
        declared_dirs
            .get_mut(branch)
            .expect("branch was set up")
            .extend(output.directories);
        rendered
            .bootstrap_paths
            .get_mut(branch)
            .expect("branch was set up")
            .extend(output.bootstrap_path);
        rendered
            .operator_files
            .get_mut(branch)
            .expect("branch was set up")
            .extend(output.operator_files);
        let files = placed.entry(branch.as_str()).or_default();
        for file in output.files {
            files.push(Placed {
                file,
                order,
                blueprint: blueprint.blueprint,
                unit,
            });
            order += 1;
        }
    }
    let merged: Vec<Merged<'_>> = placed
        .into_par_iter()
        .map(|(branch, files)| merge_branch(branch, branch == plan.main_branch, files))
        .collect();
    let mut conflicts: Vec<(usize, failure::Conflict<'_>)> = Vec::new();
    for merged in merged {
        for (env, path) in merged.environment_files {
            rendered
                .environment_files
                .entry(env)
                .or_default()
                .insert(path);
        }
        conflicts.extend(merged.conflicts);
        rendered
            .branches
            .trees
            .insert(merged.branch.to_owned(), merged.tree);
    }
    conflicts.sort_by_key(|(order, _)| *order);
    let conflicts = conflicts
        .into_iter()
        .map(|(_, conflict)| conflict)
        .collect();
    diagnostics.extend(failure::group_conflicts(conflicts, blueprints));
    diagnostics.extend(failure::group_by_place(failures));
    if diagnostics.has_errors() {
        diagnostics.sort();
        return Err(Error::Invalid(diagnostics));
    }
    let finished: Vec<(&String, &mut Tree)> = rendered.branches.trees.iter_mut().collect();
    finished.into_par_iter().for_each(|(branch, tree)| {
        kustomization::complete(
            tree,
            &declared_dirs[branch],
            &rendered.bootstrap_paths[branch],
        );
        tree.seal();
    });
    Ok(rendered)
}

/// A rendered file on its way into its branch's tree.
struct Placed<'a> {
    file: unit::RenderedFile,
    /// Its place in one pass over the work, across branches.
    order: usize,
    blueprint: &'a Blueprint,
    unit: &'a Unit,
}

/// One branch's tree, the files a second blueprint rendered where another had (numbered by
/// their place in the work), and, on the main branch, the files rendered for an environment.
struct Merged<'a> {
    branch: &'a str,
    tree: Tree,
    conflicts: Vec<(usize, failure::Conflict<'a>)>,
    environment_files: Vec<(String, String)>,
}

/// Builds a branch's tree from its files in the order they were rendered: the first file at
/// a path is kept, any later one is a conflict with it. Sorted first, so the tree is built in
/// one pass; inserting half a million files one by one, each compared with paths all the way
/// down the map, took a quarter of a second on one core.
fn merge_branch<'a>(branch: &'a str, main: bool, mut files: Vec<Placed<'a>>) -> Merged<'a> {
    // Stable: at one path, the file rendered first stays first.
    files.sort_by(|one, other| one.file.path.cmp(&other.file.path));
    let mut kept: Vec<(String, Vec<u8>, crate::tree::Origin)> = Vec::with_capacity(files.len());
    let mut first: Option<&Blueprint> = None;
    let mut conflicts = Vec::new();
    let mut environment_files = Vec::new();
    for Placed {
        file,
        order,
        blueprint,
        unit,
    } in files
    {
        if kept.last().is_some_and(|(path, _, _)| *path == file.path) {
            conflicts.push((
                order,
                failure::Conflict {
                    blueprint,
                    first: first.map(|first| first.name.clone()).unwrap_or_default(),
                    branch: branch.to_owned(),
                    path: file.path,
                    unit,
                },
            ));
            continue;
        }
        first = Some(blueprint);
        if let (true, Some(env)) = (main, &unit.context.env) {
            environment_files.push((env.name.clone(), file.path.clone()));
        }
        kept.push((file.path, file.content, file.origin));
    }
    Merged {
        branch,
        tree: Tree::from_sorted(kept),
        conflicts,
        environment_files,
    }
}

/// The template values of the plan's shared context parts, each converted once. Converting
/// a unit's whole context per unit made rendering quadratic: every app unit carried its
/// tenant's list of all apps.
struct Contexts {
    shared: HashMap<usize, Value>,
}

impl Contexts {
    fn new(units: &[Unit]) -> Self {
        let mut shared = HashMap::new();
        for unit in units {
            let context = &unit.context;
            convert_once(&mut shared, &context.fleet);
            convert_once(&mut shared, &context.cluster);
            if let Some(env) = &context.env {
                convert_once(&mut shared, env);
            }
            if let Some(tenant) = &context.tenant {
                convert_once(&mut shared, tenant);
            }
        }
        Self { shared }
    }

    /// How many shared parts were converted (for tests: one per part, not per unit).
    #[cfg(test)]
    fn conversions(&self) -> usize {
        self.shared.len()
    }

    /// A unit's context: the shared parts' values (reference-counted, so cloning is cheap)
    /// and the unit's own app.
    fn context(&self, unit: &Unit) -> Value {
        let context = &unit.context;
        let shared = |part: usize| self.shared[&part].clone();
        let mut map: BTreeMap<String, Value> = BTreeMap::new();
        map.insert("fleet".to_owned(), shared(part_id(&context.fleet)));
        map.insert("cluster".to_owned(), shared(part_id(&context.cluster)));
        if let Some(env) = &context.env {
            map.insert("env".to_owned(), shared(part_id(env)));
        }
        if let Some(tenant) = &context.tenant {
            map.insert("tenant".to_owned(), shared(part_id(tenant)));
        }
        if let Some(app) = &context.app {
            map.insert("app".to_owned(), Value::from(minijinja::value::Serde(app)));
        }
        Value::from(map)
    }
}

fn part_id<T>(part: &Arc<T>) -> usize {
    Arc::as_ptr(part) as *const () as usize
}

fn convert_once<T: serde::Serialize>(shared: &mut HashMap<usize, Value>, part: &Arc<T>) {
    shared
        .entry(part_id(part))
        .or_insert_with(|| Value::from(minijinja::value::Serde(&**part)));
}

fn environment(
    blueprints: &[Blueprint],
    templates: &Templates<'_>,
) -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // A blueprint may come from a pull request: a loop that never ends must not hold up its
    // check until the CI job times out.
    env.set_fuel(Some(TEMPLATE_FUEL));
    // A value in a blueprint file is always one scalar (see `scalar`), whoever wrote the
    // blueprint. Every file, not only `.yaml` ones: a YAML file can include any other
    // template. Path templates (compiled from strings) are checked as paths instead.
    env.set_auto_escape_callback(|name| {
        if name == "<string>" {
            minijinja::AutoEscape::None
        } else {
            minijinja::AutoEscape::Custom(scalar::YAML.into())
        }
    });
    env.set_formatter(scalar::formatter);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    env.add_filter("hash", hash_filter);
    env.add_filter("quote", scalar::quote_filter);
    env.add_filter("safe", scalar::safe_filter);
    env.add_filter("escape", scalar::safe_filter);
    env.add_filter("e", scalar::safe_filter);
    let mut diagnostics = Diagnostics::new();
    for blueprint in blueprints {
        for (path, source) in &blueprint.files {
            let name = template_name(blueprint, path);
            if let Err(error) = env.add_template_owned(name, source.clone()) {
                diagnostics.push(template_diagnostic(
                    &error,
                    templates,
                    Location::file(blueprint.file_location(path)),
                    None,
                    None,
                ));
            }
        }
    }
    if diagnostics.has_errors() {
        return Err(Error::Invalid(diagnostics));
    }
    Ok(env)
}

fn template_name(blueprint: &Blueprint, path: &str) -> String {
    format!("{}/{path}", blueprint.name)
}

/// `{{ spec | hash }}`: a short, stable digest of any value, for names that must change when
/// content changes (immutable Cluster API templates).
fn hash_filter(value: minijinja::value::Serde<serde_json::Value>) -> String {
    let json = serde_json::to_string(&value.0).expect("JSON values serialise");
    crate::tree::sha256_hex(json.as_bytes())[..10].to_owned()
}

/// Adds the generated-file header and a final newline; `None` for output that is blank, which
/// is how a template says "no file for this unit".
fn finish(path: &str, text: &str) -> Option<Vec<u8>> {
    let meaningful = text.lines().any(|line| {
        let line = line.trim();
        !line.is_empty() && !(is_yaml(path) && (line.starts_with('#') || line == "---"))
    });
    if !meaningful {
        return None;
    }
    let body = text.trim_start_matches('\n').trim_end();
    let header = is_yaml(path) && !body.starts_with(GENERATED_HEADER);
    // Sized exactly: every rendered file is held until the run ends, and growing it a piece at
    // a time left up to half of a large fleet's output as unused capacity.
    let mut content = Vec::with_capacity(
        body.len()
            + 1
            + if header {
                GENERATED_HEADER.len() + 1
            } else {
                0
            },
    );
    if header {
        content.extend_from_slice(GENERATED_HEADER.as_bytes());
        content.push(b'\n');
    }
    content.extend_from_slice(body.as_bytes());
    content.push(b'\n');
    Some(content)
}

pub fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// Why `path`, confined and on the main branch, may not be rendered: it lies in a folder of the
/// fleet source, which the main branch holds beside what is rendered for it. A rendered file
/// there would be an input of the next run (a cluster, a tenant, a blueprint), and `commit`
/// would write it into the checkout.
fn in_fleet_source(path: &str) -> Option<String> {
    let first = path.split('/').next().unwrap_or_default();
    crate::load::SOURCE_FOLDERS
        .iter()
        .find(|folder| first.eq_ignore_ascii_case(folder))
        .map(|folder| format!("`{folder}` holds the fleet source on the main branch"))
}

/// Where CI services read, at a branch's root, the jobs they run when the branch is pushed: a
/// rendered file there would run code with the repository's CI secrets each time `commit`
/// pushes, which no blueprint needs and a pull request could slip in behind a template.
const CI_CONFIGURATION: [&str; 14] = [
    ".github",
    ".gitlab",
    ".gitlab-ci.yml",
    ".gitea",
    ".forgejo",
    ".woodpecker",
    ".woodpecker.yml",
    ".woodpecker.yaml",
    ".circleci",
    ".buildkite",
    ".drone.yml",
    ".travis.yml",
    "bitbucket-pipelines.yml",
    "azure-pipelines.yml",
];

/// Normalises a rendered path and refuses anything that would leave the branch root.
fn confine(path: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("`..` is not allowed in rendered paths".to_owned()),
            part if part.contains('\\') || part.chars().any(char::is_control) => {
                return Err("it contains a backslash or a control character".to_owned());
            }
            part if part.eq_ignore_ascii_case(".git") => {
                return Err("`.git` is reserved for Git".to_owned());
            }
            part => parts.push(part),
        }
    }
    if path.starts_with('/') {
        return Err("it is absolute".to_owned());
    }
    if parts.is_empty() {
        return Err("it is empty".to_owned());
    }
    if parts.first() == Some(&".git") || parts.first() == Some(&".fleetgen") {
        return Err("it is inside a reserved directory".to_owned());
    }
    if let Some(first) = parts.first()
        && CI_CONFIGURATION
            .iter()
            .any(|name| first.eq_ignore_ascii_case(name))
    {
        return Err(format!(
            "`{first}` is where a CI service reads the jobs it runs when the branch is pushed"
        ));
    }
    // What file systems take, and what every step that walks directories one level at a
    // time can follow: a template could otherwise nest thousands deep.
    if parts.len() > MAX_PATH_PARTS {
        return Err(format!("it is more than {MAX_PATH_PARTS} directories deep"));
    }
    if parts.iter().any(|part| part.len() > MAX_NAME_BYTES) {
        return Err(format!(
            "a name in it is longer than {MAX_NAME_BYTES} bytes"
        ));
    }
    Ok(parts.join("/"))
}

/// How many steps minijinja may take to render one template for one unit (a filter call is
/// one step): a template over the longest list a fleet may have (10,000 apps) takes a few
/// hundred thousand.
const TEMPLATE_FUEL: u64 = 5_000_000;

/// The most names a rendered path may have: a fleet's trees are a handful deep.
const MAX_PATH_PARTS: usize = 64;

/// The longest name in a rendered path, in bytes: what Linux and most file systems take.
const MAX_NAME_BYTES: usize = 255;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{
        AppContext, ClusterContext, Context, EnvironmentContext, FleetContext, Scope, TenantContext,
    };

    fn app_units(apps: usize) -> Vec<Unit> {
        let names: Vec<String> = (0..apps).map(|index| format!("app{index}")).collect();
        let fleet = Arc::new(FleetContext {
            repo_url: "https://example.com/fleet".to_owned(),
            main_branch: "main".to_owned(),
            secret_ref: None,
            secret_keys: Vec::new(),
            interval: "1m".to_owned(),
            cross_namespace_refs: true,
        });
        let cluster = Arc::new(ClusterContext {
            name: "c".to_owned(),
            provider: "existing".to_owned(),
            flux: "local",
            remote: false,
            capi: false,
            manager: None,
            driver: "c".to_owned(),
            remotes: Vec::new(),
            environments: Vec::new(),
            tenant_secrets: Vec::new(),
            hands_over_environments: false,
            kubeconfig_namespace: None,
            cni_version: None,
            values: BTreeMap::new(),
            sources: Vec::new(),
        });
        let env = Arc::new(EnvironmentContext {
            name: "dev".to_owned(),
            branch: "dev".to_owned(),
            namespace: "dev-flux-system".to_owned(),
        });
        let tenant = Arc::new(TenantContext {
            name: "t".to_owned(),
            namespace: "dev-t".to_owned(),
            repo: "https://example.com/t".to_owned(),
            branch: "dev".to_owned(),
            role: "admin".to_owned(),
            secret_ref: None,
            apps: names.clone(),
            local: true,
            remotes: Vec::new(),
            capi_remotes: Vec::new(),
            sources: Vec::new(),
        });
        names
            .iter()
            .map(|name| Unit {
                scope: Scope::App,
                branch: "dev".to_owned(),
                context: Context {
                    fleet: fleet.clone(),
                    cluster: cluster.clone(),
                    env: Some(env.clone()),
                    tenant: Some(tenant.clone()),
                    app: Some(AppContext {
                        name: name.clone(),
                        kustomization: name.clone(),
                        namespace: "dev-t".to_owned(),
                        service_account: "t".to_owned(),
                        path: format!("./{name}/c"),
                    }),
                },
            })
            .collect()
    }

    #[test]
    fn no_filter_or_include_turns_a_value_into_yaml() {
        let mut env = environment(&[], &Templates::new(&[])).unwrap();
        env.add_template("b/files/x.md", "{{ v }}").unwrap();
        let hostile = "a\n---\nb: c, [d] #e";
        for expression in [
            "{{ v }}",
            "{{ v | safe }}",
            "{{ v | e }}",
            "{{ v | escape }}",
            "{{ v | trim }}",
            "{{ v | indent(2) }}",
            "{{ v ~ '' }}",
            "{{ v | upper | lower }}",
            "{{ v | replace('x', 'y') }}",
            "{% set s %}{{ v }}{% endset %}{{ s | trim }}",
            "{% filter lower %}{{ v }}{% endfilter %}",
            "{{ v | tojson }}",
            "{{ v | quote }}",
            "{% include 'b/files/x.md' %}",
        ] {
            let name = "b/files/y.yaml";
            env.add_template_owned(name, format!("key: {expression}\n\nother: 1\n"))
                .unwrap();
            let text = env
                .get_template(name)
                .unwrap()
                .render(minijinja::context! { v => hostile })
                .unwrap();
            let documents = documents::parse_file(&text)
                .unwrap_or_else(|error| panic!("{expression}: {error:?}: {text}"));
            assert_eq!(documents.len(), 1, "{expression}: {text}");
            assert_eq!(
                documents[0].value.as_object().unwrap().len(),
                2,
                "{expression}: {text}"
            );
        }
    }

    #[test]
    fn shared_context_parts_are_converted_once_not_per_unit() {
        // The tenant's list of apps is converted once however many app units share it: the
        // work per unit no longer grows with the number of apps.
        for apps in [1, 10, 2000] {
            let units = app_units(apps);
            let contexts = Contexts::new(&units);
            assert_eq!(contexts.conversions(), 4, "{apps} apps");
            let last = contexts.context(units.last().unwrap());
            let tenant_apps = last.get_attr("tenant").unwrap().get_attr("apps").unwrap();
            assert_eq!(tenant_apps.len(), Some(apps));
            assert_eq!(
                last.get_attr("app")
                    .unwrap()
                    .get_attr("name")
                    .unwrap()
                    .as_str(),
                Some(format!("app{}", apps - 1).as_str())
            );
        }
    }

    #[test]
    fn a_failure_of_many_units_is_reported_once_listing_them_in_natural_order() {
        let units = app_units(12);
        let failures = units
            .iter()
            .rev()
            .map(|unit| (Diagnostic::error("template", "undefined value `x`"), unit))
            .collect();
        let diagnostics: Vec<Diagnostic> = failure::group_by_place(failures).into_iter().collect();
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(
            diagnostics[0].message,
            "undefined value `x` (for apps app0, app1, app2, app3, app4 and 7 more of tenant t on cluster c in environment dev)"
        );
    }

    #[test]
    fn paths_are_confined() {
        assert_eq!(confine("infra/./a//b.yaml").unwrap(), "infra/a/b.yaml");
        assert!(confine("infra/../../etc/passwd").is_err());
        assert!(confine("/etc/passwd").is_err());
        assert!(confine(".git/config").is_err());
        assert!(confine("a/.GIT/hooks/x").is_err());
        assert!(confine(".github/workflows/x.yml").is_err());
        assert!(confine("./.GitLab-CI.yml").is_err());
        assert!(confine("infra/.github/workflows/x.yml").is_ok());
        // Spelt any way a template may, a path into the fleet source is told once confined.
        for path in [
            "./fleet//clusters/x.env",
            "Environments/dev/y.yaml",
            "blueprints",
        ] {
            assert!(in_fleet_source(&confine(path).unwrap()).is_some(), "{path}");
        }
        assert!(in_fleet_source("infra/fleet/x.yaml").is_none());
        assert!(in_fleet_source("fleetwide/x.yaml").is_none());
        assert!(confine("infra/a\nb.yaml").is_err());
        assert!(confine("").is_err());
        let deep = |parts: usize| vec!["a"; parts].join("/");
        assert!(confine(&deep(64)).is_ok());
        assert!(confine(&deep(65)).is_err());
        assert!(confine(&format!("a/{}", "n".repeat(255))).is_ok());
        assert!(confine(&format!("a/{}", "n".repeat(256))).is_err());
    }

    #[test]
    fn blank_output_means_no_file_and_header_is_added_once() {
        assert_eq!(finish("a.yaml", "\n# only a comment\n---\n"), None);
        let content = String::from_utf8(finish("a.yaml", "\nkind: X\n\n").unwrap()).unwrap();
        assert_eq!(content, format!("{GENERATED_HEADER}\nkind: X\n"));
        let again = String::from_utf8(finish("a.yaml", &content).unwrap()).unwrap();
        assert_eq!(again, content);
    }
}
