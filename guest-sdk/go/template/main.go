// Command {{name}} is a flowhost executor: {{Class}}. Its catch-all method
// appends one document saying "<greeting> from {{name}}" to the documents it
// receives.
package main

import "example.invalid/flowhost/guest-sdk/go/flowhost"

// Config is the constructor arguments (the flow's uses_with).
type Config struct {
	// What the added document says; "hello" by default.
	Greeting string `json:"greeting"`
}

// {{Class}} holds the executor's state.
type {{Class}} struct {
	config Config
	name   string
}

var executor {{Class}}

// New is called once, before any request.
func (e *{{Class}}) New(ctx *flowhost.InitContext) error {
	e.config = Config{Greeting: "hello"} // defaults; uses_with overrides them
	if err := ctx.Decode(&e.config); err != nil {
		return err
	}
	e.name = ctx.Metas.Name
	flowhost.Infof("%s starting with greeting %q", e.name, e.config.Greeting)
	return nil
}

// Greet is the catch-all: it answers every endpoint.
func (e *{{Class}}) Greet(req *flowhost.Request) (flowhost.Reply, error) {
	docs := req.Docs()
	docs = append(docs, flowhost.TextDocument(e.config.Greeting+" from {{name}}"))
	return docs, nil
}

func init() {
	flowhost.Register(flowhost.Executor{
		New: executor.New,
		Methods: []flowhost.Method{
			// Bind a method to endpoints with On: []string{"/index"}.
			{Name: "greet", Fn: executor.Greet},
		},
		CatchAll: "greet",
	})
}

// main is never run: the host calls the registered executor.
func main() {}
