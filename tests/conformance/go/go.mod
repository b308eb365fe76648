module example.invalid/flowhost/tests/conformance/go

go 1.25

require example.invalid/flowhost/guest-sdk/go v0.0.0

// For editors and `go vet` in this tree; guest-sdk/go/build.sh rewrites it.
replace example.invalid/flowhost/guest-sdk/go => ../../../guest-sdk/go
