//! The text a Flow was read from, kept to turn paths into `file:line:col` for errors.

use crate::error::Pos;
use crate::locate::{Seg, Target, locate};

/// A flow or executor config text after `${{ }}` substitution, and its file name.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Source<'_> {
    /// Position of the node at `path` (or of its nearest existing ancestor).
    pub fn pos(&self, path: &[Seg], target: Target) -> Box<Pos> {
        let found = locate(self.text, path, target);
        Box::new(Pos {
            file: self.file.to_string(),
            line: found.map(|(l, _)| l),
            column: found.map(|(_, c)| c),
        })
    }
}

/// Position for an error at `path`: located in `src` if the flow came from a file, else the
/// builder's placeholder.
pub fn pos_in(src: Option<&Source<'_>>, path: &[Seg], target: Target) -> Box<Pos> {
    match src {
        Some(src) => src.pos(path, target),
        None => Box::new(Pos::builder()),
    }
}

/// Builds a path from mixed keys and indices: `yaml_path!["executors", 2, "needs"]`.
macro_rules! yaml_path {
    ($($seg:expr),* $(,)?) => {
        [$($crate::locate::Seg::from($seg)),*]
    };
}
pub(crate) use yaml_path;
