package main

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// MustGet fetches url with optional headers and returns status and body.
func MustGet(tb testing.TB, url string, header ...string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricLine finds the sample line of name (with its labels) in a scrape.
func metricLine(body, prefix string) (string, bool) {
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix+" ") {
			return l, true
		}
	}
	return "", false
}

func TestMetrics_CountConnectionsMessagesAndLatency(t *testing.T) {
	m := MustServe(t, t.TempDir())
	c := MustDial(t, m, newVisitor())
	c.MustAsk("m1", "how much is delivery?")
	c.MustAsk("m2", "where are you based?")

	status, body := MustGet(t, m.URL()+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", status)
	}
	for _, want := range []string{
		`frontdesk_web_connections 1`,
		`frontdesk_messages_total{channel="web",direction="in",role="customer"} 2`,
		`frontdesk_messages_total{channel="web",direction="out",role="bot"} 2`,
		`frontdesk_handle_seconds_count{channel="web"} 2`,
		`frontdesk_ack_seconds_count{channel="web"} 2`,
		`frontdesk_escalations_waiting 0`,
	} {
		name, _, _ := strings.Cut(want, " ")
		if line, ok := metricLine(body, name); !ok || line != want {
			t.Errorf("metric %s: got %q, want %q", name, line, want)
		}
	}
	for _, name := range []string{"frontdesk_store_commits_total", "frontdesk_store_updates_total", "go_goroutines", "process_resident_memory_bytes", metricConnMemory} {
		if _, ok := metricLine(body, name); !ok {
			t.Errorf("metric %s missing", name)
		}
	}
}

func TestMetrics_EscalationIsCountedWaiting(t *testing.T) {
	m := MustServe(t, t.TempDir())
	c := MustDial(t, m, newVisitor())
	c.MustWrite(map[string]string{"type": "choice", "id": "c1", "value": "_human", "label": "Talk to a person"})
	c.MustNext("ack")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := MustGet(t, m.URL()+"/metrics")
		if line, _ := metricLine(body, "frontdesk_escalations_waiting"); line == "frontdesk_escalations_waiting 1" {
			return
		}
		if time.Now().After(deadline) {
			line, _ := metricLine(body, "frontdesk_escalations_waiting")
			t.Fatalf("after asking for a person: %q, want 1 waiting", line)
		}
		time.Sleep(100 * time.Millisecond) // the count is cached for a second
	}
}

func TestMetrics_TokenAndOff(t *testing.T) {
	t.Run("token required when set", func(t *testing.T) {
		m := MustServe(t, t.TempDir(), func(m *Main) {
			m.Getenv = func(k string) string { return map[string]string{"FRONTDESK_METRICS_TOKEN": "s3cret"}[k] }
		})
		if status, _ := MustGet(t, m.URL()+"/metrics"); status != http.StatusUnauthorized {
			t.Errorf("without token: %d, want 401", status)
		}
		if status, _ := MustGet(t, m.URL()+"/metrics", "Authorization", "Bearer wrong"); status != http.StatusUnauthorized {
			t.Errorf("wrong token: %d, want 401", status)
		}
		if status, _ := MustGet(t, m.URL()+"/metrics", "Authorization", "Bearer s3cret"); status != http.StatusOK {
			t.Errorf("right token: %d, want 200", status)
		}
	})
	t.Run("off removes the route", func(t *testing.T) {
		m := MustServe(t, t.TempDir(), func(m *Main) {
			m.Getenv = func(k string) string { return map[string]string{"FRONTDESK_METRICS": "off"}[k] }
		})
		if status, body := MustGet(t, m.URL()+"/metrics"); status == http.StatusOK && strings.Contains(body, "frontdesk_") {
			t.Errorf("metrics served while off")
		}
	})
	t.Run("pprof only on request", func(t *testing.T) {
		m := MustServe(t, t.TempDir())
		if status, body := MustGet(t, m.URL()+"/debug/pprof/"); status == http.StatusOK && strings.Contains(body, "goroutine") {
			t.Errorf("pprof served without FRONTDESK_PPROF")
		}
		m2 := MustServe(t, t.TempDir(), func(m *Main) {
			m.Getenv = func(k string) string { return map[string]string{"FRONTDESK_PPROF": "1"}[k] }
		})
		if status, _ := MustGet(t, m2.URL()+"/debug/pprof/"); status != http.StatusOK {
			t.Errorf("pprof with FRONTDESK_PPROF=1 on loopback: %d", status)
		}
	})
}

func TestMetrics_MemoryPerConnectionSampledAtGC(t *testing.T) {
	m := MustServe(t, t.TempDir())
	for range 20 {
		MustDial(t, m, newVisitor())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		_, body := MustGet(t, m.URL()+"/metrics")
		line, _ := metricLine(body, metricConnMemoryConns)
		if line == metricConnMemoryConns+" 20" {
			per, _ := metricLine(body, metricConnMemory)
			if strings.HasSuffix(per, " 0") {
				t.Fatalf("memory per connection is zero with 20 connections: %q", per)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no memory sample with 20 connections: %q", line)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
