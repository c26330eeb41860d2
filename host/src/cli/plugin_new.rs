//! `switchyard plugin new`: its arguments, and the skeleton [`super::scaffold`] writes.

use std::path::PathBuf;

use super::scaffold::{self, Language};
use crate::plugin::PluginWorld;

/// The arguments of `plugin new`.
#[derive(Debug, clap::Args)]
pub(super) struct NewArgs {
    /// What the plugin is: an access provider or a session-id extractor.
    #[arg(long, value_enum)]
    world: NewWorld,
    /// The language of the skeleton.
    #[arg(long = "lang", value_enum)]
    language: NewLanguage,
    /// The plugin's type name (lowercase letters, digits and `-`), also the folder's name.
    name: String,
    /// Where to create the folder.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

/// `--world` of `plugin new`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum NewWorld {
    /// An access provider (world `access-provider`).
    Access,
    /// A session-id extractor (world `session-extractor`).
    Session,
}

/// `--lang` of `plugin new`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum NewLanguage {
    /// Rust (`wit-bindgen`, target `wasm32-wasip2`).
    Rust,
    /// Python (`componentize-py`).
    Python,
    /// JavaScript (`componentize-js`).
    Js,
}

/// Writes the skeleton and prints what to do next.
pub(super) fn run(args: NewArgs) -> Result<(), String> {
    let world = match args.world {
        NewWorld::Access => PluginWorld::AccessProvider,
        NewWorld::Session => PluginWorld::SessionExtractor,
    };
    let language = match args.language {
        NewLanguage::Rust => Language::Rust,
        NewLanguage::Python => Language::Python,
        NewLanguage::Js => Language::JavaScript,
    };
    let skeleton =
        scaffold::create(&args.dir, &args.name, world, language).map_err(|e| e.to_string())?;
    print!("{}", skeleton.instructions());
    Ok(())
}
