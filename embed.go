// Package frontdesk is the root of the Frontdesk customer-support bot. It
// holds only what must live at the repository root, such as the default
// knowledge file.
package frontdesk

import _ "embed"

// DefaultFAQ is the demo shop's knowledge file (faq.yaml at the repository
// root), compiled into the binary. The bot falls back to it when there is no
// ./faq.yaml, so `go run ./cmd/frontdesk` works from any directory. Parse it
// with faq.Parse.
//
//go:embed faq.yaml
var DefaultFAQ []byte
