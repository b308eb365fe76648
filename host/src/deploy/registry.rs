//! `uses: oci://…`, `hub://…` and `docker://…` through the registry crate.

use std::path::PathBuf;

use flowhost_registry::{ResolveContext, resolve};
use futures::future::BoxFuture;

use super::resolve::RemoteResolver;

/// Resolves remote references with a shared [`ResolveContext`] (one per flow,
/// so every executor shares connections, tokens and the cache).
#[derive(Clone, Debug)]
pub struct RegistryResolver {
    context: ResolveContext,
}

impl RegistryResolver {
    /// Resolves through `context` (registry config, credentials, pull policy).
    pub fn new(context: ResolveContext) -> Self {
        Self { context }
    }

    /// The context references are resolved in.
    pub fn context(&self) -> &ResolveContext {
        &self.context
    }
}

impl RemoteResolver for RegistryResolver {
    fn resolve<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<PathBuf, String>> {
        Box::pin(async move {
            resolve(reference, &self.context)
                .await
                .map(|resolved| {
                    tracing::info!(uses = reference, pinned = %resolved.reference, "resolved");
                    resolved.path
                })
                .map_err(|error| error.to_string())
        })
    }
}
