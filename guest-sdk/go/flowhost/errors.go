package flowhost

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// Error is an executor error, reported to the client like a Python exception
// in Jina: a type Name (e.g. "ValueError"), a Message and optional Details
// (a stack, the offending input, ...).
//
// Methods and constructors return it as an ordinary error:
//
//	return nil, flowhost.Errorf("ValueError", "document %s has no embedding", doc.ID)
//
// Any other non-nil error a method returns is reported with the name "Error"
// and its Error() text as the message. A panic in a method is recovered and
// reported as an error named "Panic" with the goroutine's stack as details
// (a panic whose value is an *Error reports that error).
type Error struct {
	// The error's type name, e.g. "ValueError".
	Name string
	// What went wrong.
	Message string
	// Anything that helps; empty means none.
	Details string

	cause error
}

// Error implements the error interface: "Name: Message".
func (e *Error) Error() string {
	return e.Name + ": " + e.Message
}

// NewError returns an *Error with the given name and message, and the caller's
// stack as details.
func NewError(name, message string) *Error {
	return &Error{Name: name, Message: message, Details: callers(3)}
}

// Errorf returns an *Error with the given name, a message formatted as by
// fmt.Sprintf, and the caller's stack as details. As with fmt.Errorf, a %w
// verb wraps an error, which errors.Is and errors.As then find.
func Errorf(name, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Name: name, Message: err.Error(), Details: callers(3), cause: errors.Unwrap(err)}
}

// Unwrap returns the error wrapped with %w, if any.
func (e *Error) Unwrap() error { return e.cause }

// WithDetails returns a copy of e with Details replaced.
func (e *Error) WithDetails(details string) *Error {
	c := *e
	c.Details = details
	return &c
}

// asError turns any error into an *Error.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Name: "Error", Message: err.Error(), Details: fmt.Sprintf("Go error of type %T", err)}
}

// sdkFrames are the functions that run methods; frames from them outwards are
// the SDK's dispatch and the generated bindings, not the user's concern.
var sdkFrames = []string{
	"example.invalid/flowhost/guest-sdk/go/flowhost.guard",
	"example.invalid/flowhost/guest-sdk/go/flowhost.(*instance).",
}

func isSDKFrame(function string) bool {
	for _, p := range sdkFrames {
		if strings.HasPrefix(function, p) {
			return true
		}
	}
	return false
}

// callers formats the stack above the caller of the function that calls it,
// like a traceback: one "function\n\tfile:line" pair per frame.
func callers(skip int) string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(skip, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	for {
		f, more := frames.Next()
		if isSDKFrame(f.Function) {
			break
		}
		if f.Function != "" {
			fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
		}
		if !more {
			break
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
