// Package export_flowhost_executor_executor is where wit-bindgen's generated
// wasm exports (package wit_exports) call in. It is hand-written, not generated:
// it forwards each export to the implementation that package flowhost installs
// with [Set], so that the generated code does not import flowhost (which would
// be an import cycle: flowhost imports wit_exports to link the exports in).
package export_flowhost_executor_executor

import (
	"example.invalid/flowhost/guest-sdk/go/internal/wit/imports/flowhost_executor_executor"
	"example.invalid/flowhost/guest-sdk/go/internal/wit/imports/flowhost_executor_types"
	witTypes "example.invalid/flowhost/guest-sdk/go/internal/wit/types"
)

// Impl is what the exports forward to.
type Impl interface {
	Init(usesWith string, metas flowhost_executor_executor.Metas) witTypes.Result[witTypes.Unit, flowhost_executor_types.ExecutorError]
	Describe() flowhost_executor_executor.Description
	Call(method, endpoint string, docs flowhost_executor_types.DocumentBatch, parameters string) witTypes.Result[flowhost_executor_executor.Output, flowhost_executor_types.ExecutorError]
}

var impl Impl

// Set installs the implementation.
func Set(i Impl) { impl = i }

func notRegistered() flowhost_executor_types.ExecutorError {
	return flowhost_executor_types.ExecutorError{
		Name:    "NotRegistered",
		Message: "no executor registered: call flowhost.Register from an init function of package main",
		Details: witTypes.None[string](),
	}
}

// Init is the WIT export `init`.
func Init(usesWith string, metas flowhost_executor_executor.Metas) witTypes.Result[witTypes.Unit, flowhost_executor_types.ExecutorError] {
	if impl == nil {
		return witTypes.Err[witTypes.Unit](notRegistered())
	}
	defer collectIfDue()
	return impl.Init(usesWith, metas)
}

// Describe is the WIT export `describe`.
func Describe() flowhost_executor_executor.Description {
	if impl == nil {
		return flowhost_executor_executor.Description{CatchAll: witTypes.None[string]()}
	}
	return impl.Describe()
}

// Call is the WIT export `call`.
func Call(method string, endpoint string, docs flowhost_executor_types.DocumentBatch, parameters string) witTypes.Result[flowhost_executor_executor.Output, flowhost_executor_types.ExecutorError] {
	if impl == nil {
		return witTypes.Err[flowhost_executor_executor.Output](notRegistered())
	}
	defer collectIfDue()
	return impl.Call(method, endpoint, docs, parameters)
}
