// Command bar is the Go twin of BarExecutor: its catch-all method appends one
// document saying "bar was here and got {n} document", where n is how many
// documents it received.
package main

import (
	"fmt"

	"example.invalid/flowhost/guest-sdk/go/flowhost"
)

func bar(req *flowhost.Request) (flowhost.Reply, error) {
	docs := req.Docs()
	docs = append(docs, flowhost.TextDocument(fmt.Sprintf("bar was here and got %d document", len(docs))))
	return docs, nil
}

func init() {
	flowhost.Register(flowhost.Executor{
		Methods:  []flowhost.Method{{Name: "bar", Fn: bar}},
		CatchAll: "bar",
	})
}

// main is never run: the host calls the registered executor.
func main() {}
