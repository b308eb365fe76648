package flowhost

import (
	"encoding/json"
	"fmt"
	"runtime/debug"

	we "example.invalid/flowhost/guest-sdk/go/internal/wit/imports/flowhost_executor_executor"
	wt "example.invalid/flowhost/guest-sdk/go/internal/wit/imports/flowhost_executor_types"
	witTypes "example.invalid/flowhost/guest-sdk/go/internal/wit/types"
)

// Executor describes an executor: how to set it up and its methods. Pass it
// to [Register] from an init function of package main.
type Executor struct {
	// New is called once per instance, before any method, with the
	// constructor arguments (Jina's uses_with) and metas. Optional. An error
	// fails the instance's start.
	New func(ctx *InitContext) error
	// Methods, with the endpoints each answers by default (Jina's
	// @requests(on=...)). A flow's uses_requests can rebind them.
	Methods []Method
	// The name of the method (one of Methods) that takes every endpoint not
	// bound elsewhere (Jina's @requests without on); "" for none.
	CatchAll string
}

// Method is one method of an executor.
type Method struct {
	// The method's name, as the host calls it.
	Name string
	// The endpoints (e.g. "/index") it answers by default; none for a method
	// that is only the catch-all or that only a flow's uses_requests binds.
	On []string
	// The method itself.
	Fn func(req *Request) (Reply, error)
}

// Reply is what a method answers: [Unchanged], or a [DocumentArray] holding
// the documents after the call (which replace those sent). A nil Reply with a
// nil error counts as Unchanged.
type Reply interface{ isReply() }

type unchanged struct{}

func (unchanged) isReply() {}

// Unchanged is the Reply of a method that did not change the documents: the
// host keeps its own copy and nothing is sent back.
var Unchanged Reply = unchanged{}

// Metas is Jina's metas: who this instance is. Its JSON form uses Jina's key
// names (name, description, workspace, replica_id, shard_id, shards, replicas).
type Metas struct {
	Name        string  `json:"name"`
	Description *string `json:"description"`
	// The guest path of the executor's workspace directory (a directory the
	// executor may read and write, e.g. "/workspace"), or nil if the flow
	// granted none.
	Workspace *string `json:"workspace"`
	ReplicaID uint32  `json:"replica_id"`
	ShardID   uint32  `json:"shard_id"`
	Shards    uint32  `json:"shards"`
	Replicas  uint32  `json:"replicas"`
}

// InitContext is what [Executor.New] receives.
type InitContext struct {
	// The constructor arguments as JSON text (an object; "{}" if none).
	UsesWith json.RawMessage
	// The instance's metas.
	Metas Metas
}

// Decode decodes the uses_with object into v, typically a pointer to a config
// struct whose fields hold the defaults beforehand (missing keys keep them,
// unknown keys are ignored), as json.Unmarshal does, except that numbers
// decoded into an `any` become json.Number. A mismatch is a ValueError.
func (c *InitContext) Decode(v any) error {
	if err := decodeJSON(string(c.UsesWith), v); err != nil {
		return &Error{Name: "ValueError", Message: fmt.Sprintf("uses_with of executor %q: %v", c.Metas.Name, err)}
	}
	return nil
}

// Request is one call of a method.
type Request struct {
	// The method called and the endpoint the request came in on.
	Method, Endpoint string
	// The request's parameters: a JSON object, numbers as json.Number.
	Parameters map[string]any
	// The instance's metas.
	Metas Metas

	batch *wt.DocumentBatch
	docs  DocumentArray
	read  bool
}

// NewRequest builds a request for calling a method directly, e.g. in a test.
func NewRequest(method, endpoint string, docs DocumentArray, parameters map[string]any, metas Metas) *Request {
	if parameters == nil {
		parameters = map[string]any{}
	}
	return &Request{Method: method, Endpoint: endpoint, Parameters: parameters, Metas: metas, docs: docs, read: true}
}

// Docs returns the request's documents as a tree, converting them on the first
// call (a method that never calls Docs does not pay for the conversion). The
// array and its documents are the method's to change and return.
//
// If a document's tags are not a JSON object, Docs panics with an
// InvalidDocumentBatch *Error, which the call reports as that error.
func (r *Request) Docs() DocumentArray {
	if !r.read {
		docs, err := unflatten(r.batch)
		if err != nil {
			panic(err)
		}
		r.docs, r.batch, r.read = docs, nil, true
	}
	return r.docs
}

// Param decodes one parameter into v (a pointer, as for json.Unmarshal) and
// reports whether it was present; a ValueError if it does not fit.
func (r *Request) Param(key string, v any) (bool, error) {
	raw, ok := r.Parameters[key]
	if !ok {
		return false, nil
	}
	if err := redecode(raw, v); err != nil {
		return true, &Error{Name: "ValueError", Message: fmt.Sprintf("parameter %q: %v", key, err)}
	}
	return true, nil
}

var registered *Executor

// Register makes e the executor of this component. Call it once, from an init
// function of package main: the host calls into the component right after
// package initialisation, and main is never run.
func Register(e Executor) {
	if registered != nil {
		panic("flowhost.Register called twice")
	}
	registered = &e
}

// instance is the live executor: the state behind the WIT exports.
type instance struct {
	exec  *Executor
	metas Metas
	ready bool
}

var inst instance

func (e *Executor) check() *Error {
	names := map[string]bool{}
	for _, m := range e.Methods {
		if m.Name == "" || m.Fn == nil {
			return &Error{Name: "InvalidExecutor", Message: fmt.Sprintf("method %q needs a Name and an Fn", m.Name)}
		}
		if names[m.Name] {
			return &Error{Name: "InvalidExecutor", Message: fmt.Sprintf("method %q is registered twice", m.Name)}
		}
		names[m.Name] = true
	}
	if e.CatchAll != "" && !names[e.CatchAll] {
		return &Error{Name: "InvalidExecutor", Message: fmt.Sprintf("the catch-all %q is not one of the methods", e.CatchAll)}
	}
	return nil
}

// guard runs fn, turning a panic into an error with the stack as details.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			stack := string(debug.Stack())
			switch v := r.(type) {
			case *Error:
				e := *v
				if e.Details == "" {
					e.Details = stack
				}
				err = &e
			default:
				err = &Error{Name: "Panic", Message: fmt.Sprint(r), Details: stack}
			}
		}
	}()
	return fn()
}

func toWitError(err error) wt.ExecutorError {
	e := asError(err)
	details := witTypes.None[string]()
	if e.Details != "" {
		details = witTypes.Some(e.Details)
	}
	return wt.ExecutorError{Name: e.Name, Message: e.Message, Details: details}
}

// exports implements the WIT exports (installed by the wasm-only glue).
type exports struct{}

func (exports) Init(usesWith string, m we.Metas) witTypes.Result[witTypes.Unit, wt.ExecutorError] {
	metas := Metas{Name: m.Name, Description: fromOpt(m.Description), Workspace: fromOpt(m.Workspace),
		ReplicaID: m.ReplicaId, ShardID: m.ShardId, Shards: m.Shards, Replicas: m.Replicas}
	if err := inst.init(usesWith, metas); err != nil {
		return witTypes.Err[witTypes.Unit](toWitError(err))
	}
	return witTypes.Ok[witTypes.Unit, wt.ExecutorError](witTypes.Unit{})
}

func (i *instance) init(usesWith string, metas Metas) error {
	if i.ready {
		return &Error{Name: "AlreadyInitialized", Message: "init was called twice"}
	}
	if registered == nil {
		return &Error{Name: "NotRegistered", Message: "no executor registered: call flowhost.Register from an init function of package main"}
	}
	if err := registered.check(); err != nil {
		return err
	}
	if _, err := decodeObject(usesWith, "uses_with"); err != nil {
		return err
	}
	if len(usesWith) == 0 {
		usesWith = "{}"
	}
	i.exec, i.metas = registered, metas
	if i.exec.New != nil {
		ctx := &InitContext{UsesWith: json.RawMessage(usesWith), Metas: metas}
		if err := guard(func() error { return i.exec.New(ctx) }); err != nil {
			return err
		}
	}
	i.ready = true
	return nil
}

func (exports) Describe() we.Description {
	d := we.Description{CatchAll: witTypes.None[string]()}
	if registered == nil {
		return d
	}
	for _, m := range registered.Methods {
		d.Methods = append(d.Methods, we.MethodInfo{Name: m.Name, Endpoints: m.On})
	}
	if registered.CatchAll != "" {
		d.CatchAll = witTypes.Some(registered.CatchAll)
	}
	return d
}

func (exports) Call(method, endpoint string, docs wt.DocumentBatch, parameters string) witTypes.Result[we.Output, wt.ExecutorError] {
	out, err := inst.call(method, endpoint, &docs, parameters)
	if err != nil {
		return witTypes.Err[we.Output](toWitError(err))
	}
	return witTypes.Ok[we.Output, wt.ExecutorError](out)
}

func (i *instance) call(method, endpoint string, batch *wt.DocumentBatch, parameters string) (we.Output, error) {
	if !i.ready {
		return we.Output{}, &Error{Name: "NotInitialized", Message: "call before init"}
	}
	var fn func(*Request) (Reply, error)
	for _, m := range i.exec.Methods {
		if m.Name == method {
			fn = m.Fn
			break
		}
	}
	if fn == nil {
		return we.Output{}, &Error{Name: "UnknownMethod", Message: fmt.Sprintf("executor %q has no method %q", i.metas.Name, method)}
	}
	params, err := decodeObject(parameters, "parameters")
	if err != nil {
		return we.Output{}, err
	}
	if err := validateBatch(batch); err != nil {
		return we.Output{}, err
	}
	req := &Request{Method: method, Endpoint: endpoint, Parameters: params, Metas: i.metas, batch: batch}
	var reply Reply
	if err := guard(func() (err error) { reply, err = fn(req); return }); err != nil {
		return we.Output{}, err
	}
	switch r := reply.(type) {
	case nil, unchanged:
		return we.MakeOutputUnchanged(), nil
	case DocumentArray:
		b, err := flatten(r)
		if err != nil {
			return we.Output{}, err
		}
		return we.MakeOutputDocs(b), nil
	default:
		return we.Output{}, &Error{Name: "TypeError", Message: fmt.Sprintf("method %q returned a Reply of unknown type %T", method, reply)}
	}
}
