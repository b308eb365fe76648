package flowhost

import "fmt"

// Level is a log level.
type Level uint8

// The log levels, as the WIT logging interface has them.
const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelTrace:
		return "TRACE"
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarn:
		return "WARN"
	default:
		return "ERROR"
	}
}

// Log sends one line to the host's log, tagged with the executor's name.
// (Natively, e.g. under go test, it goes to stderr.) Standard output and
// standard error (fmt.Println, the log package) reach the host's log too.
func Log(level Level, message string) { logSink(level, message) }

// Trace logs its arguments, formatted as by fmt.Sprint, at trace level.
func Trace(args ...any) { logSink(LevelTrace, fmt.Sprint(args...)) }

// Tracef logs at trace level, formatting as fmt.Sprintf.
func Tracef(format string, args ...any) { logSink(LevelTrace, fmt.Sprintf(format, args...)) }

// Debug logs its arguments, formatted as by fmt.Sprint, at debug level.
func Debug(args ...any) { logSink(LevelDebug, fmt.Sprint(args...)) }

// Debugf logs at debug level, formatting as fmt.Sprintf.
func Debugf(format string, args ...any) { logSink(LevelDebug, fmt.Sprintf(format, args...)) }

// Info logs its arguments, formatted as by fmt.Sprint, at info level.
func Info(args ...any) { logSink(LevelInfo, fmt.Sprint(args...)) }

// Infof logs at info level, formatting as fmt.Sprintf.
func Infof(format string, args ...any) { logSink(LevelInfo, fmt.Sprintf(format, args...)) }

// Warn logs its arguments, formatted as by fmt.Sprint, at warn level.
func Warn(args ...any) { logSink(LevelWarn, fmt.Sprint(args...)) }

// Warnf logs at warn level, formatting as fmt.Sprintf.
func Warnf(format string, args ...any) { logSink(LevelWarn, fmt.Sprintf(format, args...)) }

// LogError logs its arguments, formatted as by fmt.Sprint, at error level.
// (It is not named Error: that is the error type.)
func LogError(args ...any) { logSink(LevelError, fmt.Sprint(args...)) }

// LogErrorf logs at error level, formatting as fmt.Sprintf.
func LogErrorf(format string, args ...any) { logSink(LevelError, fmt.Sprintf(format, args...)) }
