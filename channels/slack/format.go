package slack

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Text conversion between Frontdesk's plain text with markdown links and
// Slack's mrkdwn. Slack treats &, < and > as control characters, so every
// piece of text we did not build ourselves is escaped before it is posted.

var (
	mdLinkRE = regexp.MustCompile(`\[([^\]\n]+)\]\(([^()\s]+)\)`)
	mdBoldRE = regexp.MustCompile(`\*\*([^*\n]+)\*\*`)
	// slackTokenRE matches Slack's <...> markup in incoming text: links,
	// user and channel mentions, special mentions.
	slackTokenRE = regexp.MustCompile(`<([^<>\n]+)>`)
	spacesRE     = regexp.MustCompile(`[ \t]{2,}`)
)

// escape escapes the three characters Slack reserves for markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// unescape reverses escape.
func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// Mrkdwn converts the bot's text to Slack mrkdwn: markdown links
// [text](url) become <url|text>, **bold** becomes *bold*, and everything
// else is escaped so a customer's or agent's "<" never turns into markup.
// Links with schemes other than http, https and mailto stay plain text.
func Mrkdwn(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range mdLinkRE.FindAllStringSubmatchIndex(s, -1) {
		label, url := s[m[2]:m[3]], s[m[4]:m[5]]
		if !linkable(url) {
			continue
		}
		b.WriteString(inline(s[last:m[0]]))
		b.WriteString("<" + linkURL(url) + "|" + escape(strings.ReplaceAll(label, "|", "/")) + ">")
		last = m[1]
	}
	b.WriteString(inline(s[last:]))
	return b.String()
}

// inline escapes plain text and converts markdown bold.
func inline(s string) string {
	return mdBoldRE.ReplaceAllString(escape(s), "*$1*")
}

func linkable(url string) bool {
	u := strings.ToLower(url)
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "mailto:")
}

// linkURL makes a URL safe inside <url|text>: the separators Slack parses
// are percent-encoded, & is escaped like everywhere else.
func linkURL(u string) string {
	return strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C").Replace(u)
}

// PlainText converts Slack message text to the plain text with markdown
// links Frontdesk stores: <url|label> becomes [label](url), <url> the bare
// url, <mailto:a@b|a@b> the address, mentions @U123 (or their label), and
// &amp; &lt; &gt; are unescaped.
func PlainText(s string) string {
	s = slackTokenRE.ReplaceAllStringFunc(s, func(tok string) string {
		inner := tok[1 : len(tok)-1]
		target, label, _ := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
			if label != "" {
				return target[:1] + label
			}
			return target
		case strings.HasPrefix(target, "!"):
			if label != "" {
				return label
			}
			return "@" + strings.TrimPrefix(strings.SplitN(target, "^", 2)[0], "!")
		case strings.HasPrefix(strings.ToLower(target), "mailto:"):
			if label != "" {
				return label
			}
			return target[len("mailto:"):]
		case label == "" || label == target:
			return target
		default:
			return "[" + label + "](" + target + ")"
		}
	})
	return unescape(s)
}

// stripMention removes mentions of the bot user from text.
func stripMention(text, botUserID string) string {
	if botUserID == "" {
		return strings.TrimSpace(text)
	}
	re := regexp.MustCompile(`<@` + regexp.QuoteMeta(botUserID) + `(\|[^>]*)?>`)
	return strings.TrimSpace(spacesRE.ReplaceAllString(re.ReplaceAllString(text, " "), " "))
}

// mentions reports whether text mentions the bot user.
func mentions(text, botUserID string) bool {
	return botUserID != "" && (strings.Contains(text, "<@"+botUserID+">") || strings.Contains(text, "<@"+botUserID+"|"))
}

// ReplyPrefix is how an agent marks a thread message for the customer (see
// docs/slack.md, "the internal-note rule").
const ReplyPrefix = "reply:"

// replyText reports whether text starts with ReplyPrefix (case-insensitive,
// after leading spaces) and returns the text without it.
func replyText(text string) (string, bool) {
	t := strings.TrimLeft(text, " \t\n")
	if len(t) < len(ReplyPrefix) || !strings.EqualFold(t[:len(ReplyPrefix)], ReplyPrefix) {
		return text, false
	}
	return strings.TrimSpace(t[len(ReplyPrefix):]), true
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
