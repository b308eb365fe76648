//! `flowhost run --watch` and Jina's `reload`: when the flow file or a component file
//! changes, the flow is deployed again beside the running one, keeping every executor whose
//! settings and files are unchanged, and the gateway is switched over to it.
//!
//! Nothing in flight is dropped: a request finishes on the router it started on (see
//! [`LiveFlow`]), and the replaced executors stop once their last request is answered. A
//! flow file that does not load, or an executor that does not start, leaves the running
//! flow serving and is logged with its reason; the next save tries again.
//!
//! What is watched: with `--watch`, the flow file and every executor's component and config
//! files; without it, the flow file when the flow says `reload: true` (Jina's Flow-level
//! key, which executors inherit), and the files of each executor that says `reload: true`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher as _};
use serde_json::Value;
use tokio::sync::mpsc;

use flowhost_flow::{EffectiveExecutor, Flow, FlowError};

use super::{DeployOptions, LiveFlow, RunningFlow};

/// How long the watched files must stay quiet before a reload: an editor's save, or a
/// `cp` over a component, is several writes, and a half-written file is not worth loading.
const SETTLE: Duration = Duration::from_millis(10);

/// What to watch besides what the flow's own `reload` keys ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchAll {
    /// `--watch`: the flow file and every executor's files.
    Yes,
    /// Only what `reload: true` names.
    No,
}

/// Why the watcher could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {}: {source}", path.display())]
pub struct WatchError {
    /// The folder that could not be watched.
    pub path: PathBuf,
    /// The operating system's reason.
    #[source]
    pub source: notify::Error,
}

/// A running flow and the watch on its files: made before the flow is announced, so a
/// change saved right after the announcement is seen.
pub struct Reloader<L> {
    live: Arc<LiveFlow>,
    running: RunningFlow,
    flow_file: PathBuf,
    load: L,
    options: DeployOptions,
    all: WatchAll,
    files: Vec<PathBuf>,
    watch: Option<FileWatch>,
}

impl<L: Fn() -> Result<Flow, FlowError>> Reloader<L> {
    /// Watches the files of `running` (served through `live`) from now on. `load` reads
    /// the flow file again (and reports its warnings).
    pub fn new(
        live: Arc<LiveFlow>,
        running: RunningFlow,
        flow_file: PathBuf,
        load: L,
        options: DeployOptions,
        all: WatchAll,
    ) -> Result<Self, WatchError> {
        let files = watched_files(&running, &flow_file, all);
        let watch = if files.is_empty() {
            None
        } else {
            tracing::info!(files = files.len(), "watching for changes");
            Some(FileWatch::new(&files)?)
        };
        Ok(Self {
            live,
            running,
            flow_file,
            load,
            options,
            all,
            files,
            watch,
        })
    }

    /// Reloads the flow whenever a watched file changes, until `stop` resolves; returns
    /// the flow running then, for the caller to close.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) -> RunningFlow {
        let Self {
            live,
            mut running,
            flow_file,
            load,
            options,
            all,
            mut files,
            watch,
        } = self;
        tokio::pin!(stop);
        let Some(mut watch) = watch else {
            stop.await;
            return running;
        };
        loop {
            tokio::select! {
                () = &mut stop => return running,
                () = watch.changed() => {}
            }
            tracing::info!("a watched file changed: reloading");
            let began = Instant::now();
            let flow = match load() {
                Ok(flow) => flow,
                Err(error) => {
                    tracing::error!("{error}; the running flow keeps serving");
                    continue;
                }
            };
            if flow.gateway_args() != running.flow().gateway_args() {
                tracing::warn!(
                    "the gateway's settings (`with:` ports, protocols, TLS, ...) changed: they apply at the next start"
                );
            }
            // A shutdown does not wait for a reload (which may wait on a slow `init` up
            // to its `timeout_ready`): the half-started executors are dropped.
            let reloaded = tokio::select! {
                () = &mut stop => None,
                reloaded = running.reload(flow, options.clone()) => Some(reloaded),
            };
            let Some(reloaded) = reloaded else {
                return running;
            };
            match reloaded {
                Ok(next) => {
                    let previous = std::mem::replace(&mut running, next);
                    live.replace(running.router().clone());
                    tracing::info!(
                        elapsed_ms = began.elapsed().as_millis() as u64,
                        "flow reloaded"
                    );
                    // Floating work of the replaced flow finishes in the background; its
                    // executors stop once the last request on them is answered.
                    tokio::spawn(previous.close());
                }
                Err(error) => {
                    tracing::error!("cannot reload: {error}; the running flow keeps serving");
                }
            }
            // A reloaded flow may use other files. The new watch starts before the old one
            // goes, and inherits its unread changes, so a save during the reload is not missed.
            let now = watched_files(&running, &flow_file, all);
            if now != files {
                match FileWatch::new(&now) {
                    Ok(mut fresh) => {
                        fresh.pending = watch.has_unread();
                        watch = fresh;
                        files = now;
                    }
                    Err(error) => {
                        tracing::error!("{error}; still watching the files before the reload")
                    }
                }
            }
        }
    }
}

/// Whether `extra` (an executor's, or the flow's) says `reload: true`.
fn asks_reload(extra: &std::collections::BTreeMap<String, Value>) -> bool {
    flowhost_flow::is_on(extra, "reload")
}

/// Whether `flow` has anything to watch: `--watch`, or a `reload: true` anywhere.
pub fn wants_watch(flow: &Flow, all: WatchAll) -> bool {
    all == WatchAll::Yes
        || asks_reload(&flow.with.extra)
        || flow.executors.iter().any(|e| asks_reload(&e.extra))
}

/// The files whose change reloads `running`: see the module's doc.
fn watched_files(running: &RunningFlow, flow_file: &Path, all: WatchAll) -> Vec<PathBuf> {
    let mut files = running.executor_files(|effective: &EffectiveExecutor| {
        all == WatchAll::Yes || asks_reload(&effective.extra)
    });
    if all == WatchAll::Yes || asks_reload(&running.flow().with.extra) {
        files.push(flow_file.to_owned());
    }
    files
}

/// Change notifications for a set of files. Folders are watched, not files: editors and
/// `mv` replace a file by renaming another over it, which a watch on the file itself misses.
struct FileWatch {
    // Dropping it stops the notifications.
    _watcher: notify::RecommendedWatcher,
    events: mpsc::Receiver<notify::Event>,
    files: HashSet<PathBuf>,
    /// A change seen before this watch took over.
    pending: bool,
}

impl FileWatch {
    fn new(files: &[PathBuf]) -> Result<Self, WatchError> {
        // Each file named as the events will name it: its folder's real path, then its name.
        let files: HashSet<PathBuf> = files.iter().filter_map(|file| real_path(file)).collect();
        let folders: HashSet<&Path> = files.iter().filter_map(|file| file.parent()).collect();
        // Only "something changed" matters: when the channel is full, a reload is already due.
        let (sender, events) = mpsc::channel(64);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    let _ = sender.try_send(event);
                }
            })
            .map_err(|source| WatchError {
                // No folder is at fault: the system refused a watcher at all.
                path: files.iter().next().cloned().unwrap_or_default(),
                source,
            })?;
        for folder in folders {
            watcher
                .watch(folder, RecursiveMode::NonRecursive)
                .map_err(|source| WatchError {
                    path: folder.to_owned(),
                    source,
                })?;
        }
        Ok(Self {
            _watcher: watcher,
            events,
            files,
            pending: false,
        })
    }

    /// Whether events arrived that [`FileWatch::changed`] has not looked at.
    fn has_unread(&self) -> bool {
        self.pending || !self.events.is_empty()
    }

    /// Waits for a watched file to change, then for the changes to settle.
    async fn changed(&mut self) {
        while !std::mem::take(&mut self.pending) {
            match self.events.recv().await {
                Some(event) if self.concerns(&event) => self.pending = true,
                Some(_) => {}
                // The watcher is gone: nothing will ever change.
                None => std::future::pending::<()>().await,
            }
        }
        while let Ok(Some(_)) = tokio::time::timeout(SETTLE, self.events.recv()).await {}
    }

    fn concerns(&self, event: &notify::Event) -> bool {
        !event.kind.is_access() && event.paths.iter().any(|path| self.files.contains(path))
    }
}

/// `file` with its folder resolved to a real path (the file itself may not exist yet, or be
/// a link that a save replaces).
fn real_path(file: &Path) -> Option<PathBuf> {
    let folder = match file.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(folder).ok()?.join(file.file_name()?))
}
