// Command baz is the Go twin of BazExecutor: its catch-all method appends one
// document saying "baz was here and got {n} document", where n is how many
// documents it received.
package main

import (
	"fmt"

	"example.invalid/flowhost/guest-sdk/go/flowhost"
)

func baz(req *flowhost.Request) (flowhost.Reply, error) {
	docs := req.Docs()
	docs = append(docs, flowhost.TextDocument(fmt.Sprintf("baz was here and got %d document", len(docs))))
	return docs, nil
}

func init() {
	flowhost.Register(flowhost.Executor{
		Methods:  []flowhost.Method{{Name: "baz", Fn: baz}},
		CatchAll: "baz",
	})
}

// main is never run: the host calls the registered executor.
func main() {}
