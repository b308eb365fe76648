//! [`DocumentArray`]: the ordered list of top-level documents a method receives.

use std::ops::{Deref, DerefMut};

use crate::document::Document;

/// The top-level documents of a request, in order.
///
/// It dereferences to `Vec<Document>`, so `push`, `iter`, `iter_mut`, `len`,
/// indexing and the rest of `Vec`'s API work directly.
///
/// ```
/// use flowhost_guest::{Document, DocumentArray};
///
/// let mut docs: DocumentArray = vec![Document::from_text("a")].into();
/// docs.push(Document::from_text("b"));
/// assert_eq!(docs.len(), 2);
/// assert_eq!(docs.texts(), vec![Some("a"), Some("b")]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentArray {
    docs: Vec<Document>,
}

impl DocumentArray {
    /// An empty array.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the documents out.
    pub fn into_vec(self) -> Vec<Document> {
        self.docs
    }

    /// The first top-level document with this id.
    pub fn get_by_id(&self, id: &str) -> Option<&Document> {
        self.docs.iter().find(|d| d.id == id)
    }

    /// The first top-level document with this id, mutably.
    pub fn get_by_id_mut(&mut self, id: &str) -> Option<&mut Document> {
        self.docs.iter_mut().find(|d| d.id == id)
    }

    /// Each top-level document's text.
    pub fn texts(&self) -> Vec<Option<&str>> {
        self.docs.iter().map(|d| d.text.as_deref()).collect()
    }

    /// Every document in the tree, depth first: each document, then its chunks,
    /// then its matches (recursively).
    pub fn traverse(&self) -> impl Iterator<Item = &Document> {
        let mut stack: Vec<&Document> = self.docs.iter().rev().collect();
        std::iter::from_fn(move || {
            let doc = stack.pop()?;
            stack.extend(doc.matches.iter().rev());
            stack.extend(doc.chunks.iter().rev());
            Some(doc)
        })
    }
}

impl Deref for DocumentArray {
    type Target = Vec<Document>;
    fn deref(&self) -> &Vec<Document> {
        &self.docs
    }
}

impl DerefMut for DocumentArray {
    fn deref_mut(&mut self) -> &mut Vec<Document> {
        &mut self.docs
    }
}

impl From<Vec<Document>> for DocumentArray {
    fn from(docs: Vec<Document>) -> Self {
        Self { docs }
    }
}

impl From<DocumentArray> for Vec<Document> {
    fn from(docs: DocumentArray) -> Self {
        docs.docs
    }
}

impl FromIterator<Document> for DocumentArray {
    fn from_iter<I: IntoIterator<Item = Document>>(iter: I) -> Self {
        Self {
            docs: iter.into_iter().collect(),
        }
    }
}

impl Extend<Document> for DocumentArray {
    fn extend<I: IntoIterator<Item = Document>>(&mut self, iter: I) {
        self.docs.extend(iter);
    }
}

impl IntoIterator for DocumentArray {
    type Item = Document;
    type IntoIter = std::vec::IntoIter<Document>;
    fn into_iter(self) -> Self::IntoIter {
        self.docs.into_iter()
    }
}

impl<'a> IntoIterator for &'a DocumentArray {
    type Item = &'a Document;
    type IntoIter = std::slice::Iter<'a, Document>;
    fn into_iter(self) -> Self::IntoIter {
        self.docs.iter()
    }
}

impl<'a> IntoIterator for &'a mut DocumentArray {
    type Item = &'a mut Document;
    type IntoIter = std::slice::IterMut<'a, Document>;
    fn into_iter(self) -> Self::IntoIter {
        self.docs.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traverse_is_depth_first_chunks_then_matches() {
        let docs: DocumentArray = vec![
            Document::with_id("a")
                .with_chunk(Document::with_id("a.c").with_match(Document::with_id("a.c.m")))
                .with_match(Document::with_id("a.m")),
            Document::with_id("b"),
        ]
        .into();
        let ids: Vec<&str> = docs.traverse().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a", "a.c", "a.c.m", "a.m", "b"]);
        assert!(docs.get_by_id("b").is_some());
        assert!(docs.get_by_id("a.c").is_none());
    }
}
