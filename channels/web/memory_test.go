package web

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Environment of the client process of BenchmarkIdleConnections.
const (
	idleClientURL = "FRONTDESK_IDLE_CLIENT_URL"
	idleClientN   = "FRONTDESK_IDLE_CLIENT_N"
)

// BenchmarkIdleConnections reports the server's memory per idle connection
// (heap plus goroutine stacks, after GC; kernel socket buffers not
// included) as B/conn. The clients run in a child process so their memory
// does not count. Set FRONTDESK_IDLE_CLIENT_N to change the number of
// connections (default 1000).
func BenchmarkIdleConnections(b *testing.B) {
	n := 1000
	if s := os.Getenv(idleClientN); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for b.Loop() {
		perConn := measureIdle(b, n)
		b.ReportMetric(perConn, "B/conn")
	}
}

func measureIdle(b *testing.B, n int) float64 {
	b.Helper()
	env := MustServe(b, Config{})
	before := serverMemory()

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientProcess$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), idleClientURL+"="+env.wsURL(), idleClientN+"="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		b.Fatalf("client process: %q, %v", line, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for env.srv.Stats().Visitors < n {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d visitors connected", env.srv.Stats().Visitors, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := serverMemory()
	if path := os.Getenv("FRONTDESK_IDLE_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			_ = f.Close()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.Logf("stack in use %d, heap alloc %d, goroutines %d", ms.StackInuse, ms.HeapAlloc, runtime.NumGoroutine())
	}
	return float64(after-before) / float64(n)
}

// serverMemory is live heap plus goroutine stacks after a full GC.
func serverMemory() int64 {
	var ms runtime.MemStats
	// Several cycles: each GC halves the stacks that use under a quarter,
	// as steady-state GCs would over time.
	for range 5 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc) + int64(ms.StackInuse)
}

// TestIdleClientProcess is the client side of BenchmarkIdleConnections; it
// does nothing in a normal test run.
func TestIdleClientProcess(t *testing.T) {
	url := os.Getenv(idleClientURL)
	if url == "" {
		t.Skip("only runs as the client process of BenchmarkIdleConnections")
	}
	n, _ := strconv.Atoi(os.Getenv(idleClientN))
	conns := make([]*websocket.Conn, 0, n)
	for i := range n {
		ws, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, ws)
		hello := fmt.Sprintf(`{"type":"hello","visitor":"idle-visitor-%08d"}`, i)
		if err := ws.WriteMessage(websocket.TextMessage, []byte(hello)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the connections until the parent is done
	for _, ws := range conns {
		_ = ws.Close()
	}
}
