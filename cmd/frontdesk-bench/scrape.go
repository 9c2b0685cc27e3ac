package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metric names the bench reads; cmd/frontdesk/metrics.go and the echo
// server publish them.
const (
	metricMemPerConn = "frontdesk_web_connection_memory_bytes"
	metricMemConns   = "frontdesk_web_connection_memory_sample_connections"
	metricMemAt      = "frontdesk_web_connection_memory_sample_timestamp_seconds"
	metricConns      = "frontdesk_web_connections"
	metricRSS        = "process_resident_memory_bytes"
)

// serverMem is what the server says about its memory.
type serverMem struct {
	PerConn     float64   `json:"memory_per_connection_bytes"` // heap + stacks above the idle baseline, at the last GC
	SampleConns float64   `json:"sample_connections"`
	SampleAt    time.Time `json:"sample_at"`
	Conns       float64   `json:"connections"`
	RSS         float64   `json:"rss_bytes"`
	Stale       bool      `json:"stale,omitempty"` // the sample predates the last connection
}

func (m *serverMem) String() string {
	s := fmt.Sprintf("%.1f KB per connection (heap+stacks at a GC with %.0f connections open), RSS %.0f MB for %.0f connections",
		m.PerConn/1000, m.SampleConns, m.RSS/1e6, m.Conns)
	if m.Conns > 0 {
		s += fmt.Sprintf(" (%.1f KB each)", m.RSS/m.Conns/1000)
	}
	if m.Stale {
		s += " [memory sample is older than the last connection]"
	}
	return s
}

// scrapeAfter reads the metrics, waiting up to wait for a memory sample
// taken after since (a GC after the connections were made).
func scrapeAfter(ctx context.Context, url string, since time.Time, wait time.Duration, log io.Writer) (serverMem, error) {
	deadline := time.Now().Add(wait)
	said := false
	for {
		m, err := scrape(ctx, url)
		if err != nil || !m.Stale || time.Now().After(deadline) {
			return m, err
		}
		if m.SampleAt.After(since) {
			return m, nil
		}
		if !said {
			fmt.Fprintf(log, "waiting up to %s for the server's next GC to sample its memory...\n", time.Until(deadline).Round(time.Second))
			said = true
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func scrape(ctx context.Context, url string) (serverMem, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return serverMem{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return serverMem{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverMem{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	vals, err := parseMetrics(resp.Body)
	if err != nil {
		return serverMem{}, err
	}
	m := serverMem{PerConn: vals[metricMemPerConn], SampleConns: vals[metricMemConns], Conns: vals[metricConns], RSS: vals[metricRSS]}
	if at := vals[metricMemAt]; at > 0 {
		m.SampleAt = time.Unix(0, int64(at*1e9))
	}
	m.Stale = m.SampleConns != m.Conns
	return m, nil
}

// parseMetrics reads unlabelled samples of the Prometheus text format
// (labelled ones are summed by name).
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name := f[0]
		if i := strings.IndexByte(name, '{'); i >= 0 {
			// labels may contain spaces: take the value after the closing brace
			j := strings.LastIndexByte(line, '}')
			f = strings.Fields(line[j+1:])
			if len(f) < 1 {
				continue
			}
			name = name[:i]
			f = append([]string{name}, f...)
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	return out, sc.Err()
}
