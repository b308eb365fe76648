//! Entry points for the runtime benchmarks, which need to time pieces the
//! public API deliberately hides (a bare instantiation, a call without the
//! queue). Not part of the supported API.

use std::sync::Arc;
use std::time::Instant;

use super::bindings::DocumentBatch;
use super::component::ExecutorComponent;
use super::error::{Fault, StartError};
use super::instance::{InstanceConfig, LiveInstance};

/// An instance called directly, without the task and queue of [`super::Executor`].
pub struct DirectInstance(LiveInstance);

impl DirectInstance {
    /// Creates a store and instantiates `component` from its `InstancePre`,
    /// without running `init`; dropping the result returns the pool slot.
    pub async fn instantiate(
        component: &ExecutorComponent,
        config: &InstanceConfig,
    ) -> Result<Self, StartError> {
        Ok(Self(
            LiveInstance::instantiate_only(component, config).await?,
        ))
    }

    pub async fn start(
        component: Arc<ExecutorComponent>,
        config: &InstanceConfig,
    ) -> Result<Self, StartError> {
        Ok(Self(LiveInstance::start(&component, config).await?.0))
    }

    /// `Ok(None)`: the executor answered `unchanged`.
    pub async fn call(
        &mut self,
        method: &str,
        endpoint: &str,
        docs: &DocumentBatch,
        parameters: &str,
    ) -> Result<Option<DocumentBatch>, Fault> {
        (self.0)
            .call(Instant::now(), method, endpoint, docs, parameters)
            .await
    }
}
