// Package flowhost writes flowhost executors in Go.
//
// An executor is one step of a flow: a WebAssembly component that receives
// batches of documents on endpoints (/index, /search, ...) and answers them,
// possibly changed. This package hides the component plumbing (the WIT world
// executor-world, whose bindings it embeds): you register an [Executor] with
// a constructor taking uses_with and metas, and methods over a tree of
// [Document]s.
//
// # A complete executor
//
// go.mod:
//
//	module my-executor
//
//	go 1.25
//
//	require example.invalid/flowhost/guest-sdk/go v0.0.0
//
// main.go:
//
//	package main
//
//	import "example.invalid/flowhost/guest-sdk/go/flowhost"
//
//	// Config is the uses_with; fields hold the defaults before decoding.
//	type Config struct {
//		Prefix string `json:"prefix"`
//		Dim    int    `json:"dim"`
//	}
//
//	type MyExecutor struct {
//		config  Config
//		indexed flowhost.DocumentArray
//	}
//
//	var exec MyExecutor
//
//	func (e *MyExecutor) New(ctx *flowhost.InitContext) error {
//		e.config = Config{Prefix: "seen by", Dim: 4}
//		if err := ctx.Decode(&e.config); err != nil {
//			return err
//		}
//		if e.config.Dim <= 0 {
//			return flowhost.Errorf("ValueError", "dim must be positive, got %d", e.config.Dim)
//		}
//		flowhost.Infof("%s starting as shard %d/%d", ctx.Metas.Name, ctx.Metas.ShardID, ctx.Metas.Shards)
//		return nil
//	}
//
//	// Encode sets an embedding on every document and sends them back.
//	func (e *MyExecutor) Encode(req *flowhost.Request) (flowhost.Reply, error) {
//		docs := req.Docs()
//		for _, doc := range docs {
//			values := make([]float32, e.config.Dim)
//			for i := range values {
//				values[i] = float32(len(doc.GetText()))
//			}
//			doc.Embedding = flowhost.FromFloat32s(values)
//			doc.SetTag("encoded_by", req.Metas.Name)
//		}
//		return docs, nil
//	}
//
//	// Index keeps the documents; the host keeps its own copy (Unchanged).
//	func (e *MyExecutor) Index(req *flowhost.Request) (flowhost.Reply, error) {
//		for _, doc := range req.Docs() {
//			if doc.Embedding == nil {
//				return nil, flowhost.Errorf("ValueError", "document %s has no embedding", doc.ID)
//			}
//		}
//		e.indexed = append(e.indexed, req.Docs()...)
//		return flowhost.Unchanged, nil
//	}
//
//	// Default is the catch-all.
//	func (e *MyExecutor) Default(req *flowhost.Request) (flowhost.Reply, error) {
//		docs := req.Docs()
//		return append(docs, flowhost.TextDocument(e.config.Prefix+" "+req.Endpoint)), nil
//	}
//
//	func init() {
//		flowhost.Register(flowhost.Executor{
//			New: exec.New,
//			Methods: []flowhost.Method{
//				{Name: "encode", On: []string{"/encode", "/index-encode"}, Fn: exec.Encode},
//				{Name: "index", On: []string{"/index"}, Fn: exec.Index},
//				{Name: "default", Fn: exec.Default},
//			},
//			CatchAll: "default",
//		})
//	}
//
//	func main() {} // never run
//
// Build it with `flowhost build .`, or `bash guest-sdk/go/build.sh . out.wasm`.
//
// # The pieces
//
//   - [Register] takes the [Executor]; call it from an init function (the host
//     calls the component right after package initialisation; main never runs).
//   - [Executor.New] gets an [InitContext]: the uses_with JSON
//     ([InitContext.Decode] into a config struct, unknown keys ignored) and
//     [Metas] (name, workspace, shard and replica ids).
//   - Each [Method] has a Name, the endpoints it answers by default (On), and
//     an Fn taking a [*Request]: [Request.Docs] (converted on first use),
//     Parameters, Endpoint, Metas. It answers a [DocumentArray] (the documents
//     after the call) or [Unchanged], or an error. CatchAll names the method
//     taking every other endpoint.
//   - [Document] has every docarray v1 field; optional ones are pointers
//     ([Ptr] makes one), Chunks and Matches nest to any depth. Tags are a
//     map[string]any of decoded JSON with numbers as json.Number, so integers
//     stay integers.
//   - [Tensor]: DType, Shape and little-endian Data; [FromFloat32s] and
//     [Tensor.Float32s] and their twins for every dtype, generic [TensorOf] and
//     [Values], [Tensor.AsFloat32s] for any dtype, [Half] for float16.
//   - Errors: [Errorf] and [NewError] make an [*Error] with a name (like a
//     Python exception type), a message and the stack as details. A panic in a
//     method becomes an error named "Panic" with the stack as details.
//   - Logging: [Info], [Warnf], ... and [Log] go to the host's log under the
//     executor's name; so does anything printed to stdout or stderr.
//   - Files: a flow may grant a workspace directory, at [Metas.Workspace]; use
//     the os package there. Nothing else of the file system is visible.
//
// Natively (go test) everything but the host calls works: build a [Request]
// with [NewRequest] and call your methods directly; logging goes to stderr.
package flowhost
