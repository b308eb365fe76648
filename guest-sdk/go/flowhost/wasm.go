//go:build wasip1

package flowhost

// The WebAssembly side: links in the generated exports, routes them to the
// registered executor and sends log lines to the host.

import (
	export "example.invalid/flowhost/guest-sdk/go/internal/wit/exports/export_flowhost_executor_executor"
	_ "example.invalid/flowhost/guest-sdk/go/internal/wit/exports/wit_exports"
	"example.invalid/flowhost/guest-sdk/go/internal/wit/imports/flowhost_executor_logging"
)

func init() {
	export.Set(exports{})
}

func logSink(level Level, message string) {
	flowhost_executor_logging.Log(flowhost_executor_logging.Level(level), message)
}
