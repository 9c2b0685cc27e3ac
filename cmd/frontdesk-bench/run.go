package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// workerCommand is the hidden subcommand a child process runs; its
// configuration comes in workerEnv.
const (
	workerCommand = "_worker"
	workerEnv     = "FRONTDESK_BENCH_WORKER"
)

// defaultTexts are questions the shipped faq.yaml answers confidently,
// each on a different topic, so no conversation trips the "asked the same
// thing again" escalation and every message gets an answer.
var defaultTexts = []string{
	"how much is delivery?",
	"what is your returns policy",
	"where are you based?",
	"how long does delivery take?",
	"what do you sell?",
	"do you have a student discount",
	"what payment methods do you accept",
	"do you sell gift cards",
}

// summary is the result of a run (--json prints it).
type summary struct {
	Label      string           `json:"label,omitempty"`
	URL        string           `json:"url"`
	Procs      int              `json:"procs"`
	Conns      int              `json:"conns_wanted"`
	Open       int64            `json:"conns_open"`
	DialFails  int64            `json:"dial_fails"`
	FirstError string           `json:"first_dial_error,omitempty"`
	Dropped    int64            `json:"conns_dropped"`
	ConnectSec float64          `json:"connect_seconds"`
	Mode       string           `json:"mode"` // idle, rate, max
	Rate       float64          `json:"rate_wanted,omitempty"`
	Duration   float64          `json:"duration_seconds"`
	Sent       int64            `json:"sent"`
	Acked      int64            `json:"acked"`
	Answered   int64            `json:"answered"`
	Pending    int64            `json:"unanswered"`
	Overrun    int64            `json:"pacer_overrun"`
	PerVisitor int              `json:"per_visitor,omitempty"`
	Rotated    int64            `json:"visitors_replaced,omitempty"`
	Errors     map[string]int64 `json:"errors,omitempty"`
	SentPerSec float64          `json:"sent_per_second"`
	AnsPerSec  float64          `json:"answered_per_second"`
	Ack        latency          `json:"ack_latency_ms"`
	Answer     latency          `json:"answer_latency_ms"`
	ServerIdle *serverMem       `json:"server_idle,omitempty"`
	ServerLoad *serverMem       `json:"server_loaded,omitempty"`
}

type latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	N   uint64  `json:"n"`
}

func latencyOf(h *hist) latency {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return latency{P50: ms(h.quantile(0.50)), P90: ms(h.quantile(0.90)), P99: ms(h.quantile(0.99)), Max: ms(h.maxDur()), N: h.n}
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "ws://127.0.0.1:8080/ws", "WebSocket URL of the server (loopback only)")
	conns := fs.Int("conns", 1000, "connections to open, spread over the processes")
	rate := fs.Float64("rate", 0, "messages per second in total (open loop); 0 with no --max holds idle connections")
	maxMode := fs.Bool("max", false, "closed loop: each connection sends its next message as soon as the last is answered")
	inflight := fs.Int("inflight", 1, "with --max: messages outstanding per connection")
	duration := fs.Duration("duration", 30*time.Second, "how long to send messages")
	drain := fs.Duration("drain", 10*time.Second, "how long to wait for answers after sending stops")
	hold := fs.Duration("hold", 0, "hold the connections idle this long before sending (and measure idle memory then)")
	memWait := fs.Duration("mem-wait", 0, "after connecting, wait up to this long for the server to run a GC so its memory gauge covers every connection (the Go runtime forces one every 2 minutes)")
	procs := fs.Int("procs", 1, "client processes (each may hold about 19,000 connections under a 20,000 open-file limit)")
	sources := fs.String("sources", "", "comma-separated 127.0.0.x source addresses to spread connections over")
	metricsURL := fs.String("metrics", "", `server metrics URL; default: the server's /metrics; "-" to skip`)
	jsonOut := fs.Bool("json", false, "print the summary as JSON on stdout")
	textsFile := fs.String("texts", "", "file of message texts, one a line (default: questions the shipped faq.yaml answers)")
	origin := fs.String("origin", "", "Origin header to send (default none)")
	dialPar := fs.Int("dial-parallel", 128, "concurrent connection attempts per process")
	label := fs.String("label", "", "label for this run in the JSON summary")
	perVisitor := fs.Int("per-visitor", 0, "messages each visitor sends before leaving; a new visitor connects in its place (0: one endless conversation per connection)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("run: unexpected argument %q", fs.Arg(0))
	}
	if *conns < 1 || *procs < 1 || *procs > *conns {
		return errors.New("run: need --conns >= --procs >= 1")
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") {
		return fmt.Errorf("run: --url %q: want ws://host:port/ws", *target)
	}
	if err := mustLoopback(u.Hostname()); err != nil {
		return fmt.Errorf("run: --url: %w", err)
	}
	var srcs []string
	for _, s := range strings.Split(*sources, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if err := mustLoopback(s); err != nil {
			return fmt.Errorf("run: --sources: %w", err)
		}
		srcs = append(srcs, s)
	}
	texts := defaultTexts
	if *textsFile != "" {
		b, err := os.ReadFile(*textsFile)
		if err != nil {
			return fmt.Errorf("run: --texts: %w", err)
		}
		texts = nil
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				texts = append(texts, l)
			}
		}
		if len(texts) == 0 {
			return fmt.Errorf("run: --texts %s: no lines", *textsFile)
		}
	}
	mURL := *metricsURL
	if mURL == "" {
		scheme := "http"
		if u.Scheme == "wss" {
			scheme = "https"
		}
		mURL = scheme + "://" + u.Host + "/metrics"
	}
	if mURL != "-" {
		mu, err := url.Parse(mURL)
		if err != nil {
			return fmt.Errorf("run: --metrics: %w", err)
		}
		if err := mustLoopback(mu.Hostname()); err != nil {
			return fmt.Errorf("run: --metrics: %w", err)
		}
	}

	mode := "idle"
	switch {
	case *maxMode:
		mode = "max"
	case *rate > 0:
		mode = "rate"
	}
	sum := summary{Label: *label, URL: *target, Procs: *procs, Conns: *conns, Mode: mode, Rate: *rate, Duration: duration.Seconds(), PerVisitor: *perVisitor}
	nonce := newNonce()
	cfgs := make([]workerConfig, *procs)
	for i := range cfgs {
		n := *conns / *procs
		if i < *conns%*procs {
			n++
		}
		cfgs[i] = workerConfig{ID: i, URL: *target, Origin: *origin, Conns: n, Rate: *rate * float64(n) / float64(*conns),
			Max: *maxMode, Inflight: *inflight, Duration: *duration, Drain: *drain, Sources: srcs, Texts: texts,
			DialParallel: *dialPar, Nonce: nonce, PerVisitor: *perVisitor}
	}

	ws, err := startWorkers(ctx, cfgs)
	if err != nil {
		return err
	}
	defer ws.stop()

	// Connect.
	start := time.Now()
	fmt.Fprintf(stderr, "connecting %d connections from %d process(es)...\n", *conns, *procs)
	if err := ws.waitAll(ctx, "ready", func() {
		t := ws.total()
		fmt.Fprintf(stderr, "[%5.0fs] connecting: %d open, %d failed\n", time.Since(start).Seconds(), t.Conns, t.DialFails)
	}); err != nil {
		return err
	}
	ready := ws.total()
	sum.ConnectSec = time.Since(start).Seconds()
	sum.Open, sum.DialFails, sum.FirstError = ready.Conns, ready.DialFails, ws.firstErr()
	fmt.Fprintf(stderr, "connected %d of %d in %.1fs", ready.Conns, *conns, sum.ConnectSec)
	if ready.DialFails > 0 {
		fmt.Fprintf(stderr, " (%d failed; first: %s)", ready.DialFails, sum.FirstError)
	}
	fmt.Fprintln(stderr)
	connected := time.Now()

	// Hold idle, then read the server's memory.
	if *hold > 0 {
		holdUntil := time.Now().Add(*hold)
		t := time.NewTicker(5 * time.Second)
		for time.Now().Before(holdUntil) && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-t.C:
				tot := ws.total()
				fmt.Fprintf(stderr, "[%5.0fs] holding %d idle connections (%d dropped by the server)\n", time.Since(connected).Seconds(), tot.Conns, tot.Dropped)
			case <-time.After(time.Until(holdUntil)):
			}
		}
		t.Stop()
	}
	if mURL != "-" {
		m, err := scrapeAfter(ctx, mURL, connected, *memWait, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "server metrics: %v\n", err)
		} else {
			sum.ServerIdle = &m
		}
	}

	// Load.
	var all, win hist
	if mode != "idle" {
		loadStart := time.Now()
		prev := ws.total()
		prevAt := loadStart
		ws.broadcast("go")
		err := ws.waitAll(ctx, "final", func() {
			t := ws.total()
			now := time.Now()
			dt := now.Sub(prevAt).Seconds()
			win = ws.takeWindow()
			fmt.Fprintf(stderr, "[%5.0fs] conns %d | sent %7.0f/s answered %7.0f/s | answer p50 %s p99 %s | pending %d | errors %d | dropped %d\n",
				now.Sub(loadStart).Seconds(), t.Conns, float64(t.Sent-prev.Sent)/dt, float64(t.Answered-prev.Answered)/dt,
				fmtDur(win.quantile(0.5)), fmtDur(win.quantile(0.99)), t.Pending, sumErrs(t.Errors), t.Dropped)
			prev, prevAt = t, now
		})
		if err != nil {
			return err
		}
		if mURL != "-" {
			if m, err := scrape(ctx, mURL); err == nil {
				sum.ServerLoad = &m
			}
		}
	}
	fin := ws.total()
	ack, ans := ws.finalHists()
	all = ans
	sum.Open, sum.Dropped = fin.Conns, fin.Dropped
	sum.Sent, sum.Acked, sum.Answered, sum.Pending, sum.Overrun, sum.Errors = fin.Sent, fin.Acked, fin.Answered, fin.Pending, fin.Overrun, fin.Errors
	sum.Rotated = fin.Rotated
	if mode != "idle" {
		sum.SentPerSec = float64(fin.Sent) / duration.Seconds()
		sum.AnsPerSec = float64(fin.Answered) / duration.Seconds()
	}
	sum.Ack, sum.Answer = latencyOf(&ack), latencyOf(&all)

	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	printSummary(stdout, sum)
	return nil
}

func sumErrs(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func printSummary(w io.Writer, s summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	row("target", "%s (%d client process(es))", s.URL, s.Procs)
	row("connections", "%d open of %d wanted, %d failed, %d dropped by the server, connected in %.1fs", s.Open, s.Conns, s.DialFails, s.Dropped, s.ConnectSec)
	if s.FirstError != "" {
		row("first dial error", "%s", s.FirstError)
	}
	if s.Mode != "idle" {
		row("mode", "%s for %.0fs", map[string]string{"rate": fmt.Sprintf("open loop at %.0f msg/s", s.Rate), "max": "closed loop (as fast as answered)"}[s.Mode], s.Duration)
		row("messages", "sent %d, acked %d, answered %d, unanswered %d", s.Sent, s.Acked, s.Answered, s.Pending)
		if s.PerVisitor > 0 {
			row("visitors", "each sends %d messages and leaves; %d were replaced by new visitors", s.PerVisitor, s.Rotated)
		}
		row("throughput", "%.0f msg/s sent, %.0f msg/s answered end to end", s.SentPerSec, s.AnsPerSec)
		row("ack latency", "p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", s.Ack.P50, s.Ack.P90, s.Ack.P99, s.Ack.Max)
		row("answer latency", "p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", s.Answer.P50, s.Answer.P90, s.Answer.P99, s.Answer.Max)
		if s.Overrun > 0 {
			row("pacer overrun", "%d sends could not be issued in time (the client machine is saturated)", s.Overrun)
		}
	}
	if len(s.Errors) == 0 {
		row("errors", "none")
	} else {
		keys := make([]string, 0, len(s.Errors))
		for k := range s.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Errors[k]))
		}
		row("errors", "%s", strings.Join(parts, ", "))
	}
	for _, m := range []struct {
		name string
		m    *serverMem
	}{{"server (idle)", s.ServerIdle}, {"server (loaded)", s.ServerLoad}} {
		if m.m != nil {
			row(m.name, "%s", m.m)
		}
	}
	_ = tw.Flush()
}

// mustLoopback refuses hosts outside 127.0.0.0/8 (and ::1).
func mustLoopback(host string) error {
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (127.0.0.0/8): the bench only loads this machine", host)
	}
	return nil
}

// workers are the load-generating processes (or one in-process worker).
type workers struct {
	mu      sync.Mutex
	ins     []io.WriteCloser
	latest  []report
	got     []map[string]bool
	errs    []string
	window  hist
	final   [2]hist
	updates chan struct{}
	done    chan error
	cmds    []*exec.Cmd
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startWorkers(ctx context.Context, cfgs []workerConfig) (*workers, error) {
	ctx, cancel := context.WithCancel(ctx)
	ws := &workers{latest: make([]report, len(cfgs)), got: make([]map[string]bool, len(cfgs)), errs: make([]string, len(cfgs)),
		updates: make(chan struct{}, 1), done: make(chan error, len(cfgs)), cancel: cancel}
	for i, cfg := range cfgs {
		ws.got[i] = map[string]bool{}
		var out io.Reader
		if len(cfgs) == 1 {
			inR, inW := io.Pipe()
			outR, outW := io.Pipe()
			ws.ins = append(ws.ins, inW)
			ws.wg.Add(1)
			go func() {
				defer ws.wg.Done()
				err := runWorker(ctx, cfg, inR, outW)
				outW.CloseWithError(err)
			}()
			out = outR
		} else {
			self, err := os.Executable()
			if err != nil {
				cancel()
				return nil, err
			}
			b, _ := json.Marshal(cfg)
			cmd := exec.CommandContext(ctx, self, workerCommand)
			cmd.Env = append(os.Environ(), workerEnv+"="+string(b))
			cmd.Stderr = os.Stderr
			in, err := cmd.StdinPipe()
			if err != nil {
				cancel()
				return nil, err
			}
			o, err := cmd.StdoutPipe()
			if err != nil {
				cancel()
				return nil, err
			}
			if err := cmd.Start(); err != nil {
				cancel()
				return nil, fmt.Errorf("start worker: %w", err)
			}
			ws.cmds = append(ws.cmds, cmd)
			ws.ins = append(ws.ins, in)
			out = o
		}
		ws.wg.Add(1)
		go ws.read(i, out)
	}
	return ws, nil
}

func (ws *workers) read(i int, r io.Reader) {
	defer ws.wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var rep report
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			continue
		}
		ws.mu.Lock()
		ws.latest[i] = rep
		ws.got[i][rep.Kind] = true
		if rep.FirstDialErr != "" {
			ws.errs[i] = rep.FirstDialErr
		}
		switch rep.Kind {
		case "tick":
			ws.window.addSparse(rep.Answer)
		case "final":
			ws.final[0].addSparse(rep.Ack)
			ws.final[1].addSparse(rep.Answer)
		}
		ws.mu.Unlock()
		select {
		case ws.updates <- struct{}{}:
		default:
		}
	}
	err := sc.Err()
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	ws.done <- fmt.Errorf("worker %d ended: %w", i, err)
}

// waitAll waits until every worker has sent a report of kind, calling
// progress about once a second meanwhile.
func (ws *workers) waitAll(ctx context.Context, kind string, progress func()) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		ws.mu.Lock()
		all := true
		for _, g := range ws.got {
			all = all && g[kind]
		}
		ws.mu.Unlock()
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-ws.done:
			return err
		case <-ws.updates:
		case <-t.C:
			progress()
		}
	}
}

func (ws *workers) total() report {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var t report
	for _, r := range ws.latest {
		t.Conns += r.Conns
		t.DialFails += r.DialFails
		t.Dropped += r.Dropped
		t.Sent += r.Sent
		t.Acked += r.Acked
		t.Answered += r.Answered
		t.Overrun += r.Overrun
		t.Pending += r.Pending
		t.Rotated += r.Rotated
		for k, v := range r.Errors {
			if t.Errors == nil {
				t.Errors = map[string]int64{}
			}
			t.Errors[k] += v
		}
	}
	return t
}

func (ws *workers) firstErr() string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, e := range ws.errs {
		if e != "" {
			return e
		}
	}
	return ""
}

func (ws *workers) takeWindow() hist {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	h := ws.window
	ws.window = hist{}
	return h
}

func (ws *workers) finalHists() (ack, answer hist) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.final[0], ws.final[1]
}

func (ws *workers) broadcast(line string) {
	for _, in := range ws.ins {
		_, _ = io.WriteString(in, line+"\n")
	}
}

// stop tells the workers to close their connections and waits for them
// (at most 30s, then they are killed).
func (ws *workers) stop() {
	for _, in := range ws.ins {
		_ = in.Close()
	}
	done := make(chan struct{})
	go func() {
		for _, c := range ws.cmds {
			_ = c.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	ws.cancel()
	ws.wg.Wait()
}

// runWorkerProcess is a child process: its configuration is in workerEnv,
// commands come on stdin, reports go to stdout.
func runWorkerProcess(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(os.Getenv(workerEnv)), &cfg); err != nil {
		return fmt.Errorf("worker: bad %s: %w", workerEnv, err)
	}
	if err := mustLoopbackURL(cfg.URL); err != nil {
		return err
	}
	for _, s := range cfg.Sources {
		if err := mustLoopback(s); err != nil {
			return err
		}
	}
	return runWorker(ctx, cfg, stdin, stdout)
}

func mustLoopbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	return mustLoopback(u.Hostname())
}
