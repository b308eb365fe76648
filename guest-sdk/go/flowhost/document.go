package flowhost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
)

// NamedScore is a named score or evaluation (docarray's NamedScore); its name
// is the key it is stored under in [Document.Scores] or [Document.Evaluations].
type NamedScore struct {
	Value       float64
	OpName      *string // the operation that produced it, e.g. "cosine"
	Description *string
	RefID       *string // the id of the document the score refers to
}

// Document is one docarray v1 document, with its chunks and matches as nested
// documents (any depth).
//
// Optional fields are pointers (or nil slices and maps): nil means unset, which
// the host keeps apart from an empty value. [Ptr] makes a pointer from a value:
//
//	doc := flowhost.NewDocument()
//	doc.Text = flowhost.Ptr("hello")
//	doc.SetTag("lang", "en")
//
// Tags hold decoded JSON: map[string]any, []any, string, bool, nil, and
// json.Number for numbers (so integers stay integers; use its Int64 or Float64
// method). Any Go value encoding/json can marshal may be stored.
type Document struct {
	ID          string
	ParentID    *string
	Granularity *int32 // depth in the chunk tree
	Adjacency   *int32 // depth in the match tree
	Text        *string
	Blob        []byte // nil: unset
	Tensor      *Tensor
	Embedding   *Tensor
	URI         *string
	MimeType    *string
	Tags        map[string]any // nil or empty: no tags
	Weight      *float64
	Modality    *string
	Offset      *float64
	Location    []float64
	Scores      map[string]NamedScore
	Evaluations map[string]NamedScore
	Chunks      []*Document // sub-documents, segments of this one
	Matches     []*Document // results of a search with this document as the query
}

// DocumentArray is a list of documents; a method returns one as its [Reply]
// to send those documents back.
type DocumentArray []*Document

func (DocumentArray) isReply() {}

// Ptr returns a pointer to v, for the optional fields of [Document]:
// doc.Text = flowhost.Ptr("hi").
func Ptr[T any](v T) *T { return &v }

// NewID returns a fresh random id of 32 hex digits, like docarray's.
//
// The bits come from math/rand/v2, whose generator the Go runtime seeds from
// the system's random source (WASI random inside a component): ids are unique,
// not secret. (crypto/rand would add about half a megabyte to every component.)
func NewID() string {
	return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
}

// NewDocument returns an empty document with a fresh random id.
func NewDocument() *Document { return &Document{ID: NewID()} }

// TextDocument returns a document with a fresh random id holding text.
func TextDocument(text string) *Document { return &Document{ID: NewID(), Text: &text} }

// GetText returns the text, or "" if it is unset.
func (d *Document) GetText() string {
	if d.Text == nil {
		return ""
	}
	return *d.Text
}

// Tag returns one tag and whether it is set.
func (d *Document) Tag(key string) (any, bool) {
	v, ok := d.Tags[key]
	return v, ok
}

// SetTag sets one tag, creating the map if needed.
func (d *Document) SetTag(key string, value any) {
	if d.Tags == nil {
		d.Tags = map[string]any{}
	}
	d.Tags[key] = value
}

// DecodeTag decodes one tag into v (a pointer, as for json.Unmarshal) and
// reports whether it was set; a ValueError if it does not fit.
func (d *Document) DecodeTag(key string, v any) (bool, error) {
	raw, ok := d.Tags[key]
	if !ok {
		return false, nil
	}
	if err := redecode(raw, v); err != nil {
		return true, &Error{Name: "ValueError", Message: fmt.Sprintf("document %s: tag %q: %v", d.ID, key, err)}
	}
	return true, nil
}

// AddChunk appends a chunk, setting its ParentID to d's id and its Granularity
// one deeper, as docarray does (appending to Chunks directly does not).
func (d *Document) AddChunk(chunk *Document) {
	chunk.ParentID = Ptr(d.ID)
	g := int32(0)
	if d.Granularity != nil {
		g = *d.Granularity
	}
	chunk.Granularity = Ptr(g + 1)
	d.Chunks = append(d.Chunks, chunk)
}

// AddMatch appends a match, setting its Adjacency one deeper, as docarray does.
func (d *Document) AddMatch(match *Document) {
	a := int32(0)
	if d.Adjacency != nil {
		a = *d.Adjacency
	}
	match.Adjacency = Ptr(a + 1)
	d.Matches = append(d.Matches, match)
}

// Walk calls fn on every document of the tree under docs, parents before
// their chunks and matches (depth first, chunks before matches), and stops at
// the first error.
func (docs DocumentArray) Walk(fn func(*Document) error) error {
	stack := make([]*Document, 0, len(docs))
	for i := len(docs) - 1; i >= 0; i-- {
		stack = append(stack, docs[i])
	}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if d == nil {
			continue
		}
		if err := fn(d); err != nil {
			return err
		}
		for i := len(d.Matches) - 1; i >= 0; i-- {
			stack = append(stack, d.Matches[i])
		}
		for i := len(d.Chunks) - 1; i >= 0; i-- {
			stack = append(stack, d.Chunks[i])
		}
	}
	return nil
}

// Texts returns the text of each top-level document ("" where unset).
func (docs DocumentArray) Texts() []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.GetText()
	}
	return out
}

// decodeJSON decodes JSON text keeping numbers as json.Number.
func decodeJSON(text string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// decodeObject decodes a JSON object; empty text is an empty object.
func decodeObject(text, what string) (map[string]any, error) {
	if len(bytes.TrimSpace([]byte(text))) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := decodeJSON(text, &m); err != nil {
		return nil, &Error{Name: "ValueError", Message: fmt.Sprintf("%s must be a JSON object: %v", what, err)}
	}
	if m == nil { // "null"
		m = map[string]any{}
	}
	return m, nil
}

// encodeJSON encodes v without HTML escaping.
func encodeJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimRight(b.Bytes(), "\n")), nil
}

// redecode converts a decoded JSON value into v by encoding and decoding it.
func redecode(value any, v any) error {
	text, err := encodeJSON(value)
	if err != nil {
		return err
	}
	return decodeJSON(text, v)
}

func sortedKeys(m map[string]NamedScore) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
