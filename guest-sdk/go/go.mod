module example.invalid/flowhost/guest-sdk/go

go 1.25
