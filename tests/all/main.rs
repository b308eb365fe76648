//! flowhost's end-to-end tests, one binary (as wasmtime does) so the heavy
//! dependencies link once.

mod containment;
mod examples;
mod flows;
mod support;
