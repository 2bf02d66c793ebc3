//! One blueprint, its condition and path templates compiled once, rendered for one unit.

use minijinja::{Environment, Value};

use super::failure::{Templates, template_diagnostic};
use super::{blueprint::Blueprint, confine, finish, in_fleet_source, shape, template_name, values};
use crate::diagnostic::{Diagnostic, Diagnostics, Location};

/// What one blueprint rendered for one unit.
#[derive(Default)]
pub(super) struct UnitOutput {
    pub(super) files: Vec<RenderedFile>,
    pub(super) directories: Vec<String>,
    pub(super) bootstrap_path: Option<String>,
    pub(super) operator_files: Vec<(String, String)>,
}

pub(super) struct RenderedFile {
    pub(super) path: String,
    pub(super) content: Vec<u8>,
    pub(super) origin: crate::tree::Origin,
}

/// A blueprint with its condition and path templates compiled once, not once per unit.
pub(super) struct CompiledBlueprint<'env> {
    pub(super) blueprint: &'env Blueprint,
    when: Option<minijinja::Expression<'env, 'env>>,
    target: minijinja::Template<'env, 'env>,
    directories: Vec<minijinja::Template<'env, 'env>>,
    bootstrap_path: Option<minijinja::Template<'env, 'env>>,
    operator_files: Vec<(minijinja::Template<'env, 'env>, &'env str)>,
    /// Per file: its path below `files/`, the template of its rendered name, its content,
    /// its number in the value check.
    pub(super) files: Vec<(
        &'env str,
        minijinja::Template<'env, 'env>,
        minijinja::Template<'env, 'env>,
        u32,
    )>,
}

impl<'env> CompiledBlueprint<'env> {
    pub(super) fn new(
        env: &'env Environment<'env>,
        blueprint: &'env Blueprint,
        templates: &Templates<'_>,
        values: &mut values::ValueCheck,
    ) -> Result<Self, Diagnostics> {
        let manifest = &blueprint.manifest;
        let mut diagnostics = Diagnostics::new();
        let mut field = |name: &str, source: &'env str| match env.template_from_str(source) {
            Ok(template) => Some(template),
            Err(error) => {
                diagnostics.push(template_diagnostic(
                    &error,
                    templates,
                    blueprint.field_location(name),
                    Some(name),
                    None,
                ));
                None
            }
        };
        let target = field("target", &manifest.target);
        let directories: Vec<_> = manifest
            .directories
            .iter()
            .filter_map(|directory| field("directories", directory))
            .collect();
        let bootstrap_path = manifest
            .bootstrap_path
            .as_deref()
            .and_then(|path| field("bootstrapPath", path));
        let operator_files: Vec<_> = manifest
            .provided_by_operator
            .iter()
            .filter_map(|file| {
                field("providedByOperator", &file.path).map(|path| (path, file.how.as_str()))
            })
            .collect();
        let when = match manifest
            .when
            .as_deref()
            .map(|when| env.compile_expression(when))
        {
            None => None,
            Some(Ok(expression)) => Some(expression),
            Some(Err(error)) => {
                diagnostics.push(template_diagnostic(
                    &error,
                    templates,
                    blueprint.field_location("when"),
                    Some("when"),
                    None,
                ));
                None
            }
        };
        let mut files = Vec::new();
        for (path, source) in &blueprint.files {
            let content = env
                .get_template(&template_name(blueprint, path))
                .expect("every file was added as a template");
            match env.template_from_str(path) {
                Ok(name) => {
                    let shape = shape::Shape::of(source);
                    let template = values.add_template(shape, blueprint.file_location(path));
                    files.push((path.as_str(), name, content, template));
                }
                Err(error) => diagnostics.push(template_diagnostic(
                    &error,
                    templates,
                    Location::file(blueprint.file_location(path)),
                    Some("file name"),
                    None,
                )),
            }
        }
        match target {
            Some(target) if !diagnostics.has_errors() => Ok(Self {
                blueprint,
                when,
                target,
                directories,
                bootstrap_path,
                operator_files,
                files,
            }),
            _ => Err(diagnostics),
        }
    }

    /// Whether the blueprint renders for a unit: its `when:` holds there, or it has none.
    pub(super) fn applies(
        &self,
        context: impl FnOnce() -> Value,
        templates: &Templates<'_>,
    ) -> Result<bool, Box<Diagnostic>> {
        let Some(when) = &self.when else {
            return Ok(true);
        };
        let context = context();
        let applies = when.eval(&context).map_err(|error| {
            Box::new(template_diagnostic(
                &error,
                templates,
                self.blueprint.field_location("when"),
                Some("when"),
                Some(&context),
            ))
        })?;
        Ok(applies.is_true())
    }

    /// Renders for one unit it [`applies`](Self::applies) to. A failure is reported once per
    /// place by [`failure`](super::failure), which lists the units, so the diagnostic here
    /// does not name this one.
    ///
    /// `main` says the unit renders for the main branch, where the fleet source lives.
    pub(super) fn render(
        &self,
        value_set: u32,
        context: Value,
        templates: &Templates<'_>,
        main: bool,
    ) -> Result<UnitOutput, Box<Diagnostic>> {
        let blueprint = self.blueprint;
        let template_error = |error: &minijinja::Error, at: Location, field: Option<&str>| {
            Box::new(template_diagnostic(
                error,
                templates,
                at,
                field,
                Some(&context),
            ))
        };
        let render_path = |template: &minijinja::Template<'_, '_>,
                           what: &str|
         -> Result<String, Box<Diagnostic>> {
            let text = render_limited(template, &context, MAX_PATH_BYTES).map_err(|error| {
                template_error(&error, blueprint.field_location(what), Some(what))
            })?;
            confine(&text).map_err(|problem| {
                Box::new(outside_tree(what, &text, &problem).at(blueprint.field_location(what)))
            })
        };
        let target = render_path(&self.target, "target")?;
        let directories: Vec<String> = self
            .directories
            .iter()
            .map(|directory| render_path(directory, "directories"))
            .collect::<Result<_, _>>()?;
        // The fleet source lives on the main branch only.
        let in_source = |path: &str| main.then(|| in_fleet_source(path)).flatten();
        if let Some((directory, problem)) = directories
            .iter()
            .find_map(|directory| Some((directory, in_source(directory)?)))
        {
            return Err(Box::new(
                outside_tree("directories", directory, &problem)
                    .at(blueprint.field_location("directories")),
            ));
        }
        let bootstrap_path = self
            .bootstrap_path
            .as_ref()
            .map(|path| render_path(path, "bootstrapPath"))
            .transpose()?;
        let operator_files = self
            .operator_files
            .iter()
            .map(|(path, how)| Ok((render_path(path, "providedByOperator")?, (*how).to_owned())))
            .collect::<Result<_, Box<Diagnostic>>>()?;
        let mut files = Vec::new();
        for (file, name, template, number) in &self.files {
            let file_location = blueprint.file_location(file);
            let relative = render_limited(name, &context, MAX_PATH_BYTES).map_err(|error| {
                template_error(&error, Location::file(&file_location), Some("file name"))
            })?;
            let joined = format!("{target}/{relative}");
            let path = confine(&joined)
                .and_then(|path| in_source(&path).map_or(Ok(path), Err))
                .map_err(|problem| {
                    Box::new(outside_tree("file", &joined, &problem).at_file(&file_location))
                })?;
            let text = render_limited(template, &context, MAX_FILE_BYTES)
                .map_err(|error| template_error(&error, Location::file(&file_location), None))?;
            // Each document is held apart once read back: a file of a million tiny ones took
            // a gigabyte. Fewer bytes than that many separators cannot hold too many.
            if text.len() > MAX_DOCUMENTS * 4
                && super::is_yaml(&path)
                && super::documents::bound(text.as_bytes()) > MAX_DOCUMENTS
            {
                return Err(Box::new(
                    Diagnostic::error(
                        "template",
                        format!("it renders more than {MAX_DOCUMENTS} YAML documents in one file"),
                    )
                    .at_file(&file_location),
                ));
            }
            let Some(content) = finish(&path, &text) else {
                continue;
            };
            // The values it was rendered with are checked once it is read back, with the
            // whole fleet (see `values`).
            files.push(RenderedFile {
                path,
                content,
                origin: values::ValueCheck::origin(*number, value_set),
            });
        }
        Ok(UnitOutput {
            files,
            directories,
            bootstrap_path,
            operator_files,
        })
    }
}

/// A rendered path `confine` refused: quoted cut short, since it may be as long as a template
/// makes it.
fn outside_tree(what: &str, path: &str, problem: &str) -> Diagnostic {
    Diagnostic::error(
        "path-outside-tree",
        format!(
            "{what} renders to `{}`: {problem}",
            crate::diagnostic::truncate(path)
        ),
    )
}

/// The largest file a template may render: a Kubernetes object is at most about 1.5 MiB (etcd's
/// limit), and a file of manifests this size is already far beyond what Flux applies well.
pub(super) const MAX_FILE_BYTES: usize = 8 << 20;

/// The most YAML documents a rendered file may hold: a bundle of manifests has hundreds.
const MAX_DOCUMENTS: usize = 10_000;

/// The longest text a path template may render; a confined path is far shorter.
const MAX_PATH_BYTES: usize = 64 << 10;

/// Renders `template`, refusing more than `limit` bytes of output as it is written: a loop
/// in a template can repeat text far past what memory holds.
fn render_limited(
    template: &minijinja::Template<'_, '_>,
    context: &Value,
    limit: usize,
) -> Result<String, minijinja::Error> {
    let mut output = Limited {
        // Most rendered files are a few hundred bytes: growing from nothing was a tenth of
        // the cost of writing them.
        bytes: Vec::with_capacity(1024),
        limit,
    };
    template.render_captured_to(context, &mut output)?;
    Ok(String::from_utf8(output.bytes).expect("templates render text"))
}

/// Bytes up to a limit; a write past it fails, and minijinja stops the render.
struct Limited {
    bytes: Vec<u8>,
    limit: usize,
}

impl std::io::Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            return Err(std::io::Error::other(OutputTooLarge(self.limit)));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Why a render stopped writing: it rendered more than this many bytes.
#[derive(Debug)]
pub(super) struct OutputTooLarge(pub(super) usize);

impl std::fmt::Display for OutputTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 >> 20 {
            0 => write!(f, "it renders more than {} KiB", self.0 >> 10),
            mebibytes => write!(f, "it renders more than {mebibytes} MiB"),
        }
    }
}

impl std::error::Error for OutputTooLarge {}
