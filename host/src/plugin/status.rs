//! What each plugin is and how it is doing: the per-plugin status the management API serves
//! (`GET /v0/management/plugins`).

use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;

use super::folder::FileRecord;
use super::{InstanceStats, Plugin, PluginCatalog, PluginHost, PluginOrigin, PluginWorld};
use crate::history::latency_histogram::Distribution;

/// The status of one plugin: an embedded one, a file of the plugins folder (loaded or not), or
/// one installed through the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PluginStatus {
    /// The file name for a folder plugin, the package name for an embedded one, the type for
    /// one installed through the library.
    pub name: String,
    /// The type name the plugin declares (`None` when the file did not load).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The world it implements (`None` when the file did not load).
    pub world: Option<PluginWorld>,
    /// The version it declares (`None` when the file did not load).
    pub version: Option<String>,
    /// SHA-256 of the component bytes (of the file as last read), hex.
    pub sha256: String,
    /// Where it comes from.
    pub source: PluginSource,
    /// The file, for a folder plugin.
    pub path: Option<PathBuf>,
    /// Whether it is in service.
    pub state: ServiceState,
    /// Why it failed, or a note about how it serves (a removed file kept in service).
    pub error: Option<String>,
    /// The configured instances of it in the serving generation.
    pub instances: Vec<String>,
    /// Calls into those instances so far.
    pub calls: u64,
    /// Faults of those instances so far.
    pub faults: u64,
    /// The median time of the calls into those instances, in microseconds (`None` before the
    /// first call). Calls are counted in a bounded histogram per instance, within 1/16.
    #[serde(rename = "p50-call-us")]
    pub p50_call_us: Option<u64>,
    /// While an instance of it is quarantined: when the (last ending) quarantine ends, in RFC
    /// 3339. Left out of the JSON otherwise.
    #[serde(rename = "quarantined-until", skip_serializing_if = "Option::is_none")]
    pub quarantined_until: Option<String>,
}

/// Where a plugin comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginSource {
    /// Built with switchyard and embedded in the binary.
    Embedded,
    /// A file of the plugins folder.
    Folder,
    /// Installed by the program embedding the library.
    Library,
}

/// Whether a plugin is in service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceState {
    /// In the serving generation's catalog; its instances (if any) take calls.
    Active,
    /// In service, but at least one of its instances is quarantined after repeated faults.
    Quarantined,
    /// Not in service: the file does not load, declares a type another file declares, or the
    /// reload that brought it was not applied (`error` says why).
    Failed,
    /// Loaded, but not in service yet: the reload it came with did not apply because of
    /// something else (see the reload status).
    Pending,
    /// An embedded plugin replaced by a folder file declaring the same type.
    Overridden,
}

/// A configured instance in the serving generation, for [`PluginHost::status`].
#[derive(Debug, Clone)]
pub struct InstanceUse {
    /// The instance name.
    pub instance: String,
    /// The plugin it is an instance of.
    pub plugin: Plugin,
    /// Its counters.
    pub stats: InstanceStats,
}

impl PluginHost {
    /// The status of every plugin: the embedded ones, each file of the serving plugins folder
    /// as last scanned, and the plugins of `serving` (the serving generation's catalog) that are
    /// neither (a removed file still in service, a plugin installed through the library).
    /// `instances` are the serving generation's configured plugin instances.
    pub fn status(&self, serving: &PluginCatalog, instances: &[InstanceUse]) -> Vec<PluginStatus> {
        let (embedded, files) = {
            let sources = self.sources.lock();
            let files: std::collections::BTreeMap<PathBuf, FileRecord> =
                match &sources.serving_folder {
                    Some(folder) => sources
                        .files_in(folder)
                        .map(|(path, record)| (path.clone(), record.clone()))
                        .collect(),
                    None => Default::default(),
                };
            (sources.embedded.clone(), files)
        };
        let usage = |plugin: &Plugin| Usage::of(plugin, instances);
        let mut statuses = Vec::new();

        for plugin in &embedded {
            let mut status = described(plugin, plugin.name().to_owned(), PluginSource::Embedded);
            match serving.get(plugin.name()) {
                Some(current) if same_plugin(current, plugin) => usage(plugin).apply(&mut status),
                Some(current) => {
                    status.state = ServiceState::Overridden;
                    status.error = Some(match current.origin() {
                        PluginOrigin::File(path) => format!("overridden by {}", path.display()),
                        _ => "overridden by a plugin installed through the library".to_owned(),
                    });
                }
                None => status.state = ServiceState::Pending,
            }
            statuses.push(status);
        }

        for (path, record) in &files {
            statuses.push(file_status(path, record, serving, instances));
        }

        for plugin in serving.iter() {
            let listed = match plugin.origin() {
                PluginOrigin::Embedded => embedded.iter().any(|e| same_plugin(e, plugin)),
                PluginOrigin::File(path) => files.contains_key(path),
                PluginOrigin::Bytes => false,
            };
            if listed {
                continue;
            }
            let (name, source, error) = match plugin.origin() {
                PluginOrigin::File(path) => (
                    file_name(path),
                    PluginSource::Folder,
                    Some(format!(
                        "the file was removed; kept in service while the config names the type {:?}",
                        plugin.name()
                    )),
                ),
                PluginOrigin::Embedded => (plugin.name().to_owned(), PluginSource::Embedded, None),
                PluginOrigin::Bytes => (plugin.name().to_owned(), PluginSource::Library, None),
            };
            let mut status = described(plugin, name, source);
            usage(plugin).apply(&mut status);
            status.error = error;
            statuses.push(status);
        }
        statuses
    }
}

/// How the serving generation uses one plugin.
struct Usage {
    instances: Vec<String>,
    calls: u64,
    faults: u64,
    call_times: Distribution,
    quarantined_until: Option<SystemTime>,
}

impl Usage {
    /// The use of `plugin` among `instances`.
    fn of(plugin: &Plugin, instances: &[InstanceUse]) -> Usage {
        let mut usage = Usage {
            instances: Vec::new(),
            calls: 0,
            faults: 0,
            call_times: Distribution::default(),
            quarantined_until: None,
        };
        for used in instances.iter().filter(|u| same_plugin(&u.plugin, plugin)) {
            usage.instances.push(used.instance.clone());
            usage.calls += used.stats.calls;
            usage.faults += used.stats.faults;
            usage.call_times.add(&used.stats.call_times);
            usage.quarantined_until = usage.quarantined_until.max(used.stats.quarantined_until);
        }
        usage
    }

    /// Sets the counters of `status`, and its state to active or quarantined.
    fn apply(self, status: &mut PluginStatus) {
        status.state = if self.quarantined_until.is_some() {
            ServiceState::Quarantined
        } else {
            ServiceState::Active
        };
        (status.instances, status.calls, status.faults) = (self.instances, self.calls, self.faults);
        status.p50_call_us = self
            .call_times
            .quantile(0.5)
            .map(|median| u64::try_from(median.as_micros()).unwrap_or(u64::MAX));
        status.quarantined_until = self.quarantined_until.map(crate::rfc3339::format);
    }
}

/// The status of one folder file.
fn file_status(
    path: &std::path::Path,
    record: &FileRecord,
    serving: &PluginCatalog,
    instances: &[InstanceUse],
) -> PluginStatus {
    // The plugin this file put in service, possibly an earlier content of it.
    let in_service = serving
        .iter()
        .find(|p| p.origin() == &PluginOrigin::File(path.to_owned()));
    let mut status = match &record.loaded {
        Ok(plugin) => described(plugin, file_name(path), PluginSource::Folder),
        Err(_) => PluginStatus {
            name: file_name(path),
            kind: None,
            world: None,
            version: None,
            sha256: hex::encode(record.sha256),
            source: PluginSource::Folder,
            path: Some(path.to_owned()),
            state: ServiceState::Failed,
            error: None,
            instances: Vec::new(),
            calls: 0,
            faults: 0,
            p50_call_us: None,
            quarantined_until: None,
        },
    };
    let current = in_service.is_some_and(|p| p.content_hash() == record.sha256);
    let problem = match &record.loaded {
        Err(error) => Some(error.clone()),
        Ok(_) => record.conflict.clone().or_else(|| record.rejected.clone()),
    };
    if let Some(plugin) = in_service {
        Usage::of(plugin, instances).apply(&mut status);
        if current {
            status.error = problem;
            return status;
        }
        status.state = if problem.is_some() {
            ServiceState::Failed
        } else {
            ServiceState::Pending
        };
        let note = format!(
            "version {} ({}) of this file keeps serving",
            plugin.version(),
            &hex::encode(plugin.content_hash())[..12]
        );
        status.error = Some(match problem {
            Some(problem) => format!("{problem}; {note}"),
            None => note,
        });
        return status;
    }
    status.state = if problem.is_some() {
        ServiceState::Failed
    } else {
        ServiceState::Pending
    };
    status.error = problem;
    status
}

/// A status with what `plugin` says about itself; state active, unused.
fn described(plugin: &Plugin, name: String, source: PluginSource) -> PluginStatus {
    PluginStatus {
        name,
        kind: Some(plugin.name().to_owned()),
        world: Some(plugin.world()),
        version: Some(plugin.version().to_owned()),
        sha256: hex::encode(plugin.content_hash()),
        source,
        path: match plugin.origin() {
            PluginOrigin::File(path) => Some(path.clone()),
            _ => None,
        },
        state: ServiceState::Active,
        error: None,
        instances: Vec::new(),
        calls: 0,
        faults: 0,
        p50_call_us: None,
        quarantined_until: None,
    }
}

/// Whether `a` and `b` are the same component from the same origin.
fn same_plugin(a: &Plugin, b: &Plugin) -> bool {
    a.content_hash() == b.content_hash() && a.origin() == b.origin()
}

/// The last component of `path`.
fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
