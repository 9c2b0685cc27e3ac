package web

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Frame types. docs/protocol.md is the reference for every field.
const (
	// client → server
	typeHello   = "hello"
	typeMessage = "message"
	typeChoice  = "choice"
	// server → client
	typeWelcome = "welcome"
	typeAck     = "ack"
	typeError   = "error"
)

// Error codes of the web protocol. Those shared with the engine come from
// package bot; the two below exist only on the wire.
const (
	// CodeUnknownType answers a frame whose "type" the server does not know.
	CodeUnknownType = "unknown_type"
	// CodeHelloRequired answers a message or choice sent before hello, or a
	// second hello.
	CodeHelloRequired = "hello_required"
)

// Protocol bounds. Ids are bounded so they fit storage keys and logs;
// visitor ids need at least 16 characters so they cannot be guessed.
const (
	maxClientID    = 64
	minVisitorID   = 16
	maxVisitorID   = 64
	maxTokenBytes  = 4096
	maxChoiceValue = 128
	maxChoiceLabel = 256
)

// clientFrame is a decoded client → server frame. Only the fields of its
// Type are set.
type clientFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`
	Visitor string `json:"visitor,omitempty"`
	Token   string `json:"token,omitempty"`
	Text    string `json:"text,omitempty"`
	Value   string `json:"value,omitempty"`
	Label   string `json:"label,omitempty"`
}

// protoError is a problem with one client frame: what goes into the error
// frame. ID is the client id when the frame had a readable one.
type protoError struct {
	ID      string
	Code    string
	Message string
}

func (e *protoError) Error() string { return e.Code + ": " + e.Message }

func perr(id, code, msg string) *protoError { return &protoError{ID: id, Code: code, Message: msg} }

// decodeClientFrame parses and validates one text frame from a client. It
// checks the raw bytes for invalid UTF-8 first because encoding/json would
// silently turn them into U+FFFD. Text is validated but not cleaned here:
// the engine cleans it (bot.CleanText) and we only reject what it would
// reject anyway, before spending a store transaction on it.
func decodeClientFrame(data []byte, maxText int) (clientFrame, *protoError) {
	var f clientFrame
	if !utf8.Valid(data) {
		return f, perr("", bot.ECodeInvalidUTF8, "Your message contains characters we cannot read (invalid UTF-8).")
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return clientFrame{}, perr("", bot.ECodeInvalid, "We could not read that frame: it is not a JSON object.")
	}
	switch f.Type {
	case typeHello:
		if !validVisitorID(f.Visitor) {
			return f, perr("", bot.ECodeInvalid, "The visitor id must be 16 to 64 characters of A-Z, a-z, 0-9, '_' or '-'.")
		}
		if len(f.Token) > maxTokenBytes {
			return f, perr("", bot.ECodeUnauthorized, "The identity token is too long.")
		}
		return clientFrame{Type: f.Type, Visitor: f.Visitor, Token: f.Token}, nil
	case typeMessage, typeChoice:
		if !validClientID(f.ID) {
			return f, perr(idIfValid(f.ID), bot.ECodeInvalid, "Each message needs an id of 1 to 64 characters of A-Z, a-z, 0-9, '_', '-', ':' or '.'.")
		}
		if f.Type == typeChoice {
			if f.Value == "" || len(f.Value) > maxChoiceValue || len(f.Label) > maxChoiceLabel {
				return f, perr(f.ID, bot.ECodeInvalid, "That choice is not valid.")
			}
			if strings.TrimSpace(f.Label) == "" {
				// The label is what the customer "said"; fall back to the value
				// so the stored transcript is never empty.
				f.Label = f.Value
			}
			return clientFrame{Type: f.Type, ID: f.ID, Value: f.Value, Label: f.Label}, nil
		}
		if pe := checkText(f.ID, f.Text, maxText); pe != nil {
			return f, pe
		}
		return clientFrame{Type: f.Type, ID: f.ID, Text: f.Text}, nil
	case "":
		return f, perr(idIfValid(f.ID), bot.ECodeInvalid, "The frame has no type.")
	default:
		return f, perr(idIfValid(f.ID), CodeUnknownType, "The frame type is not supported by this server.")
	}
}

// checkText rejects what bot.CleanText would reject, with its messages.
func checkText(id, text string, maxText int) *protoError {
	if _, err := bot.CleanText(text, maxText); err != nil {
		return perr(id, bot.ErrorCode(err), bot.ErrorMessage(err))
	}
	return nil
}

func idIfValid(id string) string {
	if validClientID(id) {
		return id
	}
	return ""
}

// validClientID reports whether id is 1–64 characters of [A-Za-z0-9_\-:.].
func validClientID(id string) bool {
	if id == "" || len(id) > maxClientID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) && id[i] != ':' && id[i] != '.' {
			return false
		}
	}
	return true
}

// validVisitorID reports whether v is 16–64 characters of [A-Za-z0-9_-],
// the alphabet of base64url and hex.
func validVisitorID(v string) bool {
	if len(v) < minVisitorID || len(v) > maxVisitorID {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !idByte(v[i]) {
			return false
		}
	}
	return true
}

func idByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// Server → client frames.

type welcomeFrame struct {
	Type         string        `json:"type"`
	Visitor      string        `json:"visitor"`
	Conversation string        `json:"conversation"`
	Identified   bool          `json:"identified"`
	Name         string        `json:"name,omitempty"`
	History      []wireMessage `json:"history"`
}

type ackFrame struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Seq       uint64 `json:"seq"`
	Duplicate bool   `json:"duplicate"`
}

type messageFrame struct {
	Type    string      `json:"type"`
	Message wireMessage `json:"message"`
}

type errorFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// wireMessage is the customer's view of a bot.Message: no conversation id,
// no structured data, no internal fields.
type wireMessage struct {
	ID       string       `json:"id"`
	Seq      uint64       `json:"seq"`
	ClientID string       `json:"client_id,omitempty"`
	Role     bot.Role     `json:"role"`
	Text     string       `json:"text"`
	Choices  []bot.Choice `json:"choices,omitempty"`
	At       time.Time    `json:"at"`
	Author   string       `json:"author,omitempty"`
}

func toWire(m bot.Message) wireMessage {
	return wireMessage{ID: m.ID, Seq: m.Seq, ClientID: m.ClientID, Role: m.Role, Text: m.Text, Choices: m.Choices, At: m.At, Author: m.Author}
}

// encode marshals a server frame. Our frame types cannot fail to marshal,
// so a failure is a programming error; we still never panic on it.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"type":"error","id":"","code":"internal","message":"Something went wrong on our side. Please try again in a moment."}`)
	}
	return b
}

func errorJSON(e *protoError) []byte {
	return encode(errorFrame{Type: typeError, ID: e.ID, Code: e.Code, Message: e.Message})
}
