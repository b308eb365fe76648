package export_flowhost_executor_executor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Go's collector reads the wall clock when a cycle ends, and a cycle may start in any
// allocation, including those `cabi_realloc` makes while the host lowers a call's
// arguments, when the component model forbids calling any import: the instance would trap
// ("cannot leave component instance", seen within a few thousand calls). The runtime's
// monotonic-clock pause in `cabi_realloc` does not cover the wall clock. So automatic
// collection is off, and the exports collect between calls, where imports are allowed, on
// GOGC=100's rule: once the heap has grown by as much as was live after the last
// collection (and by at least minGrowth).
func init() { debug.SetGCPercent(-1) }

const minGrowth = 4 << 20

var (
	heapSamples = []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	allocatedAtLastCollection uint64
)

// collectIfDue runs a collection when the heap has grown enough since the last one.
func collectIfDue() {
	metrics.Read(heapSamples)
	allocated := heapSamples[0].Value.Uint64()
	growth := heapSamples[1].Value.Uint64()
	if growth < minGrowth {
		growth = minGrowth
	}
	if allocated-allocatedAtLastCollection < growth {
		return
	}
	runtime.GC()
	metrics.Read(heapSamples[:1])
	allocatedAtLastCollection = heapSamples[0].Value.Uint64()
}
