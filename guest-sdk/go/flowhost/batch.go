package flowhost

// Conversion between the flat WIT document-batch and the DocumentArray tree,
// both ways, at any depth. Incoming batches are validated first: an index out
// of range, a node reached twice (which covers cycles and shared children) or a
// node no root reaches is an InvalidDocumentBatch error naming the node. Both
// directions are iterative.

import (
	"fmt"

	wt "example.invalid/flowhost/guest-sdk/go/internal/wit/imports/flowhost_executor_types"
	witTypes "example.invalid/flowhost/guest-sdk/go/internal/wit/types"
)

// InvalidBatch is the error name for a malformed document batch.
const InvalidBatch = "InvalidDocumentBatch"

func invalid(format string, args ...any) *Error {
	return &Error{Name: InvalidBatch, Message: fmt.Sprintf(format, args...)}
}

// validateBatch checks that the batch is a forest whose every node a root
// reaches, and that every tensor's bytes match its dtype and shape.
func validateBatch(b *wt.DocumentBatch) *Error {
	n := len(b.Nodes)
	seen := make([]bool, n)
	order := make([]uint32, 0, n)
	visit := func(idx uint32, via func() string) *Error {
		if int(idx) >= n {
			return invalid("%s is node %d, out of range (the batch has %d nodes)", via(), idx, n)
		}
		if seen[idx] {
			return invalid("node %d (id %q) is reached twice, the second time as %s; "+
				"a batch must be a forest without cycles or shared children", idx, b.Nodes[idx].Id, via())
		}
		seen[idx] = true
		order = append(order, idx)
		return nil
	}
	for pos, r := range b.Roots {
		if err := visit(r, func() string { return fmt.Sprintf("root #%d", pos) }); err != nil {
			return err
		}
	}
	for k := 0; k < len(order); k++ {
		parent := order[k]
		for pos, c := range b.Nodes[parent].Chunks {
			if err := visit(c, func() string { return fmt.Sprintf("chunk #%d of node %d", pos, parent) }); err != nil {
				return err
			}
		}
		for pos, m := range b.Nodes[parent].Matches {
			if err := visit(m, func() string { return fmt.Sprintf("match #%d of node %d", pos, parent) }); err != nil {
				return err
			}
		}
	}
	if len(order) != n {
		for i, s := range seen {
			if !s {
				return invalid("node %d (id %q) is not reachable from any root", i, b.Nodes[i].Id)
			}
		}
	}
	for i := range b.Nodes {
		d := &b.Nodes[i]
		for _, f := range []struct {
			name string
			t    witTypes.Option[wt.Tensor]
		}{{"tensor", d.Tensor}, {"embedding", d.Embedding}} {
			if f.t.IsSome() {
				t := f.t.Some()
				if err := (&Tensor{DType(t.Dtype), t.Shape, t.Data}).Check(); err != nil {
					return invalid("document %q: %s: %s", d.Id, f.name, err.(*Error).Message)
				}
			}
		}
	}
	return nil
}

// unflatten rebuilds the document tree from a batch validateBatch accepted.
func unflatten(b *wt.DocumentBatch) (DocumentArray, *Error) {
	docs := make([]*Document, len(b.Nodes))
	for i := range b.Nodes {
		d, err := docFromWit(&b.Nodes[i])
		if err != nil {
			return nil, err
		}
		docs[i] = d
	}
	for i := range b.Nodes {
		node := &b.Nodes[i]
		if len(node.Chunks) > 0 {
			docs[i].Chunks = make([]*Document, len(node.Chunks))
			for k, c := range node.Chunks {
				docs[i].Chunks[k] = docs[c]
			}
		}
		if len(node.Matches) > 0 {
			docs[i].Matches = make([]*Document, len(node.Matches))
			for k, m := range node.Matches {
				docs[i].Matches[k] = docs[m]
			}
		}
	}
	out := make(DocumentArray, len(b.Roots))
	for k, r := range b.Roots {
		out[k] = docs[r]
	}
	return out, nil
}

func fromOpt[T any](o witTypes.Option[T]) *T {
	if o.IsSome() {
		v := o.Some()
		return &v
	}
	return nil
}

func toOpt[T any](p *T) witTypes.Option[T] {
	if p == nil {
		return witTypes.None[T]()
	}
	return witTypes.Some(*p)
}

func tensorFromWit(o witTypes.Option[wt.Tensor]) *Tensor {
	if !o.IsSome() {
		return nil
	}
	t := o.Some()
	return &Tensor{DType: DType(t.Dtype), Shape: t.Shape, Data: t.Data}
}

func tensorToWit(t *Tensor) witTypes.Option[wt.Tensor] {
	if t == nil {
		return witTypes.None[wt.Tensor]()
	}
	return witTypes.Some(wt.Tensor{Dtype: wt.Dtype(t.DType), Shape: t.Shape, Data: t.Data})
}

func scoresFromWit(scores []wt.NamedScore) map[string]NamedScore {
	if len(scores) == 0 {
		return nil
	}
	m := make(map[string]NamedScore, len(scores))
	for _, s := range scores {
		m[s.Name] = NamedScore{Value: s.Value, OpName: fromOpt(s.OpName), Description: fromOpt(s.Description), RefID: fromOpt(s.RefId)}
	}
	return m
}

func scoresToWit(m map[string]NamedScore) []wt.NamedScore {
	if len(m) == 0 {
		return nil
	}
	out := make([]wt.NamedScore, 0, len(m))
	for _, name := range sortedKeys(m) {
		s := m[name]
		out = append(out, wt.NamedScore{Name: name, Value: s.Value, OpName: toOpt(s.OpName), Description: toOpt(s.Description), RefId: toOpt(s.RefID)})
	}
	return out
}

// docFromWit converts one node, leaving Chunks and Matches empty.
func docFromWit(n *wt.Document) (*Document, *Error) {
	d := &Document{
		ID:          n.Id,
		ParentID:    fromOpt(n.ParentId),
		Granularity: fromOpt(n.Granularity),
		Adjacency:   fromOpt(n.Adjacency),
		Text:        fromOpt(n.Text),
		Tensor:      tensorFromWit(n.Tensor),
		Embedding:   tensorFromWit(n.Embedding),
		URI:         fromOpt(n.Uri),
		MimeType:    fromOpt(n.MimeType),
		Weight:      fromOpt(n.Weight),
		Modality:    fromOpt(n.Modality),
		Offset:      fromOpt(n.Offset),
		Location:    n.Location,
		Scores:      scoresFromWit(n.Scores),
		Evaluations: scoresFromWit(n.Evaluations),
	}
	if n.Blob.IsSome() {
		d.Blob = n.Blob.Some()
		if d.Blob == nil {
			d.Blob = []byte{} // set but empty: keep it apart from unset
		}
	}
	if n.Tags.IsSome() {
		tags, err := decodeObject(n.Tags.Some(), "tags")
		if err != nil {
			return nil, invalid("document %q: %s", n.Id, err.(*Error).Message)
		}
		if len(tags) > 0 {
			d.Tags = tags
		}
	}
	return d, nil
}

// docToWit converts one document, leaving chunks and matches empty.
func docToWit(d *Document) (wt.Document, *Error) {
	for _, t := range []struct {
		name string
		t    *Tensor
	}{{"tensor", d.Tensor}, {"embedding", d.Embedding}} {
		if t.t != nil {
			if err := t.t.Check(); err != nil {
				return wt.Document{}, &Error{Name: "ValueError", Message: fmt.Sprintf("document %q: %s: %s", d.ID, t.name, err.(*Error).Message)}
			}
		}
	}
	tags := witTypes.None[string]()
	if len(d.Tags) > 0 {
		text, err := encodeJSON(d.Tags)
		if err != nil {
			return wt.Document{}, &Error{Name: "ValueError", Message: fmt.Sprintf("document %q: tags: %v", d.ID, err)}
		}
		tags = witTypes.Some(text)
	}
	blob := witTypes.None[[]uint8]()
	if d.Blob != nil {
		blob = witTypes.Some(d.Blob)
	}
	return wt.Document{
		Id:          d.ID,
		ParentId:    toOpt(d.ParentID),
		Granularity: toOpt(d.Granularity),
		Adjacency:   toOpt(d.Adjacency),
		Text:        toOpt(d.Text),
		Blob:        blob,
		Tensor:      tensorToWit(d.Tensor),
		Embedding:   tensorToWit(d.Embedding),
		Uri:         toOpt(d.URI),
		MimeType:    toOpt(d.MimeType),
		Tags:        tags,
		Weight:      toOpt(d.Weight),
		Modality:    toOpt(d.Modality),
		Offset:      toOpt(d.Offset),
		Location:    d.Location,
		Scores:      scoresToWit(d.Scores),
		Evaluations: scoresToWit(d.Evaluations),
	}, nil
}

// flatten turns the tree into a batch: roots first (nodes 0..len(docs)), then
// their descendants breadth-first. A document reached twice (the same pointer
// in two places) is an error, as is a nil document.
func flatten(docs DocumentArray) (wt.DocumentBatch, *Error) {
	type item struct {
		doc    *Document
		parent int // -1 for a root
		chunk  bool
	}
	queue := make([]item, 0, len(docs))
	for _, d := range docs {
		queue = append(queue, item{d, -1, false})
	}
	nodes := make([]wt.Document, 0, len(docs))
	roots := make([]uint32, 0, len(docs))
	seen := make(map[*Document]bool)
	for k := 0; k < len(queue); k++ {
		it := queue[k]
		if it.doc == nil {
			return wt.DocumentBatch{}, &Error{Name: "ValueError", Message: "a nil *Document cannot be sent"}
		}
		if seen[it.doc] {
			return wt.DocumentBatch{}, &Error{Name: "ValueError", Message: fmt.Sprintf(
				"document %q appears twice in the tree; copy it to use it twice", it.doc.ID)}
		}
		seen[it.doc] = true
		i := uint32(len(nodes))
		switch {
		case it.parent < 0:
			roots = append(roots, i)
		case it.chunk:
			nodes[it.parent].Chunks = append(nodes[it.parent].Chunks, i)
		default:
			nodes[it.parent].Matches = append(nodes[it.parent].Matches, i)
		}
		node, err := docToWit(it.doc)
		if err != nil {
			return wt.DocumentBatch{}, err
		}
		nodes = append(nodes, node)
		for _, c := range it.doc.Chunks {
			queue = append(queue, item{c, int(i), true})
		}
		for _, m := range it.doc.Matches {
			queue = append(queue, item{m, int(i), false})
		}
	}
	return wt.DocumentBatch{Nodes: nodes, Roots: roots}, nil
}
