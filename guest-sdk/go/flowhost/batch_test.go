package flowhost

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	wt "example.invalid/flowhost/guest-sdk/go/internal/wit/imports/flowhost_executor_types"
	witTypes "example.invalid/flowhost/guest-sdk/go/internal/wit/types"
)

func fullDoc(id string, k int) *Document {
	d := &Document{
		ID:          id,
		ParentID:    Ptr("p" + id),
		Granularity: Ptr(int32(k)),
		Adjacency:   Ptr(int32(-k)),
		Text:        Ptr("text of " + id),
		Blob:        []byte{1, 2, byte(k)},
		Tensor:      FromFloat32s([]float32{1, 2, 3, 4}, 2, 2),
		Embedding:   TensorOf([]int64{int64(k)}, []uint32{}...),
		URI:         Ptr("file://" + id),
		MimeType:    Ptr("text/plain"),
		Weight:      Ptr(0.5),
		Modality:    Ptr("text"),
		Offset:      Ptr(3.0),
		Location:    []float64{1, 2},
		Scores:      map[string]NamedScore{"cosine": {Value: 0.9, OpName: Ptr("cosine")}, "b": {Value: -1}},
		Evaluations: map[string]NamedScore{"precision": {Value: 1, Description: Ptr("d"), RefID: Ptr("r")}},
	}
	d.SetTag("id", id)
	d.SetTag("n", json.Number("12345678901234567"))
	d.SetTag("nested", map[string]any{"list": []any{json.Number("1"), "x", nil, true, json.Number("2.5")}})
	return d
}

// depth3 is a tree three levels below the roots, with chunks and matches at every level.
func depth3() DocumentArray {
	k := 0
	var build func(id string, depth int) *Document
	build = func(id string, depth int) *Document {
		k++
		d := fullDoc(id, k)
		if depth > 0 {
			d.Chunks = []*Document{build(id+".c0", depth-1), build(id+".c1", depth-1)}
			d.Matches = []*Document{build(id+".m0", depth-1)}
		}
		return d
	}
	return DocumentArray{build("r0", 3), {ID: "r1"}, build("r2", 1)}
}

func count(docs DocumentArray) int {
	n := 0
	docs.Walk(func(*Document) error { n++; return nil })
	return n
}

func roundtrip(t *testing.T, docs DocumentArray) DocumentArray {
	t.Helper()
	b, err := flatten(docs)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateBatch(&b); err != nil {
		t.Fatal(err)
	}
	back, err := unflatten(&b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestRoundtripDepth3(t *testing.T) {
	original := depth3()
	b, err := flatten(original)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Roots, []uint32{0, 1, 2}) {
		t.Fatalf("roots %v", b.Roots)
	}
	if len(b.Nodes) != count(original) {
		t.Fatalf("%d nodes for %d documents", len(b.Nodes), count(original))
	}
	back := roundtrip(t, original)
	if !reflect.DeepEqual(back, original) {
		t.Fatalf("roundtrip changed the documents")
	}
	if got := back[0].Matches[0].Matches[0].Chunks[1].ID; got != "r0.m0.m0.c1" {
		t.Fatalf("deepest node %q", got)
	}
}

func TestRoundtripEdgeValues(t *testing.T) {
	docs := DocumentArray{
		{ID: "empty-not-unset", Text: Ptr(""), Blob: []byte{}, Granularity: Ptr(int32(0)), Weight: Ptr(0.0)},
		{ID: "unset"},
	}
	back := roundtrip(t, docs)
	if !reflect.DeepEqual(back, docs) {
		t.Fatalf("got %+v", back[0])
	}
	if back[0].Blob == nil || back[1].Blob != nil {
		t.Fatal("empty and unset blobs must stay apart")
	}
	b, _ := flatten(DocumentArray{})
	if len(b.Nodes) != 0 || len(b.Roots) != 0 {
		t.Fatal("empty array")
	}
}

func TestTagsKeepIntegers(t *testing.T) {
	text := `{"int":42,"big":12345678901234567,"float":1.5,"exp":1e-7,"s":"<&>","l":[1,{"x":null}]}`
	b := wt.DocumentBatch{Nodes: []wt.Document{witDoc("a", witTypes.Some(text))}, Roots: []uint32{0}}
	docs, err := unflatten(&b)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := docs[0].Tag("int"); v != json.Number("42") {
		t.Fatalf("int tag is %#v", v)
	}
	out, err := flatten(docs)
	if err != nil {
		t.Fatal(err)
	}
	got := out.Nodes[0].Tags.Some()
	for _, want := range []string{`"int":42`, `"big":12345678901234567`, `"exp":1e-7`, `"s":"<&>"`} {
		if !strings.Contains(got, want) {
			t.Errorf("%s does not contain %s", got, want)
		}
	}
	var n int
	if ok, err := docs[0].DecodeTag("int", &n); !ok || err != nil || n != 42 {
		t.Fatalf("DecodeTag: %v %v %d", ok, err, n)
	}
}

func witDoc(id string, tags witTypes.Option[string]) wt.Document {
	d, _ := docToWit(&Document{ID: id})
	d.Tags = tags
	return d
}

func node(id string, chunks, matches []uint32) wt.Document {
	d := witDoc(id, witTypes.None[string]())
	d.Chunks, d.Matches = chunks, matches
	return d
}

func TestAcceptsAnyNodeOrder(t *testing.T) {
	b := wt.DocumentBatch{
		Nodes: []wt.Document{node("grandchild", nil, nil), node("child", []uint32{0}, nil), node("root", nil, []uint32{1})},
		Roots: []uint32{2},
	}
	if err := validateBatch(&b); err != nil {
		t.Fatal(err)
	}
	docs, _ := unflatten(&b)
	if len(docs) != 1 || docs[0].Matches[0].Chunks[0].ID != "grandchild" {
		t.Fatalf("%+v", docs)
	}
}

func TestDeepChain(t *testing.T) {
	const depth = 20000
	nodes := make([]wt.Document, depth)
	for i := range nodes {
		var next []uint32
		if i+1 < depth {
			next = []uint32{uint32(i + 1)}
		}
		nodes[i] = node(fmt.Sprint(i), next, nil)
	}
	b := wt.DocumentBatch{Nodes: nodes, Roots: []uint32{0}}
	if err := validateBatch(&b); err != nil {
		t.Fatal(err)
	}
	docs, _ := unflatten(&b)
	out, err := flatten(docs)
	if err != nil || len(out.Nodes) != depth {
		t.Fatalf("%v %d", err, len(out.Nodes))
	}
}

func TestRejectsMalformedBatches(t *testing.T) {
	badTensor := node("t", nil, nil)
	badTensor.Tensor = witTypes.Some(wt.Tensor{Dtype: wt.Dtype(Float32), Shape: []uint32{2}, Data: []byte{1, 2, 3}})
	cases := []struct {
		name  string
		batch wt.DocumentBatch
		want  string
	}{
		{"root out of range", wt.DocumentBatch{Nodes: []wt.Document{node("a", nil, nil)}, Roots: []uint32{1}}, "out of range"},
		{"chunk out of range", wt.DocumentBatch{Nodes: []wt.Document{node("a", []uint32{5}, nil)}, Roots: []uint32{0}}, "chunk #0 of node 0"},
		{"root twice", wt.DocumentBatch{Nodes: []wt.Document{node("a", nil, nil)}, Roots: []uint32{0, 0}}, "reached twice"},
		{"cycle", wt.DocumentBatch{Nodes: []wt.Document{node("a", []uint32{1}, nil), node("b", nil, []uint32{0})}, Roots: []uint32{0}}, "reached twice"},
		{"shared child", wt.DocumentBatch{Nodes: []wt.Document{node("a", []uint32{2}, nil), node("b", []uint32{2}, nil), node("c", nil, nil)}, Roots: []uint32{0, 1}}, "reached twice"},
		{"orphan", wt.DocumentBatch{Nodes: []wt.Document{node("a", nil, nil), node("lost", nil, nil)}, Roots: []uint32{0}}, "not reachable"},
		{"bad tensor", wt.DocumentBatch{Nodes: []wt.Document{badTensor}, Roots: []uint32{0}}, "needs 8 bytes, got 3"},
	}
	for _, c := range cases {
		err := validateBatch(&c.batch)
		if err == nil || err.Name != InvalidBatch || !strings.Contains(err.Message, c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	b := wt.DocumentBatch{Nodes: []wt.Document{witDoc("a", witTypes.Some("[1]"))}, Roots: []uint32{0}}
	if _, err := unflatten(&b); err == nil || err.Name != InvalidBatch {
		t.Errorf("tags that are not an object: %v", err)
	}
}

func TestFlattenRejectsCyclesAndBadTensors(t *testing.T) {
	a := &Document{ID: "a"}
	a.Chunks = []*Document{a}
	if _, err := flatten(DocumentArray{a}); err == nil {
		t.Error("cycle accepted")
	}
	if _, err := flatten(DocumentArray{nil}); err == nil {
		t.Error("nil document accepted")
	}
	bad := &Document{ID: "b", Embedding: &Tensor{DType: Float64, Shape: []uint32{2}, Data: make([]byte, 8)}}
	if _, err := flatten(DocumentArray{bad}); err == nil || !strings.Contains(err.Message, "needs 16 bytes") {
		t.Errorf("bad tensor: %v", err)
	}
}

func TestAddChunkAndMatch(t *testing.T) {
	p := &Document{ID: "p", Granularity: Ptr(int32(1))}
	c, m := NewDocument(), NewDocument()
	p.AddChunk(c)
	p.AddMatch(m)
	if *c.ParentID != "p" || *c.Granularity != 2 || *m.Adjacency != 1 {
		t.Fatalf("%+v %+v", c, m)
	}
	if len(c.ID) != 32 || c.ID == m.ID {
		t.Fatalf("ids %q %q", c.ID, m.ID)
	}
}
