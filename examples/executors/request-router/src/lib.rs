//! `RequestRouter`: one method per kind of binding, as in the Jina seed.
//!
//! * `all_req`: the catch-all (`@requests`);
//! * `foo`: bound to `/foo` (`@requests(on='/foo')`);
//! * `bar`: no default endpoint; a flow binds it with `uses_requests`.
//!
//! Each logs and appends a document reading `<method> <recipient>`, where the
//! recipient is `parameters.recipient` (`None` when absent, as Python prints it):
//! `all req ...`, `foo ...`, `bar ...`.

use flowhost_guest::serde_json::Value;
use flowhost_guest::{Document, DocumentArray, Executor, Metas, NoConfig, Request, Result};

/// Stateless; no constructor arguments.
pub struct RequestRouter;

impl Executor for RequestRouter {
    type Config = NoConfig;

    fn new(_config: NoConfig, _metas: &Metas) -> Result<Self> {
        Ok(Self)
    }
}

/// Logs `label recipient` and appends it as a document.
fn announce(label: &str, docs: &mut DocumentArray, req: &Request) {
    let recipient = match req.parameters().get("recipient") {
        None | Some(Value::Null) => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let line = format!("{label} {recipient}");
    flowhost_guest::info!("{line}");
    docs.push(Document::from_text(line));
}

impl RequestRouter {
    /// Catch-all.
    fn all_req(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()> {
        announce("all req", docs, req);
        Ok(())
    }

    /// Bound to `/foo`.
    fn foo(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()> {
        announce("foo", docs, req);
        Ok(())
    }

    /// Unbound by default.
    fn bar(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()> {
        announce("bar", docs, req);
        Ok(())
    }
}

flowhost_guest::export_executor!(RequestRouter {
    all_req => *,
    foo => "/foo",
    bar => [],
});
