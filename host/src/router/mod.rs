//! The router: executes one request through a flow's DAG.

pub mod merge;
pub mod when;
