// Command conformance is the Go SDK's conformance executor: the behaviour
// tests/conformance/README.md specifies, written the way a user would.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"example.invalid/flowhost/guest-sdk/go/flowhost"
)

// Config is the uses_with: {"label": string}, default "conformance".
type Config struct {
	Label string `json:"label"`
}

// Conformance holds what init received.
type Conformance struct {
	config   Config
	usesWith map[string]any // as given, unknown keys included
	metas    flowhost.Metas
}

var exec Conformance

func (c *Conformance) New(ctx *flowhost.InitContext) error {
	c.config = Config{Label: "conformance"}
	if err := ctx.Decode(&c.config); err != nil {
		return err
	}
	if err := ctx.Decode(&c.usesWith); err != nil {
		return err
	}
	c.metas = ctx.Metas
	return nil
}

// Unchanged does nothing and does not read the documents.
func (c *Conformance) Unchanged(req *flowhost.Request) (flowhost.Reply, error) {
	return flowhost.Unchanged, nil
}

// Roundtrip decodes the documents and returns them as they are.
func (c *Conformance) Roundtrip(req *flowhost.Request) (flowhost.Reply, error) {
	return req.Docs(), nil
}

// Mutate edits every document of the tree and appends one.
func (c *Conformance) Mutate(req *flowhost.Request) (flowhost.Reply, error) {
	docs := req.Docs()
	err := docs.Walk(func(d *flowhost.Document) error {
		if d.Text != nil {
			*d.Text += "!"
		}
		d.SetTag("label", c.config.Label)
		if e := d.Embedding; e != nil && e.DType == flowhost.Float32 {
			values, err := e.Float32s()
			if err != nil {
				return err
			}
			for i := range values {
				values[i] *= 2
			}
			d.Embedding = flowhost.FromFloat32s(values, e.Shape...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(docs, flowhost.TextDocument("added by "+c.config.Label)), nil
}

// Params answers one document whose tags show the parameters, uses_with and metas.
func (c *Conformance) Params(req *flowhost.Request) (flowhost.Reply, error) {
	doc := flowhost.NewDocument()
	doc.SetTag("parameters", req.Parameters)
	doc.SetTag("uses_with", c.usesWith)
	doc.SetTag("metas", c.metas) // Metas marshals with Jina's key names
	return flowhost.DocumentArray{doc}, nil
}

// Fail raises a ValueError.
func (c *Conformance) Fail(req *flowhost.Request) (flowhost.Reply, error) {
	return nil, flowhost.Errorf("ValueError", "conformance failure: %d documents", len(req.Docs()))
}

// Log logs and prints without reading the documents.
func (c *Conformance) Log(req *flowhost.Request) (flowhost.Reply, error) {
	flowhost.Info("conformance log info")
	flowhost.Warn("conformance log warn")
	fmt.Println("conformance stdout")
	return flowhost.Unchanged, nil
}

// Workspace writes parameters["content"] to the workspace and reads it back.
func (c *Conformance) Workspace(req *flowhost.Request) (flowhost.Reply, error) {
	if c.metas.Workspace == nil {
		return nil, flowhost.Errorf("NoWorkspace", "executor %q was granted no workspace", c.metas.Name)
	}
	var content string
	if _, err := req.Param("content", &content); err != nil {
		return nil, err
	}
	path := filepath.Join(*c.metas.Workspace, "conformance.txt")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return nil, flowhost.Errorf("OSError", "writing %s: %w", path, err)
	}
	read, err := os.ReadFile(path)
	if err != nil {
		return nil, flowhost.Errorf("OSError", "reading %s: %w", path, err)
	}
	return flowhost.DocumentArray{flowhost.TextDocument(string(read))}, nil
}

// Other is the catch-all: tags every top-level document with the endpoint.
func (c *Conformance) Other(req *flowhost.Request) (flowhost.Reply, error) {
	docs := req.Docs()
	for _, d := range docs {
		d.SetTag("endpoint", req.Endpoint)
	}
	return docs, nil
}

func init() {
	flowhost.Register(flowhost.Executor{
		New: exec.New,
		Methods: []flowhost.Method{
			{Name: "unchanged", On: []string{"/unchanged"}, Fn: exec.Unchanged},
			{Name: "roundtrip", On: []string{"/roundtrip"}, Fn: exec.Roundtrip},
			{Name: "mutate", On: []string{"/mutate"}, Fn: exec.Mutate},
			{Name: "params", On: []string{"/params"}, Fn: exec.Params},
			{Name: "fail", On: []string{"/fail"}, Fn: exec.Fail},
			{Name: "log", On: []string{"/log"}, Fn: exec.Log},
			{Name: "workspace", On: []string{"/workspace"}, Fn: exec.Workspace},
			{Name: "other", Fn: exec.Other},
		},
		CatchAll: "other",
	})
}

// main is never run: the host calls the registered executor.
func main() {}
