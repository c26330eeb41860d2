//! `switchyard plugin new`: a ready-to-build plugin skeleton in Rust, Python or JavaScript.
//!
//! A skeleton is a folder named after the plugin holding its source, a copy of the WIT
//! package (`wit/`, the files this binary was built with, so the skeleton builds wherever it
//! is put), a README with the one build command, and a `.gitignore`. The Rust skeleton is its
//! own cargo workspace. Every skeleton is a working plugin: the access provider admits
//! requests carrying a configured token in `x-api-token`, the session extractor takes the
//! session from `x-conversation`; both accept `{}` as settings.

use std::path::{Path, PathBuf};

use crate::plugin::PluginWorld;

/// The WIT package plugins are built against, as `(file name, text)`: the files of `wit/`.
pub const WIT_FILES: &[(&str, &str)] = &[
    ("access.wit", include_str!("../../../wit/access.wit")),
    ("host.wit", include_str!("../../../wit/host.wit")),
    ("session.wit", include_str!("../../../wit/session.wit")),
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("worlds.wit", include_str!("../../../wit/worlds.wit")),
];

/// The `componentize-py` version the Python skeleton and example are built and tested with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The `@bytecodealliance/componentize-js` version the JavaScript skeleton and example use.
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";

/// The `@bytecodealliance/preview2-shim` version pinned beside componentize-js: its CLI
/// imports the shim without declaring it, and this version is the one it is tested with.
pub const PREVIEW2_SHIM_VERSION: &str = "0.25.0";

/// The language of a skeleton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Rust with `wit-bindgen`, built by cargo for `wasm32-wasip2`.
    Rust,
    /// Python, built by `componentize-py`.
    Python,
    /// JavaScript, built by `componentize-js`.
    JavaScript,
}

impl Language {
    /// The language's name in messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
        }
    }
}

/// Why a skeleton was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScaffoldError {
    /// The name is not a valid plugin type name.
    #[error(
        "{0:?} is not a valid plugin name: use 1 to 64 lowercase ASCII letters, digits and '-', starting with a letter"
    )]
    InvalidName(String),
    /// The target folder exists and is not empty.
    #[error("{} already exists and is not empty", .0.display())]
    Exists(PathBuf),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A written skeleton.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skeleton {
    /// The plugin's folder.
    pub dir: PathBuf,
    /// The files written, relative to `dir`, in writing order.
    pub files: Vec<PathBuf>,
    /// The command that builds it, run inside `dir`.
    pub build: String,
    /// The component the build writes, relative to `dir`.
    pub output: PathBuf,
}

impl Skeleton {
    /// What `switchyard plugin new` prints: what was written and the commands to build and
    /// check it.
    pub fn instructions(&self) -> String {
        let dir = self.dir.display();
        let mut text = format!("created {dir}/\n");
        for file in &self.files {
            if !file.starts_with("wit") {
                text.push_str(&format!("  {}\n", file.display()));
            }
        }
        text.push_str("  wit/ (the plugin contract, switchyard:plugin@0.1.0)\n\n");
        text.push_str(&format!(
            "build:  cd {dir} && {}\ncheck:  switchyard plugin check {}\nthen copy it into the plugins folder; {}/README.md has the config lines\n",
            self.build,
            self.dir.join(&self.output).display(),
            dir,
        ));
        text
    }
}

/// Writes the skeleton of a `world` plugin called `name` in `language` into `parent/name`.
///
/// `name` is the plugin's type name (the name its `describe` declares and `config.yaml` uses
/// as `type`). The folder may exist if it is empty.
pub fn create(
    parent: &Path,
    name: &str,
    world: PluginWorld,
    language: Language,
) -> Result<Skeleton, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::InvalidName(name.to_owned()));
    }
    let dir = parent.join(name);
    if std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ScaffoldError::Exists(dir));
    }
    let plan = Plan::new(name, world, language);
    let mut files = Vec::new();
    for (path, text) in plan.files() {
        let full = dir.join(&path);
        let write = |full: &Path| {
            std::fs::create_dir_all(full.parent().expect("a file in the skeleton"))?;
            std::fs::write(full, text)
        };
        write(&full).map_err(|source| ScaffoldError::Write { path: full, source })?;
        files.push(path);
    }
    Ok(Skeleton {
        dir,
        files,
        build: plan.build_command(),
        output: plan.output(),
    })
}

/// A plugin type name: 1 to 64 of lowercase ASCII letters, digits and `-`, starting with a
/// letter (so it is also a valid cargo package and npm package name).
fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What one skeleton is made of.
struct Plan<'a> {
    name: &'a str,
    world: PluginWorld,
    language: Language,
}

impl<'a> Plan<'a> {
    fn new(name: &'a str, world: PluginWorld, language: Language) -> Plan<'a> {
        Plan {
            name,
            world,
            language,
        }
    }

    /// The WIT world's name.
    fn world_name(&self) -> &'static str {
        match self.world {
            PluginWorld::AccessProvider => "access-provider",
            PluginWorld::SessionExtractor => "session-extractor",
        }
    }

    /// The component the build writes.
    fn output(&self) -> PathBuf {
        match self.language {
            Language::Rust => PathBuf::from(format!(
                "target/wasm32-wasip2/release/{}.wasm",
                self.name.replace('-', "_")
            )),
            Language::Python | Language::JavaScript => PathBuf::from(format!("{}.wasm", self.name)),
        }
    }

    /// The build command, run in the skeleton's folder.
    fn build_command(&self) -> String {
        match self.language {
            Language::Rust => "cargo build --release --target wasm32-wasip2".to_owned(),
            Language::Python => format!(
                "componentize-py -d wit -w {} componentize app -o {}.wasm",
                self.world_name(),
                self.name
            ),
            Language::JavaScript => "npm install && npm run build".to_owned(),
        }
    }

    /// What has to be installed before the build.
    fn prerequisites(&self) -> String {
        match self.language {
            Language::Rust => {
                "Rust (1.85 or later) and its WebAssembly target: `rustup target add wasm32-wasip2`."
                    .to_owned()
            }
            Language::Python => format!(
                "Python 3.10 or later and `pip install componentize-py=={COMPONENTIZE_PY_VERSION}`."
            ),
            Language::JavaScript => format!(
                "Node.js (tested with 20); `npm install` fetches `@bytecodealliance/componentize-js` {COMPONENTIZE_JS_VERSION}."
            ),
        }
    }

    /// The `plugin check` arguments that show the plugin answering.
    fn check_args(&self) -> &'static str {
        match self.world {
            PluginWorld::AccessProvider => {
                " \\\n  --config '{\"tokens\":{\"alice\":\"a-long-random-token\"}}' \\\n  --header 'x-api-token: a-long-random-token'"
            }
            PluginWorld::SessionExtractor => " --header 'x-conversation: demo-1'",
        }
    }

    /// The `config.yaml` lines that use the plugin.
    fn config(&self) -> String {
        let limits = match self.language {
            Language::Rust => String::new(),
            // Large guest runtimes: see "Limits" in the plugin guide.
            Language::Python | Language::JavaScript => {
                "\n      limits: { memory-mib: 256, deadline-ms: 1000 }".to_owned()
            }
        };
        match self.world {
            PluginWorld::AccessProvider => format!(
                "auth:\n  providers:\n    - name: {name}\n      type: {name}\n      config: {{ tokens: {{ alice: a-long-random-token }} }}{limits}",
                name = self.name
            ),
            PluginWorld::SessionExtractor => format!(
                "routing:\n  session-affinity: true\n  session-extractors:\n    - name: {name}\n      type: {name}{limits}\n    - type: session-standard",
                name = self.name
            ),
        }
    }

    /// Fills a template's placeholders.
    fn render(&self, template: &str) -> String {
        template
            .replace("{{name}}", self.name)
            .replace("{{world}}", self.world_name())
            .replace("{{language}}", self.language.display_name())
            .replace("{{prerequisites}}", &self.prerequisites())
            .replace("{{build}}", &self.build_command())
            .replace("{{output}}", &self.output().display().to_string())
            .replace("{{check_args}}", self.check_args())
            .replace("{{config}}", &self.config())
            .replace("{{componentize_js}}", COMPONENTIZE_JS_VERSION)
            .replace("{{preview2_shim}}", PREVIEW2_SHIM_VERSION)
    }

    /// Every file of the skeleton: (path in the folder, contents).
    fn files(&self) -> Vec<(PathBuf, String)> {
        let access = self.world == PluginWorld::AccessProvider;
        let pick = |access_text: &str, session_text: &str| {
            self.render(if access { access_text } else { session_text })
        };
        let mut files = match self.language {
            Language::Rust => vec![
                (
                    PathBuf::from("Cargo.toml"),
                    self.render(include_str!("../../templates/plugin/rust/Cargo.toml")),
                ),
                (
                    PathBuf::from("src/lib.rs"),
                    pick(
                        include_str!("../../templates/plugin/rust/access.rs"),
                        include_str!("../../templates/plugin/rust/session.rs"),
                    ),
                ),
            ],
            Language::Python => vec![(
                PathBuf::from("app.py"),
                pick(
                    include_str!("../../templates/plugin/python/access.py"),
                    include_str!("../../templates/plugin/python/session.py"),
                ),
            )],
            Language::JavaScript => vec![
                (
                    PathBuf::from("package.json"),
                    self.render(include_str!("../../templates/plugin/js/package.json")),
                ),
                (
                    PathBuf::from("plugin.js"),
                    pick(
                        include_str!("../../templates/plugin/js/access.js"),
                        include_str!("../../templates/plugin/js/session.js"),
                    ),
                ),
            ],
        };
        files.push((
            PathBuf::from("README.md"),
            self.render(include_str!("../../templates/plugin/README.md")),
        ));
        files.push((
            PathBuf::from(".gitignore"),
            include_str!("../../templates/plugin/gitignore").to_owned(),
        ));
        for (file, text) in WIT_FILES {
            files.push((Path::new("wit").join(file), (*text).to_owned()));
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORLDS: [PluginWorld; 2] = [PluginWorld::AccessProvider, PluginWorld::SessionExtractor];
    const LANGUAGES: [Language; 3] = [Language::Rust, Language::Python, Language::JavaScript];

    #[test]
    fn the_wit_copy_is_the_whole_package() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".wit"))
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = WIT_FILES.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, listed, "add the new WIT file to WIT_FILES");
    }

    #[test]
    fn ci_and_the_javascript_example_pin_the_skeletons_toolchains() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
        assert!(
            ci.contains(&format!("componentize-py=={COMPONENTIZE_PY_VERSION}")),
            ".ci/run installs another componentize-py"
        );
        pins_the_javascript_toolchain(&root.join("examples/plugins/js-session-header"));
    }

    /// Asserts that the `package.json` in `dir` pins componentize-js and its shim at the
    /// versions the skeletons use; returns the parsed file.
    fn pins_the_javascript_toolchain(dir: &Path) -> serde_json::Value {
        let package = std::fs::read_to_string(dir.join("package.json")).unwrap();
        let package: serde_json::Value = serde_json::from_str(&package).unwrap();
        assert_eq!(
            package["devDependencies"]["@bytecodealliance/componentize-js"],
            COMPONENTIZE_JS_VERSION
        );
        assert_eq!(
            package["devDependencies"]["@bytecodealliance/preview2-shim"],
            PREVIEW2_SHIM_VERSION
        );
        package
    }

    #[test]
    fn every_skeleton_is_complete_and_names_its_plugin() {
        for world in WORLDS {
            for language in LANGUAGES {
                let parent = tempfile::tempdir().unwrap();
                let skeleton = create(parent.path(), "my-plugin", world, language).unwrap();
                assert_eq!(skeleton.dir, parent.path().join("my-plugin"));
                for file in &skeleton.files {
                    let text = std::fs::read_to_string(skeleton.dir.join(file)).unwrap();
                    assert!(
                        !text.contains("{{"),
                        "{world:?} {language:?} {}: a placeholder is left",
                        file.display()
                    );
                }
                for (file, _) in WIT_FILES {
                    assert!(skeleton.dir.join("wit").join(file).is_file());
                }
                let source = match language {
                    Language::Rust => "src/lib.rs",
                    Language::Python => "app.py",
                    Language::JavaScript => "plugin.js",
                };
                let source = std::fs::read_to_string(skeleton.dir.join(source)).unwrap();
                assert!(source.contains("\"my-plugin\""), "{source}");
                let readme = std::fs::read_to_string(skeleton.dir.join("README.md")).unwrap();
                assert!(readme.contains(&skeleton.build), "{readme}");
                assert!(readme.contains("type: my-plugin"), "{readme}");
            }
        }
    }

    #[test]
    fn the_build_command_and_output_fit_the_language() {
        let parent = tempfile::tempdir().unwrap();
        let rust = create(
            parent.path(),
            "a-b",
            PluginWorld::AccessProvider,
            Language::Rust,
        )
        .unwrap();
        assert_eq!(rust.build, "cargo build --release --target wasm32-wasip2");
        assert_eq!(
            rust.output,
            Path::new("target/wasm32-wasip2/release/a_b.wasm")
        );
        let manifest = std::fs::read_to_string(rust.dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
        let python = create(
            parent.path(),
            "c",
            PluginWorld::SessionExtractor,
            Language::Python,
        )
        .unwrap();
        assert_eq!(
            python.build,
            "componentize-py -d wit -w session-extractor componentize app -o c.wasm"
        );
        let js = create(
            parent.path(),
            "d",
            PluginWorld::AccessProvider,
            Language::JavaScript,
        )
        .unwrap();
        let package = pins_the_javascript_toolchain(&js.dir);
        assert_eq!(
            package["scripts"]["build"],
            "componentize-js plugin.js --wit wit --world-name access-provider --disable http fetch-event -o d.wasm"
        );
    }

    #[test]
    fn bad_names_and_occupied_folders_are_refused() {
        let parent = tempfile::tempdir().unwrap();
        for name in [
            "",
            "My-Plugin",
            "9lives",
            "a_b",
            "a/b",
            "../x",
            &"a".repeat(65),
        ] {
            assert!(
                matches!(
                    create(
                        parent.path(),
                        name,
                        PluginWorld::AccessProvider,
                        Language::Rust
                    ),
                    Err(ScaffoldError::InvalidName(_))
                ),
                "{name:?}"
            );
        }
        std::fs::create_dir(parent.path().join("empty")).unwrap();
        create(
            parent.path(),
            "empty",
            PluginWorld::AccessProvider,
            Language::Rust,
        )
        .unwrap();
        let again = create(
            parent.path(),
            "empty",
            PluginWorld::AccessProvider,
            Language::Python,
        );
        assert!(matches!(again, Err(ScaffoldError::Exists(_))), "{again:?}");
    }
}
