package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/store"
)

// The crash test runs the real binary under load, kills it with SIGKILL at
// a random moment, restarts it on the same data directory, and finally
// checks that every message the server acknowledged is in the store with
// the sequence number it was acknowledged with, and that the database
// opens and reads cleanly. The binary is built without -race (the test
// itself may run under it): what is tested is the durability of the
// product, not the race detector's.

const (
	crashRounds      = 5
	crashClients     = 60 // per round, each a fresh visitor
	crashPerClient   = 5  // the default burst: no message is rate-limited
	crashStartWithin = 30 * time.Second
)

// ackedMsg is a message the server acknowledged.
type ackedMsg struct {
	visitor, id, text string
	seq               uint64
}

// MustBuildFrontdesk builds the frontdesk binary into a temp directory.
func MustBuildFrontdesk(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "frontdesk")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// server is one run of the binary.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	exited chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var runningURL = regexp.MustCompile(`open (http://127\.0\.0\.1:\d+) and chat`)

// MustStartBinary starts "frontdesk serve" on a free loopback port with its
// store in dir and waits until it serves.
func MustStartBinary(tb testing.TB, bin, dir string) *server {
	tb.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", dir, "--faq", testFAQ)
	// A clean environment: nothing from the developer's shell leaks in.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "FRONTDESK_LOG_LEVEL=warn"}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := runningURL.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		s.exited <- cmd.Wait()
	}()
	select {
	case s.url = <-urls:
		return s
	case err := <-s.exited:
		s.exited <- err
		tb.Fatalf("frontdesk exited at start: %v\n%s", err, s.stderr.String())
	case <-time.After(crashStartWithin):
		tb.Fatalf("frontdesk did not start within %s\n%s", crashStartWithin, s.stderr.String())
	}
	return nil
}

// crashLoad runs clients that each send crashPerClient messages and
// records every ack, until the server dies or the clients are done.
func crashLoad(s *server, rng *rand.Rand, round int, acked chan<- ackedMsg) *sync.WaitGroup {
	var wg sync.WaitGroup
	wsURL := "ws" + strings.TrimPrefix(s.url, "http") + "/ws"
	for i := range crashClients {
		visitor := fmt.Sprintf("crash-r%02d-c%03d-visitor", round, i)
		gap := time.Duration(rng.IntN(200)) * time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
			if err != nil {
				return // the server may be dead already
			}
			defer ws.Close()
			_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
			if ws.WriteJSON(map[string]string{"type": "hello", "visitor": visitor}) != nil {
				return
			}
			texts := map[string]string{}
			go func() {
				for n := 1; n <= crashPerClient; n++ {
					id := fmt.Sprintf("m%d", n)
					text := defaultCrashTexts[(n+round)%len(defaultCrashTexts)]
					// texts is written before the frame goes out, so the
					// reader sees it by the time the ack arrives.
					textsMu.Lock()
					texts[id] = text
					textsMu.Unlock()
					if ws.WriteJSON(map[string]string{"type": "message", "id": id, "text": text}) != nil {
						return
					}
					time.Sleep(gap)
				}
			}()
			got := 0
			for got < crashPerClient {
				var f frame
				if err := ws.ReadJSON(&f); err != nil {
					return
				}
				switch f.Type {
				case "ack":
					textsMu.Lock()
					text := texts[f.ID]
					textsMu.Unlock()
					acked <- ackedMsg{visitor: visitor, id: f.ID, text: text, seq: f.Seq}
					got++
				case "error":
					got++
				}
			}
		}()
	}
	return &wg
}

var (
	textsMu           sync.Mutex
	defaultCrashTexts = []string{"how much is delivery?", "where are you based?", "what do you sell?", "what is your returns policy", "how long does delivery take?"}
)

func TestCrash_SIGKILLUnderLoadLosesNoAcknowledgedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	bin := MustBuildFrontdesk(t)
	dir := t.TempDir()

	var acked []ackedMsg
	for round := range crashRounds {
		s := MustStartBinary(t, bin, dir)
		ch := make(chan ackedMsg, crashClients*crashPerClient)
		wg := crashLoad(s, rng, round, ch)
		// Kill at a random moment while messages are in flight.
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-s.exited
		s.exited <- nil
		wg.Wait()
		close(ch)
		n := 0
		for a := range ch {
			acked = append(acked, a)
			n++
		}
		t.Logf("round %d: killed with %d messages acknowledged", round, n)
	}
	if len(acked) == 0 {
		t.Fatal("no message was acknowledged before any kill: the load did not reach the server")
	}

	// One more start proves the database opens after the last kill and the
	// server still answers; then a clean stop releases the file.
	s := MustStartBinary(t, bin, dir)
	c := dialBinary(t, s.url, "crash-final-visitor-000")
	c.MustAsk("final", "how much is delivery?")
	c.ws.Close()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		s.exited <- err
		if err != nil {
			t.Fatalf("clean stop: %v\n%s", err, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no clean stop within 30s")
	}

	MustHoldAcked(t, filepath.Join(dir, "frontdesk.db"), acked)
}

// MustHoldAcked opens the database, reads every message (a torn page or
// bad record fails the decode) and checks each acknowledged message is
// there with its acknowledged sequence number and text.
func MustHoldAcked(tb testing.TB, path string, acked []ackedMsg) {
	tb.Helper()
	db, err := store.Open(store.Config{Path: path, Timeout: -1})
	if err != nil {
		tb.Fatalf("database does not open cleanly: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	total := 0
	err = db.View(ctx, func(tx bot.Tx) error {
		return tx.Scan(bot.BucketMessages, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var m bot.Message
			total++
			return true, decode(&m)
		})
	})
	if err != nil {
		tb.Fatalf("reading every message: %v", err)
	}
	missing := 0
	err = db.View(ctx, func(tx bot.Tx) error {
		for _, a := range acked {
			conv, ok, err := bot.ConversationByKey(tx, bot.ChannelWeb, "v:"+a.visitor, "")
			if err != nil {
				return err
			}
			var m bot.Message
			found := false
			if ok {
				if m, found, err = bot.MessageByClientID(tx, conv.ID, a.id); err != nil {
					return err
				}
			}
			switch {
			case !found:
				tb.Errorf("acknowledged message lost: visitor %s id %s seq %d", a.visitor, a.id, a.seq)
				missing++
			case m.Seq != a.seq || m.Text != a.text:
				tb.Errorf("visitor %s id %s: stored seq %d %q, acknowledged seq %d %q", a.visitor, a.id, m.Seq, m.Text, a.seq, a.text)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%d acknowledged messages checked, %d missing; %d messages in the store", len(acked), missing, total)
}

// dialBinary opens the chat on a server run from the binary.
func dialBinary(tb testing.TB, base, visitor string) *chatClient {
	tb.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	c := &chatClient{tb: tb, ws: ws, visitor: visitor}
	tb.Cleanup(func() { ws.Close() })
	c.MustWrite(map[string]string{"type": "hello", "visitor": visitor})
	c.welcome = c.MustNext("welcome")
	return c
}
