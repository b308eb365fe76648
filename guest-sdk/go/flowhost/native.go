//go:build !wasip1

package flowhost

// Natively (go test, go vet) there is no host: log lines go to stderr.

import (
	"fmt"
	"os"
)

func logSink(level Level, message string) {
	fmt.Fprintf(os.Stderr, "%s %s\n", level, message)
}
