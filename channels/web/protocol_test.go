package web

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestDecodeClientFrame(t *testing.T) {
	v := "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name     string
		in       string
		want     clientFrame
		wantCode string
	}{
		{"hello is decoded", `{"type":"hello","visitor":"` + v + `"}`, clientFrame{Type: "hello", Visitor: v}, ""},
		{"hello keeps the token", `{"type":"hello","visitor":"` + v + `","token":"a.b.c"}`, clientFrame{Type: "hello", Visitor: v, Token: "a.b.c"}, ""},
		{"message is decoded", `{"type":"message","id":"m-1:2.3_x","text":"hi"}`, clientFrame{Type: "message", ID: "m-1:2.3_x", Text: "hi"}, ""},
		{"unknown fields are ignored", `{"type":"message","id":"m1","text":"hi","extra":[1]}`, clientFrame{Type: "message", ID: "m1", Text: "hi"}, ""},
		{"choice is decoded", `{"type":"choice","id":"c1","value":"hours","label":"Opening hours"}`, clientFrame{Type: "choice", ID: "c1", Value: "hours", Label: "Opening hours"}, ""},
		{"choice without label uses the value", `{"type":"choice","id":"c1","value":"hours"}`, clientFrame{Type: "choice", ID: "c1", Value: "hours", Label: "hours"}, ""},
		{"message fields are dropped from hello", `{"type":"hello","visitor":"` + v + `","text":"x","id":"y"}`, clientFrame{Type: "hello", Visitor: v}, ""},
		{"null is invalid", `null`, clientFrame{}, bot.ECodeInvalid},
		{"string is invalid", `"hello"`, clientFrame{}, bot.ECodeInvalid},
		{"trailing garbage is invalid", `{"type":"hello"} x`, clientFrame{}, bot.ECodeInvalid},
		{"wrong field type is invalid", `{"type":"message","id":7,"text":"hi"}`, clientFrame{}, bot.ECodeInvalid},
		{"empty frame is invalid", ``, clientFrame{}, bot.ECodeInvalid},
		{"invalid utf-8 is invalid_utf8", "{\"type\":\"message\",\"id\":\"m1\",\"text\":\"\xff\"}", clientFrame{}, bot.ECodeInvalidUTF8},
		{"control characters only is empty", `{"type":"message","id":"m1","text":"\u0007\u0000"}`, clientFrame{}, bot.ECodeEmpty},
		{"visitor id of 65 characters is invalid", `{"type":"hello","visitor":"` + strings.Repeat("a", 65) + `"}`, clientFrame{}, bot.ECodeInvalid},
		{"token over 4 KiB is unauthorized", `{"type":"hello","visitor":"` + v + `","token":"` + strings.Repeat("a", 4097) + `"}`, clientFrame{}, bot.ECodeUnauthorized},
		{"choice value over 128 bytes is invalid", `{"type":"choice","id":"c1","value":"` + strings.Repeat("v", 129) + `"}`, clientFrame{}, bot.ECodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pe := decodeClientFrame([]byte(tt.in), bot.DefaultMaxTextBytes)
			if tt.wantCode != "" {
				if pe == nil || pe.Code != tt.wantCode || pe.Message == "" {
					t.Fatalf("decode = %+v, %v; want code %q", got, pe, tt.wantCode)
				}
				return
			}
			if pe != nil || got != tt.want {
				t.Fatalf("decode = %+v, %v; want %+v", got, pe, tt.want)
			}
		})
	}
}

// FuzzDecodeClientFrame checks that no input panics the decoder and that
// what it accepts is what the rest of the server relies on.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","visitor":"0123456789abcdef0123456789abcdef"}`,
		`{"type":"hello","visitor":"0123456789abcdef","token":"eyJhbGciOiJub25lIn0.e30."}`,
		`{"type":"message","id":"m1","text":"What are your opening hours?"}`,
		`{"type":"choice","id":"c1","value":"_human","label":"Talk to a person"}`,
		`{"type":"message","id":"m1","text":"\u0000"}`,
		"{\"type\":\"message\",\"id\":\"m1\",\"text\":\"\xed\xa0\x80\"}",
		`{"type":"typing"}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, pe := decodeClientFrame(data, 64)
		if pe != nil {
			if pe.Code == "" || pe.Message == "" || (pe.ID != "" && !validClientID(pe.ID)) {
				t.Fatalf("bad error %+v for %q", pe, data)
			}
			if !json.Valid(errorJSON(pe)) {
				t.Fatalf("error frame is not JSON for %q", data)
			}
			return
		}
		switch fr.Type {
		case typeHello:
			if !validVisitorID(fr.Visitor) || len(fr.Token) > maxTokenBytes {
				t.Fatalf("accepted bad hello %+v", fr)
			}
		case typeMessage:
			if !validClientID(fr.ID) || !utf8.ValidString(fr.Text) {
				t.Fatalf("accepted bad message %+v", fr)
			}
			if _, err := bot.CleanText(fr.Text, 64); err != nil {
				t.Fatalf("accepted text the engine refuses: %+v: %v", fr, err)
			}
		case typeChoice:
			if !validClientID(fr.ID) || fr.Value == "" || fr.Label == "" || len(fr.Value) > maxChoiceValue {
				t.Fatalf("accepted bad choice %+v", fr)
			}
		default:
			t.Fatalf("accepted unknown type %q", fr.Type)
		}
	})
}
