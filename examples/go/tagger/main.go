// Command tagger merges tags into every top-level document: first the tags
// given in uses_with ({"tags": {...}}), then the request's parameters["tags"]
// (if it is an object) over them, overwriting keys they share (Python's
// dict.update), and returns the documents.
package main

import "example.invalid/flowhost/guest-sdk/go/flowhost"

// Config is the uses_with.
type Config struct {
	// The tags to merge in; none by default.
	Tags map[string]any `json:"tags"`
}

var config Config

func tag(req *flowhost.Request) (flowhost.Reply, error) {
	perRequest, _ := req.Parameters["tags"].(map[string]any)
	docs := req.Docs()
	for _, doc := range docs {
		for key, value := range config.Tags {
			doc.SetTag(key, value)
		}
		for key, value := range perRequest {
			doc.SetTag(key, value)
		}
	}
	return docs, nil
}

func init() {
	flowhost.Register(flowhost.Executor{
		New:      func(ctx *flowhost.InitContext) error { return ctx.Decode(&config) },
		Methods:  []flowhost.Method{{Name: "tag", Fn: tag}},
		CatchAll: "tag",
	})
}

// main is never run: the host calls the registered executor.
func main() {}
