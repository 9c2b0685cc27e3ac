package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHist_QuantilesWithinResolution(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(tt.q)
		if d := got - tt.want; d < -tt.want/25 || d > tt.want/25 {
			t.Errorf("q%.2f = %s, want %s within 4%%", tt.q, got, tt.want)
		}
	}
	var merged hist
	merged.addSparse(h.sparse())
	if merged.n != h.n || merged.quantile(0.99) != h.quantile(0.99) {
		t.Errorf("merged histogram differs: n %d vs %d", merged.n, h.n)
	}
	for us := uint64(0); us < 1<<30; us = us*3/2 + 1 {
		if v := histValue(histIndex(us)); v < us {
			t.Fatalf("bucket of %dµs has upper bound %dµs", us, v)
		}
	}
}

func TestRun_AgainstTheEchoBaseline(t *testing.T) {
	e := newEchoServer()
	srv := httptest.NewServer(e.handler())
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	for _, tt := range []struct {
		name string
		args []string
	}{
		{"closed loop", []string{"--max"}},
		{"open loop", []string{"--rate", "200"}},
		{"visitors come and go", []string{"--max", "--per-visitor", "3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"run", "--url", url, "--conns", "20", "--duration", "1s", "--drain", "5s", "--json"}, tt.args...)
			if err := run(context.Background(), args, nil, &out, &errOut); err != nil {
				t.Fatalf("run: %v\n%s", err, errOut.String())
			}
			var s summary
			if err := json.Unmarshal(out.Bytes(), &s); err != nil {
				t.Fatalf("summary: %v\n%s", err, out.String())
			}
			if s.Open != 20 || s.Sent == 0 || s.Answered != s.Sent || s.Acked != s.Sent || len(s.Errors) != 0 || s.Answer.N != uint64(s.Answered) {
				t.Errorf("summary %+v", s)
			}
			if s.ServerLoad == nil || s.ServerLoad.Conns != 20 || s.ServerLoad.RSS <= 0 {
				t.Errorf("server metrics not read: %+v", s.ServerLoad)
			}
			if !strings.Contains(errOut.String(), "answered") {
				t.Errorf("no progress line:\n%s", errOut.String())
			}
		})
	}
}

func TestRun_RefusesNonLoopbackTargets(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--url", "ws://192.0.2.1:8080/ws"},
		{"run", "--url", "ws://example.com/ws"},
		{"run", "--sources", "10.0.0.2"},
		{"run", "--metrics", "http://192.0.2.1/metrics"},
		{"echo", "--addr", "0.0.0.0:9100"},
	} {
		err := run(context.Background(), args, nil, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%v: err = %v, want a loopback refusal", args, err)
		}
	}
}
