//! Checks that need the whole Flow: names, `needs`, cycles, counts, limits, gateway ports.
//!
//! Runs on every loaded flow (with the source, for positions) and on built flows through
//! [`Flow::validate`] (without). Type and key errors are caught earlier, in `yaml.rs`.

use std::collections::HashMap;

use crate::error::{Ctx, FlowError, Hint};
use crate::keys::did_you_mean;
use crate::locate::{Seg, Target};
use crate::source::{Source, pos_in, yaml_path};
use crate::spec::{ArrayFormat, DynamicBatching, Flow, Limits, NUMPY_DTYPES};
use crate::topology::{GATEWAY, Topology, TopologyError};

impl Flow {
    /// Checks a flow built in Rust the way a loaded flow is checked.
    pub fn validate(&self) -> Result<(), FlowError> {
        validate(self, None)
    }
}

/// All whole-flow checks; `src` gives positions when the flow came from a file.
pub fn validate(flow: &Flow, src: Option<&Source<'_>>) -> Result<(), FlowError> {
    check_gateway(flow, src)?;
    check_limits(&flow.with.limits, &yaml_path!["with"], &Ctx::With, src)?;
    check_output(
        &flow.with.dynamic_batching,
        flow.with.output_array_type.as_ref(),
        &yaml_path!["with"],
        &Ctx::With,
        src,
    )?;
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (i, e) in flow.executors.iter().enumerate() {
        let ctx = Ctx::Executor(e.name.clone());
        let name_pos = || pos_in(src, &yaml_path!["executors", i, "name"], Target::Value);
        if e.name.is_empty() {
            return Err(FlowError::BadValue {
                at: name_pos(),
                ctx,
                key: "name".to_string(),
                message: format!("executor #{i} has an empty name"),
            });
        }
        if e.name == GATEWAY {
            return Err(FlowError::ReservedName {
                at: name_pos(),
                name: e.name.clone(),
            });
        }
        if let Some(&first) = first_index.get(e.name.as_str()) {
            let first_at = pos_in(src, &yaml_path!["executors", first, "name"], Target::Value);
            let first_desc = match first_at.line {
                Some(line) => format!("line {line}"),
                None => format!("executor #{first}"),
            };
            // Jina names unnamed executors `executor<N>`; say so when that caused the clash.
            let defaulted = [i, first]
                .into_iter()
                .find(|idx| e.name == format!("executor{idx}"));
            let note = match defaulted {
                Some(idx) => format!(
                    "; `{}` is the default name of the unnamed executor #{idx} (counting from 0), so give one of them another `name`",
                    e.name
                ),
                None => String::new(),
            };
            return Err(FlowError::DuplicateName {
                at: name_pos(),
                name: e.name.clone(),
                first_index: first,
                first_at: first_desc,
                note,
            });
        }
        first_index.insert(&e.name, i);
        for (key, n) in [("replicas", e.replicas), ("shards", e.shards)] {
            if n == 0 {
                return Err(FlowError::BadValue {
                    at: pos_in(src, &yaml_path!["executors", i, key], Target::Value),
                    ctx: ctx.clone(),
                    key: key.to_string(),
                    message: "must be at least 1".to_string(),
                });
            }
        }
        if e.external && e.addresses().is_none() {
            return Err(FlowError::BadValue {
                at: pos_in(src, &yaml_path!["executors", i, "external"], Target::Key),
                ctx: ctx.clone(),
                key: "external".to_string(),
                message: "an external executor needs `host` and `port` (or `host: name:port`) to be reached at; \
                          with several hosts (its replicas), one port for all or one per host"
                    .to_string(),
            });
        }
        if let Some(addresses) = e.addresses().filter(|_| e.external)
            && addresses.len() % e.shards.max(1) as usize != 0
        {
            return Err(FlowError::BadValue {
                at: pos_in(src, &yaml_path!["executors", i, "host"], Target::Key),
                ctx: ctx.clone(),
                key: "host".to_string(),
                message: format!(
                    "{} addresses cannot be split evenly into {} shards (an external executor's \
                     hosts are taken shard by shard)",
                    addresses.len(),
                    e.shards
                ),
            });
        }
        check_limits(&e.limits, &yaml_path!["executors", i], &ctx, src)?;
        check_output(
            &e.dynamic_batching,
            e.output_array_type.as_ref(),
            &yaml_path!["executors", i],
            &ctx,
            src,
        )?;
    }
    check_needs(flow, src)?;
    check_cycles(flow, src)
}

fn check_gateway(flow: &Flow, src: Option<&Source<'_>>) -> Result<(), FlowError> {
    // Fewer ports than protocols is fine (the rest pick free ports); more is a mistake.
    let (ports, protocols) = (flow.with.port.len(), flow.with.protocol.len().max(1));
    if ports > protocols {
        return Err(FlowError::BadValue {
            at: pos_in(src, &yaml_path!["with", "port"], Target::Value),
            ctx: Ctx::With,
            key: "port".to_string(),
            message: format!(
                "{ports} ports but {protocols} protocol(s): each port serves one protocol, so list as many protocols (grpc, http, websocket)"
            ),
        });
    }
    Ok(())
}

fn check_limits(
    limits: &Limits,
    base: &[Seg],
    ctx: &Ctx,
    src: Option<&Source<'_>>,
) -> Result<(), FlowError> {
    let checks = [
        (
            "timeout_ms",
            limits.timeout_ms,
            1,
            "must be at least 1 millisecond",
        ),
        (
            "memory_limit",
            limits.memory_limit,
            64 * 1024,
            "must be at least 64KiB (one WebAssembly page)",
        ),
        ("fuel", limits.fuel, 1, "must be at least 1"),
    ];
    for (key, value, min, message) in checks {
        if let Some(v) = value
            && v < min
        {
            let mut p = base.to_vec();
            p.push(key.into());
            return Err(FlowError::BadLimit {
                at: pos_in(src, &p, Target::Value),
                ctx: ctx.clone(),
                key: key.to_string(),
                value: v.to_string(),
                message: message.to_string(),
            });
        }
    }
    Ok(())
}

/// What loading already refuses, checked again for flows built in Rust: a batch size of 0,
/// and a dtype that is not one of [`NUMPY_DTYPES`] (the builder takes any string).
fn check_output(
    batching: &DynamicBatching,
    format: Option<&ArrayFormat>,
    base: &[Seg],
    ctx: &Ctx,
    src: Option<&Source<'_>>,
) -> Result<(), FlowError> {
    let path = |tail: &[&str]| {
        let mut p = base.to_vec();
        p.extend(tail.iter().map(|&k| Seg::from(k)));
        p
    };
    for (name, spec) in batching.entries() {
        if spec.preferred_batch_size == 0 {
            return Err(FlowError::BadValue {
                at: pos_in(
                    src,
                    &path(&["uses_dynamic_batching", name, "preferred_batch_size"]),
                    Target::Value,
                ),
                ctx: Ctx::Nested(
                    Box::new(ctx.clone()),
                    format!("`uses_dynamic_batching` entry `{name}`"),
                ),
                key: "preferred_batch_size".to_string(),
                message: "must be at least 1 (documents gathered per call)".to_string(),
            });
        }
    }
    if let Some(dtype) = format.and_then(ArrayFormat::dtype)
        && !NUMPY_DTYPES.contains(&dtype)
    {
        return Err(FlowError::BadValue {
            at: pos_in(src, &path(&["output_array_type"]), Target::Value),
            ctx: ctx.clone(),
            key: "output_array_type".to_string(),
            message: format!(
                "`{dtype}` is not a numpy dtype flowhost converts to; use one of: {}",
                NUMPY_DTYPES.join(", ")
            ),
        });
    }
    Ok(())
}

fn check_needs(flow: &Flow, src: Option<&Source<'_>>) -> Result<(), FlowError> {
    let names: Vec<&str> = flow.executors.iter().map(|e| e.name.as_str()).collect();
    for (i, e) in flow.executors.iter().enumerate() {
        let Some(needs) = &e.needs else { continue };
        if needs.is_empty() {
            return Err(FlowError::BadValue {
                at: pos_in(src, &yaml_path!["executors", i, "needs"], Target::Value),
                ctx: Ctx::Executor(e.name.clone()),
                key: "needs".to_string(),
                message: "is empty; use `needs: gateway` to start a branch at the gateway"
                    .to_string(),
            });
        }
        for (j, need) in needs.iter().enumerate() {
            // A single `needs: a` has no list index; the locator falls back to the key's value.
            let at = pos_in(src, &yaml_path!["executors", i, "needs", j], Target::Value);
            if needs[..j].contains(need) {
                return Err(FlowError::DuplicateNeeds {
                    at,
                    executor: e.name.clone(),
                    need: need.clone(),
                });
            }
            if need != GATEWAY && !names.contains(&need.as_str()) {
                let candidates = names.iter().copied().chain([GATEWAY]);
                return Err(FlowError::UnknownNeeds {
                    at,
                    executor: e.name.clone(),
                    need: need.clone(),
                    hint: Hint(did_you_mean(need, candidates)),
                });
            }
        }
    }
    Ok(())
}

fn check_cycles(flow: &Flow, src: Option<&Source<'_>>) -> Result<(), FlowError> {
    match Topology::build(flow) {
        Ok(_) => Ok(()),
        Err(TopologyError::Cycle { cycle }) => {
            let first = cycle
                .first()
                .and_then(|n| flow.executors.iter().position(|e| &e.name == n))
                .unwrap_or(0);
            Err(FlowError::Cycle {
                at: pos_in(src, &yaml_path!["executors", first, "needs"], Target::Key),
                cycle,
            })
        }
        Err(TopologyError::UnknownNeeds { executor, need }) => Err(FlowError::UnknownNeeds {
            at: pos_in(src, &yaml_path!["executors"], Target::Key),
            executor,
            need,
            hint: Hint(None),
        }),
    }
}
