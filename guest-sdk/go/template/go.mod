module {{name}}

go 1.25

// The flowhost Go SDK. `flowhost build` (guest-sdk/go/build.sh) points it at the SDK
// of your flowhost installation; for your editor, add a line like
//   replace example.invalid/flowhost/guest-sdk/go => /path/to/flowhost/guest-sdk/go
require example.invalid/flowhost/guest-sdk/go v0.0.0
