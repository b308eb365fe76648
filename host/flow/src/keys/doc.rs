//! `host/flow/KEYS.md`, written from the table so that the page cannot drift from the code: a
//! test compares the two, and `FLOWHOST_BLESS=1` rewrites the page.

use std::fmt::Write as _;

use super::table::{KEYS, Level, Status};

/// The key table as the Markdown page `host/flow/KEYS.md` (also what an `--explain`-like
/// command can print).
pub fn keys_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Flow file keys\n\n");
    out.push_str(
        "<!-- Generated from host/flow/src/keys/table.rs; do not edit. Regenerate with\n     \
         FLOWHOST_BLESS=1 cargo test -p flowhost-flow keys_md -->\n\n",
    );
    out.push_str(
        "Every key flowhost accepts in a flow file or an executor config file, and what it does \
         with it. Meanings of Jina's keys are Jina 3.34's.\n\n\
         - **implemented**: read and applied, as in Jina (or flowhost's own key).\n\
         - **differs**: read and applied, with the difference stated.\n\
         - **ignored**: loads, but has no effect; loading warns once per occurrence with its \
         file and line, and strict mode refuses the flow.\n\
         - **refused**: a Jina key flowhost cannot honour; loading stops with what to write \
         instead.\n\n\
         A key that neither Jina nor flowhost knows is an error, with the closest known key as \
         a suggestion.\n\n",
    );
    let count = |label: &str| KEYS.iter().filter(|k| k.status.label() == label).count();
    let _ = writeln!(
        out,
        "{} keys: {} implemented, {} differ, {} ignored, {} refused.\n",
        KEYS.len(),
        count("implemented"),
        count("differs"),
        count("ignored"),
        count("refused"),
    );
    for level in Level::ALL {
        let _ = writeln!(out, "## {}\n", level.title());
        out.push_str("| key | status | what it is | in flowhost |\n|---|---|---|---|\n");
        for k in KEYS.iter().filter(|k| k.level == level) {
            let note = match k.status {
                Status::Implemented => "",
                other => other.note(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                k.key,
                k.status.label(),
                cell(k.meaning),
                cell(note)
            );
        }
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Text safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn keys_md_matches_the_table() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("KEYS.md");
        let expected = keys_markdown();
        if std::env::var_os("FLOWHOST_BLESS").is_some_and(|v| v == "1") {
            std::fs::write(&path, &expected)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            return;
        }
        let found = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            found == expected,
            "{} does not match the key table (host/flow/src/keys/table.rs); regenerate it with \
             `FLOWHOST_BLESS=1 cargo test -p flowhost-flow keys_md`",
            path.display()
        );
    }
}
