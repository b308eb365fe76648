//! The executor model: the [`Executor`] trait (construction from typed
//! `uses_with`), [`Reply`], the three method shapes the export macro accepts,
//! and the per-instance runtime behind the WIT `init`/`describe`/`call` exports.
//!
//! Everything here is plain Rust, so it is unit-tested natively; the export
//! macro only wires it to the generated bindings.

use std::cell::RefCell;
use std::thread::LocalKey;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::array::DocumentArray;
use crate::batch;
use crate::error::{Error, Result};
use crate::request::{Metas, Request, parse_object};
use crate::wit;

/// An executor: a type built once per instance from its `uses_with` and metas.
///
/// Its methods are plain inherent methods, bound to endpoints with
/// [`export_executor!`](crate::export_executor).
pub trait Executor: Sized + 'static {
    /// The constructor arguments (Jina's `uses_with`), deserialised from the
    /// JSON object the flow provides. Use `#[serde(default)]` so that missing
    /// keys take defaults, and [`NoConfig`] if there are none.
    type Config: DeserializeOwned;

    /// Builds the executor. An error here fails the instance's start.
    fn new(config: Self::Config, metas: &Metas) -> Result<Self>;
}

/// `Config` for executors without constructor arguments; accepts (and ignores)
/// any `uses_with` object.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct NoConfig {}

/// What a method returns when it decides at run time whether it changed the
/// documents (methods taking `DocumentArray` by value).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The documents are as received: the host keeps its own copy and nothing
    /// is sent back.
    Unchanged,
    /// These documents replace the ones sent.
    Docs(DocumentArray),
}

impl From<DocumentArray> for Reply {
    fn from(docs: DocumentArray) -> Self {
        Reply::Docs(docs)
    }
}

/// Marker types that tell the three method shapes apart (see [`Method`]).
pub mod shape {
    /// `fn(&mut self, &DocumentArray, &Request) -> Result<()>`: read-only.
    pub enum ReadOnly {}
    /// `fn(&mut self, &mut DocumentArray, &Request) -> Result<()>`: edits in place.
    pub enum InPlace {}
    /// `fn(&mut self, DocumentArray, &Request) -> Result<Reply>`: decides itself.
    pub enum Owned {}
}

/// A method the export macro can bind to endpoints. Implemented for three
/// shapes of `E`'s inherent methods:
///
/// | signature | reply |
/// | --- | --- |
/// | `fn m(&mut self, docs: &DocumentArray, req: &Request) -> Result<()>` | always `unchanged`: nothing is copied back |
/// | `fn m(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()>` | always the (edited) documents |
/// | `fn m(&mut self, docs: DocumentArray, req: &Request) -> Result<Reply>` | whatever the method returns |
pub trait Method<E, Shape> {
    /// Runs the method.
    fn invoke(self, exec: &mut E, docs: DocumentArray, req: &Request<'_>) -> Result<Reply>;
}

impl<E, F> Method<E, shape::ReadOnly> for F
where
    F: FnOnce(&mut E, &DocumentArray, &Request<'_>) -> Result<()>,
{
    fn invoke(self, exec: &mut E, docs: DocumentArray, req: &Request<'_>) -> Result<Reply> {
        self(exec, &docs, req)?;
        Ok(Reply::Unchanged)
    }
}

impl<E, F> Method<E, shape::InPlace> for F
where
    F: FnOnce(&mut E, &mut DocumentArray, &Request<'_>) -> Result<()>,
{
    fn invoke(self, exec: &mut E, mut docs: DocumentArray, req: &Request<'_>) -> Result<Reply> {
        self(exec, &mut docs, req)?;
        Ok(Reply::Docs(docs))
    }
}

impl<E, F> Method<E, shape::Owned> for F
where
    F: FnOnce(&mut E, DocumentArray, &Request<'_>) -> Result<Reply>,
{
    fn invoke(self, exec: &mut E, docs: DocumentArray, req: &Request<'_>) -> Result<Reply> {
        self(exec, docs, req)
    }
}

/// Calls `method` on `exec`, whatever its shape (used by the export macro).
pub fn invoke<E, S, M: Method<E, S>>(
    method: M,
    exec: &mut E,
    docs: DocumentArray,
    req: &Request<'_>,
) -> Result<Reply> {
    method.invoke(exec, docs, req)
}

/// The macro-generated dispatcher: runs the method named by the first argument,
/// or returns `None` if the executor has no such method.
pub type Dispatch<E> = fn(&str, &mut E, DocumentArray, &Request<'_>) -> Option<Result<Reply>>;

/// A live executor with its metas: what `init` creates and `call` uses.
pub struct Instance<E> {
    exec: E,
    metas: Metas,
}

impl<E: Executor> Instance<E> {
    /// Deserialises `uses_with` (empty text counts as `{}`) and builds the executor.
    pub fn new(uses_with: &str, metas: Metas) -> Result<Self> {
        let config = parse_object(uses_with, "uses_with")?;
        let config = E::Config::deserialize(Value::Object(config)).map_err(|err| {
            Error::value_error(format!("uses_with of executor {:?}: {err}", metas.name))
        })?;
        let exec = E::new(config, &metas)?;
        Ok(Self { exec, metas })
    }
}

use serde::Deserialize as _;

impl<E> Instance<E> {
    /// The executor.
    pub fn executor(&mut self) -> &mut E {
        &mut self.exec
    }

    /// The instance's metas.
    pub fn metas(&self) -> &Metas {
        &self.metas
    }

    /// Handles one WIT `call`: parses the parameters, rebuilds the document tree,
    /// runs the method and flattens the result (unless it is `unchanged`).
    pub fn call(
        &mut self,
        dispatch: Dispatch<E>,
        method: &str,
        endpoint: &str,
        docs: wit::DocumentBatch,
        parameters: &str,
    ) -> Result<wit::Output> {
        let parameters = parse_object(parameters, "parameters")?;
        let docs = batch::unflatten(docs)?;
        let req = Request::new(method, endpoint, parameters, &self.metas);
        let reply = dispatch(method, &mut self.exec, docs, &req).ok_or_else(|| {
            Error::new(
                "UnknownMethod",
                format!("executor {:?} has no method {method:?}", self.metas.name),
            )
        })??;
        match reply {
            Reply::Unchanged => Ok(wit::Output::Unchanged),
            Reply::Docs(docs) => Ok(wit::Output::Docs(batch::flatten(docs)?)),
        }
    }
}

/// The slot the export macro keeps the instance in.
pub type Slot<E> = LocalKey<RefCell<Option<Instance<E>>>>;

/// WIT `init`: builds the instance into `slot`.
pub fn guest_init<E: Executor>(
    slot: &'static Slot<E>,
    uses_with: String,
    metas: wit::Metas,
) -> std::result::Result<(), wit::ExecutorError> {
    if slot.with_borrow(Option::is_some) {
        return Err(Error::new("AlreadyInitialized", "init was called twice").into());
    }
    let instance = Instance::<E>::new(&uses_with, metas.into())?;
    slot.set(Some(instance));
    Ok(())
}

/// WIT `call`: runs a method on the instance in `slot`.
pub fn guest_call<E>(
    slot: &'static Slot<E>,
    dispatch: Dispatch<E>,
    method: String,
    endpoint: String,
    docs: wit::DocumentBatch,
    parameters: String,
) -> std::result::Result<wit::Output, wit::ExecutorError> {
    slot.with_borrow_mut(|instance| {
        let instance = instance
            .as_mut()
            .ok_or_else(|| Error::new("NotInitialized", "call before init"))?;
        Ok(instance.call(dispatch, &method, &endpoint, docs, &parameters)?)
    })
}

/// WIT `describe`, from the macro's method table.
pub fn describe(methods: &[(&str, &[&str])], catch_all: Option<&str>) -> wit::Description {
    wit::Description {
        methods: methods
            .iter()
            .map(|(name, endpoints)| wit::MethodInfo {
                name: (*name).to_owned(),
                endpoints: endpoints.iter().map(|e| (*e).to_owned()).collect(),
            })
            .collect(),
        catch_all: catch_all.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;

    #[derive(serde::Deserialize)]
    #[serde(default)]
    struct Cfg {
        greeting: String,
    }
    impl Default for Cfg {
        fn default() -> Self {
            Self {
                greeting: "hi".into(),
            }
        }
    }

    struct Exec {
        greeting: String,
        seen: usize,
    }

    impl Executor for Exec {
        type Config = Cfg;
        fn new(config: Cfg, metas: &Metas) -> Result<Self> {
            if metas.name == "refuse" {
                return Err(Error::value_error("refused"));
            }
            Ok(Self {
                greeting: config.greeting,
                seen: 0,
            })
        }
    }

    impl Exec {
        fn count(&mut self, docs: &DocumentArray, _req: &Request) -> Result<()> {
            self.seen += docs.len();
            Ok(())
        }
        fn greet(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()> {
            let who: String = req.param_or("who", "world".to_owned())?;
            docs.push(Document::from_text(format!("{} {who}", self.greeting)));
            Ok(())
        }
        fn maybe(&mut self, docs: DocumentArray, req: &Request) -> Result<Reply> {
            if req.param_or("fail", false)? {
                return Err(Error::new("ValueError", "asked to fail"));
            }
            Ok(if docs.is_empty() {
                Reply::Unchanged
            } else {
                docs.into()
            })
        }
    }

    fn dispatch(m: &str, e: &mut Exec, d: DocumentArray, r: &Request) -> Option<Result<Reply>> {
        Some(match m {
            "count" => invoke(Exec::count, e, d, r),
            "greet" => invoke(Exec::greet, e, d, r),
            "maybe" => invoke(Exec::maybe, e, d, r),
            _ => return None,
        })
    }

    fn batch_of(n: usize) -> wit::DocumentBatch {
        batch::flatten((0..n).map(|i| Document::with_id(i.to_string())).collect()).unwrap()
    }

    #[test]
    fn config_defaults_and_errors() {
        let mut inst = Instance::<Exec>::new("", Metas::default()).unwrap();
        assert_eq!(inst.executor().greeting, "hi");
        let mut inst = Instance::<Exec>::new(r#"{"greeting": "yo"}"#, Metas::default()).unwrap();
        assert_eq!(inst.executor().greeting, "yo");
        let err = Instance::<Exec>::new(r#"{"greeting": 3}"#, Metas::default())
            .err()
            .unwrap();
        assert!(
            err.message().contains("uses_with of executor \"executor\""),
            "{err}"
        );
        let metas = Metas {
            name: "refuse".into(),
            ..Metas::default()
        };
        assert!(Instance::<Exec>::new("{}", metas).is_err());
    }

    #[test]
    fn method_shapes_map_to_outputs() {
        let mut inst = Instance::<Exec>::new("{}", Metas::default()).unwrap();
        let out = inst
            .call(dispatch, "count", "/x", batch_of(3), "{}")
            .unwrap();
        assert!(matches!(out, wit::Output::Unchanged));
        assert_eq!(inst.executor().seen, 3);

        let out = inst
            .call(dispatch, "greet", "/x", batch_of(1), r#"{"who": "bob"}"#)
            .unwrap();
        let wit::Output::Docs(b) = out else {
            panic!("expected docs")
        };
        assert_eq!(b.roots.len(), 2);
        assert_eq!(b.nodes[1].text.as_deref(), Some("hi bob"));

        let out = inst.call(dispatch, "maybe", "/x", batch_of(0), "").unwrap();
        assert!(matches!(out, wit::Output::Unchanged));
        let out = inst.call(dispatch, "maybe", "/x", batch_of(2), "").unwrap();
        assert!(matches!(out, wit::Output::Docs(b) if b.nodes.len() == 2));
    }

    #[test]
    fn call_errors() {
        let mut inst = Instance::<Exec>::new("{}", Metas::default()).unwrap();
        let err = inst
            .call(dispatch, "nope", "/x", batch_of(0), "{}")
            .unwrap_err();
        assert_eq!(err.name(), "UnknownMethod");
        let err = inst
            .call(dispatch, "maybe", "/x", batch_of(0), r#"{"fail": true}"#)
            .unwrap_err();
        assert_eq!((err.name(), err.message()), ("ValueError", "asked to fail"));
        let err = inst
            .call(dispatch, "count", "/x", batch_of(0), "[]")
            .unwrap_err();
        assert!(
            err.message()
                .starts_with("parameters must be a JSON object")
        );
        let bad = wit::DocumentBatch {
            nodes: vec![],
            roots: vec![0],
        };
        let err = inst.call(dispatch, "count", "/x", bad, "{}").unwrap_err();
        assert_eq!(err.name(), batch::INVALID_BATCH);
    }

    thread_local! {
        static SLOT: RefCell<Option<Instance<Exec>>> = const { RefCell::new(None) };
    }

    #[test]
    fn guest_entry_points() {
        let metas = || wit::Metas {
            name: "e".into(),
            description: None,
            workspace: None,
            replica_id: 0,
            shard_id: 0,
            shards: 1,
            replicas: 1,
        };
        let err = guest_call(
            &SLOT,
            dispatch,
            "count".into(),
            "/".into(),
            batch_of(0),
            "{}".into(),
        )
        .unwrap_err();
        assert_eq!(err.name, "NotInitialized");
        guest_init(&SLOT, "{}".into(), metas()).unwrap();
        assert_eq!(
            guest_init(&SLOT, "{}".into(), metas()).unwrap_err().name,
            "AlreadyInitialized"
        );
        let out = guest_call(
            &SLOT,
            dispatch,
            "count".into(),
            "/".into(),
            batch_of(2),
            "{}".into(),
        );
        assert!(matches!(out, Ok(wit::Output::Unchanged)));

        let d = describe(&[("a", &["/a", "/b"]), ("b", &[])], Some("b"));
        assert_eq!(d.methods.len(), 2);
        assert_eq!(d.methods[0].endpoints, vec!["/a", "/b"]);
        assert_eq!(d.catch_all.as_deref(), Some("b"));
    }
}
