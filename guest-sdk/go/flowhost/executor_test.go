package flowhost

import (
	"errors"
	"strings"
	"testing"

	we "example.invalid/flowhost/guest-sdk/go/internal/wit/imports/flowhost_executor_executor"
	wt "example.invalid/flowhost/guest-sdk/go/internal/wit/imports/flowhost_executor_types"
	witTypes "example.invalid/flowhost/guest-sdk/go/internal/wit/types"
)

type cfg struct {
	Greeting string `json:"greeting"`
}

// newInstance registers e and initialises a fresh instance with usesWith.
func newInstance(t *testing.T, e Executor, usesWith string) (*instance, error) {
	t.Helper()
	registered, inst = nil, instance{}
	Register(e)
	i := &inst
	return i, i.init(usesWith, Metas{Name: "test", Shards: 1, Replicas: 1})
}

func testExecutor(c *cfg) Executor {
	return Executor{
		New: func(ctx *InitContext) error {
			*c = cfg{Greeting: "hi"}
			return ctx.Decode(c)
		},
		Methods: []Method{
			{Name: "greet", On: []string{"/greet"}, Fn: func(req *Request) (Reply, error) {
				docs := req.Docs()
				return append(docs, TextDocument(c.Greeting+" "+req.Endpoint)), nil
			}},
			{Name: "noop", On: []string{"/noop"}, Fn: func(req *Request) (Reply, error) { return Unchanged, nil }},
			{Name: "nil", Fn: func(req *Request) (Reply, error) { return nil, nil }},
			{Name: "fail", Fn: func(req *Request) (Reply, error) {
				return nil, Errorf("ValueError", "bad %d: %w", 3, errors.ErrUnsupported)
			}},
			{Name: "plain", Fn: func(req *Request) (Reply, error) { return nil, errors.New("plain") }},
			{Name: "panic", Fn: func(req *Request) (Reply, error) {
				var m map[string]int
				m["x"] = 1
				return nil, nil
			}},
		},
		CatchAll: "greet",
	}
}

func batchOf(texts ...string) *wt.DocumentBatch {
	docs := DocumentArray{}
	for _, s := range texts {
		docs = append(docs, TextDocument(s))
	}
	b, _ := flatten(docs)
	return &b
}

func TestInitAndCall(t *testing.T) {
	var c cfg
	i, err := newInstance(t, testExecutor(&c), `{"greeting":"hello","other":1}`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Greeting != "hello" {
		t.Fatalf("config %+v", c)
	}
	out, err := i.call("greet", "/x", batchOf("a"), "")
	if err != nil || out.Tag() != we.Output_Docs {
		t.Fatal(err)
	}
	docs, _ := unflatten(&[]wt.DocumentBatch{out.Docs()}[0])
	if len(docs) != 2 || docs[1].GetText() != "hello /x" {
		t.Fatalf("%v", docs.Texts())
	}
	for _, m := range []string{"noop", "nil"} {
		if out, err := i.call(m, "/", batchOf("a"), "{}"); err != nil || out.Tag() != we.Output_Unchanged {
			t.Fatalf("%s: %v", m, err)
		}
	}
	if err := i.init("{}", Metas{}); err == nil || asError(err).Name != "AlreadyInitialized" {
		t.Fatalf("second init: %v", err)
	}
}

func TestDefaultsAndBadConfig(t *testing.T) {
	var c cfg
	if _, err := newInstance(t, testExecutor(&c), ""); err != nil || c.Greeting != "hi" {
		t.Fatalf("%v %+v", err, c)
	}
	_, err := newInstance(t, testExecutor(&c), `{"greeting":5}`)
	if e := asError(err); e.Name != "ValueError" || !strings.Contains(e.Message, "uses_with") {
		t.Fatalf("%v", err)
	}
	if _, err := newInstance(t, testExecutor(&c), `[1]`); asError(err).Name != "ValueError" {
		t.Fatalf("%v", err)
	}
	bad := testExecutor(&c)
	bad.CatchAll = "missing"
	if _, err := newInstance(t, bad, "{}"); asError(err).Name != "InvalidExecutor" {
		t.Fatalf("%v", err)
	}
}

func TestErrors(t *testing.T) {
	var c cfg
	i, _ := newInstance(t, testExecutor(&c), "{}")
	_, err := i.call("fail", "/", batchOf(), "{}")
	e := asError(err)
	if e.Name != "ValueError" || e.Message != "bad 3: unsupported operation" || !strings.Contains(e.Details, "executor_test.go") {
		t.Fatalf("%+v", e)
	}
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatal("%w is not unwrapped")
	}
	if e := asError(func() error { _, err := i.call("plain", "/", batchOf(), "{}"); return err }()); e.Name != "Error" || e.Message != "plain" {
		t.Fatalf("%+v", e)
	}
	_, err = i.call("panic", "/", batchOf(), "{}")
	if e := asError(err); e.Name != "Panic" || !strings.Contains(e.Message, "nil map") || !strings.Contains(e.Details, "goroutine") {
		t.Fatalf("%+v", e)
	}
	_, err = i.call("nope", "/", batchOf(), "{}")
	if asError(err).Name != "UnknownMethod" {
		t.Fatal(err)
	}
	_, err = i.call("greet", "/", batchOf(), "not json")
	if asError(err).Name != "ValueError" {
		t.Fatal(err)
	}
	w := toWitError(&Error{Name: "N", Message: "m"})
	if w.Details.IsSome() {
		t.Fatal("empty details must be none")
	}
}

func TestDescribe(t *testing.T) {
	var c cfg
	newInstance(t, testExecutor(&c), "{}")
	d := exports{}.Describe()
	if len(d.Methods) != 6 || d.Methods[0].Name != "greet" || d.Methods[0].Endpoints[0] != "/greet" || d.CatchAll.Some() != "greet" {
		t.Fatalf("%+v", d)
	}
	r := exports{}.Call("noop", "/noop", *batchOf("a"), "{}")
	if r.Tag() != witTypes.ResultOk {
		t.Fatal("call failed")
	}
}

func TestParams(t *testing.T) {
	req := NewRequest("m", "/e", nil, map[string]any{"limit": 3}, Metas{})
	var limit int
	if ok, err := req.Param("limit", &limit); !ok || err != nil || limit != 3 {
		t.Fatal(ok, err, limit)
	}
	var s string
	if _, err := req.Param("limit", &s); err == nil {
		t.Fatal("type mismatch accepted")
	}
	if ok, _ := req.Param("missing", &s); ok {
		t.Fatal("missing parameter found")
	}
}
