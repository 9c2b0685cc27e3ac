package slack

import (
	"errors"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestMrkdwn(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text is unchanged", "Delivery takes 2-3 days.", "Delivery takes 2-3 days."},
		{"markup characters are escaped", "a < b & c > d", "a &lt; b &amp; c &gt; d"},
		{"markdown link becomes a slack link", "See [our FAQ](https://shop.example/faq).", "See <https://shop.example/faq|our FAQ>."},
		{"link text and url are escaped", "[a <b> & c](https://x.example/?a=1&b=2)", "<https://x.example/?a=1&amp;b=2|a &lt;b&gt; &amp; c>"},
		{"pipe in a url is encoded", "[x](https://x.example/a|b)", "<https://x.example/a%7Cb|x>"},
		{"mailto links work", "[write us](mailto:help@shop.example)", "<mailto:help@shop.example|write us>"},
		{"other schemes stay text", "[x](javascript:alert(1))", "[x](javascript:alert(1))"},
		{"bold becomes slack bold", "This is **important**.", "This is *important*."},
		{"a slack mention typed by a customer is defused", "<!channel> hi <@U1>", "&lt;!channel&gt; hi &lt;@U1&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mrkdwn(tt.in); got != tt.want {
				t.Errorf("Mrkdwn(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"entities are unescaped", "a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"},
		{"labelled link becomes markdown", "see <https://t.example/1|tracking>", "see [tracking](https://t.example/1)"},
		{"bare link becomes the url", "see <https://t.example/1>", "see https://t.example/1"},
		{"mailto becomes the address", "mail <mailto:a@b.example|a@b.example>", "mail a@b.example"},
		{"user mention keeps the id", "hi <@U123>", "hi @U123"},
		{"channel mention uses the name", "in <#C1|general>", "in #general"},
		{"special mention", "<!here> look", "@here look"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PlainText(tt.in); got != tt.want {
				t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReplyText(t *testing.T) {
	tests := []struct {
		in, body string
		reply    bool
	}{
		{"reply: hello", "hello", true},
		{"Reply:hello", "hello", true},
		{"  REPLY:  hello there ", "hello there", true},
		{"replying later", "replying later", false},
		{"hello reply: no", "hello reply: no", false},
		{"reply", "reply", false},
		{"", "", false},
	}
	for _, tt := range tests {
		body, ok := replyText(tt.in)
		if ok != tt.reply || body != tt.body {
			t.Errorf("replyText(%q) = %q, %v; want %q, %v", tt.in, body, ok, tt.body, tt.reply)
		}
	}
}

func TestStripMention(t *testing.T) {
	if got := stripMention("<@UBOT> how long is shipping?", "UBOT"); got != "how long is shipping?" {
		t.Errorf("got %q", got)
	}
	if got := stripMention("hey <@UBOT|frontdesk>, help", "UBOT"); got != "hey , help" {
		t.Errorf("got %q", got)
	}
	if !mentions("x <@UBOT> y", "UBOT") || mentions("x <@UOTHER> y", "UBOT") {
		t.Error("mentions is wrong")
	}
}

func TestSeenSet(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	t.Run("a key is new once within the ttl", func(t *testing.T) {
		s := newSeenSet(time.Minute, 10, clock)
		if !s.Add("a") || s.Add("a") {
			t.Fatal("second Add of a key must report a duplicate")
		}
	})
	t.Run("an expired key is new again", func(t *testing.T) {
		s := newSeenSet(time.Minute, 10, func() time.Time { return now })
		s.Add("a")
		now = now.Add(2 * time.Minute)
		if !s.Add("a") {
			t.Fatal("key should have expired")
		}
	})
	t.Run("size is bounded, oldest go first", func(t *testing.T) {
		s := newSeenSet(time.Hour, 3, clock)
		for _, k := range []string{"a", "b", "c", "d"} {
			s.Add(k)
		}
		if s.Len() > 3 {
			t.Fatalf("Len = %d, want <= 3", s.Len())
		}
		if !s.Add("a") {
			t.Fatal("oldest key should have been evicted")
		}
		if s.Add("d") {
			t.Fatal("newest key should still be remembered")
		}
	})
	t.Run("a forgotten key is new again", func(t *testing.T) {
		s := newSeenSet(time.Hour, 3, clock)
		s.Add("a")
		s.Forget("a")
		if !s.Add("a") {
			t.Fatal("forgotten key should be new")
		}
	})
}

func TestParseRoutes(t *testing.T) {
	t.Run("stage and topic rules parse in order", func(t *testing.T) {
		got, err := ParseRoutes(" stage:purchase=C123, topic:damaged-item=G456 ,")
		if err != nil {
			t.Fatal(err)
		}
		want := []Route{{Stage: bot.StagePurchase, Channel: "C123"}, {Topic: "damaged-item", Channel: "G456"}}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
	t.Run("empty is no routes", func(t *testing.T) {
		got, err := ParseRoutes("")
		if err != nil || len(got) != 0 {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	for _, bad := range []string{"stage:purchase", "stage:nope=C1", "kind:x=C1", "topic:=C1", "topic:x=#support", "purchase=C1"} {
		t.Run("refused "+bad, func(t *testing.T) {
			if _, err := ParseRoutes(bad); !errors.Is(err, ErrBadRoute) {
				t.Fatalf("ParseRoutes(%q) err = %v, want ErrBadRoute", bad, err)
			}
		})
	}
}

func TestRoute(t *testing.T) {
	routes := []Route{{Topic: "damaged", Channel: "CDMG"}, {Stage: bot.StagePurchase, Channel: "CPUR"}}
	tests := []struct {
		name   string
		stage  bot.Stage
		topics []string
		want   string
	}{
		{"topic rule matches any intent of the contact", bot.StageAwareness, []string{"shipping", "damaged"}, "CDMG"},
		{"stage rule matches", bot.StagePurchase, []string{"checkout"}, "CPUR"},
		{"first matching rule wins", bot.StagePurchase, []string{"damaged"}, "CDMG"},
		{"no match goes to the default", bot.StageLoyalty, nil, "CDEF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := route(routes, "CDEF", tt.stage, tt.topics); got != tt.want {
				t.Errorf("route = %q, want %q", got, tt.want)
			}
		})
	}
}
