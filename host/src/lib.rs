//! The `flowhost` command and what it alone knows: how a flow file becomes running
//! executors, a router and a gateway ([`deploy`]), the command line ([`cli`]), and
//! writing executors in any language ([`authoring`]: `flowhost new` and `flowhost build`).
//!
//! This is the only crate that sees every layer, so it is where the flow's settings are
//! mapped onto each layer's own types (the gateway's config, the runtime's limits, remote
//! executors reached through the client). The layers themselves live in `host/*`:
//! `flowhost-docs`, `-flow`, `-wire`, `-runtime`, `-router`, `-gateway`, `-client`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authoring;
pub mod cli;
pub mod deploy;
