package bot

import (
	"errors"
	"fmt"
)

// Error codes a customer or API client may see. They are stable: clients
// branch on them.
const (
	ECodeInvalid      = "invalid"      // malformed request
	ECodeEmpty        = "empty"        // a message with no text
	ECodeTooLarge     = "too_large"    // over the size limit
	ECodeInvalidUTF8  = "invalid_utf8" // text is not valid UTF-8
	ECodeRateLimited  = "rate_limited" // too many messages too fast
	ECodeUnauthorized = "unauthorized" // missing or bad credentials
	ECodeForbidden    = "forbidden"    // authenticated but not allowed
	ECodeNotFound     = "not_found"    // no such record
	ECodeConflict     = "conflict"     // the state changed (e.g. already claimed)
	ECodeUnavailable  = "unavailable"  // a dependency is down
	ECodeInternal     = "internal"     // anything else; details stay in logs
)

// Error is the one error type whose message may be shown to a customer or an
// API client. Anything else is reported as ECodeInternal with a generic
// message, so internals never leak.
type Error struct {
	Code    string
	Message string
	// Err is the cause, for logs only.
	Err error
}

// Errorf returns an *Error with a formatted customer-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, or
// ECodeInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}

// ErrorMessage returns the customer-facing message for err: the *Error's
// message, or a generic one for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. Please try again in a moment."
}
