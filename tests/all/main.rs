//! flowhost's end-to-end tests, one binary (as wasmtime does) so the heavy
//! dependencies link once.

mod conformance;
mod containment;
mod examples;
mod export;
mod external;
mod flows;
mod fuzz_corpus;
mod gateway;
mod gateway_support;
mod hardening;
mod health;
mod image;
mod jina_keys;
mod layers;
mod openapi_fuzz;
mod polyglot;
mod registry_flows;
#[path = "../../registry/tests/support/mod.rs"]
mod registry_support;
mod reliability;
mod reload;
mod support;
mod telemetry;
