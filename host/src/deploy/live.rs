//! A flow whose router can be replaced while it serves (`flowhost run --watch`, Jina's
//! `reload`): each request takes the router current when it arrives and finishes on it, so
//! a swap drops nothing in flight.

use std::sync::{Arc, PoisonError, RwLock};

use futures::future::BoxFuture;

use flowhost_gateway::FlowService;
use flowhost_router::Router;
use flowhost_wire::{Readiness, Request, Response};

/// What the gateway serves when the flow may be reloaded.
pub struct LiveFlow {
    current: RwLock<Arc<Router>>,
}

impl LiveFlow {
    /// Serves `router` until [`LiveFlow::replace`].
    pub fn new(router: Arc<Router>) -> Self {
        Self {
            current: RwLock::new(router),
        }
    }

    /// The router new requests go to.
    pub fn current(&self) -> Arc<Router> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends new requests to `router`; returns the one they went to before, which finishes
    /// what it has in flight.
    pub fn replace(&self, router: Arc<Router>) -> Arc<Router> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, router)
    }
}

/// Each call goes to the router current when it is made, which answers as it always does.
impl FlowService for LiveFlow {
    fn process(&self, request: Request) -> BoxFuture<'_, Response> {
        let router = self.current();
        Box::pin(async move { FlowService::process(&*router, request).await })
    }

    fn endpoints(&self) -> Vec<String> {
        FlowService::endpoints(&*self.current())
    }

    fn readiness(&self) -> BoxFuture<'_, Readiness> {
        let router = self.current();
        Box::pin(async move { FlowService::readiness(&*router).await })
    }
}
