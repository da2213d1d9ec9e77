//! Templates one file renders from another with values (issue 12): a Terraform
//! `templatefile("${path.module}/templates/kubelet.service.tpl", { runtime = var.runtime })`, a Salt
//! `file.managed` with `source: salt://.../kubelet.default.jinja`, `template: jinja` and a
//! `context:`, an Ansible `template:` task of a role (its defaults and vars). Analysers of the calling file record each use; the repository collector reads the
//! template (inside the scanned tree only), resolves the values it can and analyses the rendered
//! text at the template's own lines. Plain data.

/// One use of a template file by another file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateUse {
    /// The calling file (repository-relative).
    pub from: String,
    /// The 1-based line of the call in `from`.
    pub line: u32,
    /// How it is rendered, for messages: `templatefile()`, `Salt file.managed`.
    pub how: String,
    /// Where the template is.
    pub template: TemplatePath,
    /// The values passed, by the name the template reads them as.
    pub values: Vec<(String, Expr)>,
    /// The path the rendered file is written to, when the caller says (a Salt state's `name`).
    pub written_to: Option<String>,
    /// Files whose top-level scalar settings are values too, strongest first, repository-relative
    /// (an Ansible role's `vars/main.yml` and `defaults/main.yml`); a file that is not there is
    /// passed over.
    pub value_files: Vec<String>,
    /// How the template marks a value.
    pub syntax: TemplateSyntax,
}

/// Where a template file is, as its caller names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePath {
    /// Relative to the calling file's directory (`templates/kubelet.service.tpl` for
    /// `${path.module}/templates/kubelet.service.tpl`; `..` allowed).
    Relative(String),
    /// A path to match by suffix among the scanned files (`kubernetes/kubelet/files/x.jinja` for
    /// `salt://kubernetes/kubelet/files/x.jinja`: the Salt file roots are not known).
    Suffix(String),
}

/// A value passed to a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A literal string.
    Literal(String),
    /// A name defined elsewhere: `var.container_runtime` in the calling module's variables, or
    /// `kube.runtime` in an imported `map.jinja`.
    Ref {
        /// Where the name is defined.
        scope: Scope,
        /// The name as the caller writes it (`var.container_runtime`, `kube.runtime`).
        name: String,
    },
}

/// Where a referenced name is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Any `.tf` file of this directory (a Terraform module's `variable` blocks), repository-relative.
    Dir(String),
    /// The file matching this path suffix (a Jinja import such as `kubernetes/map.jinja`).
    Suffix(String),
}

/// How a template marks the places values go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateSyntax {
    /// Terraform `${name}`.
    Terraform,
    /// Jinja `{{ name }}` (filters after `|` ignored).
    Jinja,
}
