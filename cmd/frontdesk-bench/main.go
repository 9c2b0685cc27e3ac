// Command frontdesk-bench is Frontdesk's load generator. It opens many
// web chat connections to a running server (docs/protocol.md), holds them,
// sends messages at a given rate or as fast as the server answers, and
// reports end-to-end throughput, latency percentiles, errors and the
// server's memory per connection read from its /metrics.
//
// It also runs the baseline: a bare WebSocket echo server built from the
// same library (gorilla/websocket), so results can be stated as a fraction
// of what the transport alone does on the same machine.
//
//	frontdesk-bench echo --addr 127.0.0.1:9100
//	frontdesk-bench run --url ws://127.0.0.1:8080/ws --conns 10000 --rate 10000 --duration 60s --procs 2 --sources 127.0.0.2,127.0.0.3
//
// Every address must be on the loopback network (127.0.0.0/8): this tool
// is for measuring a machine, not for loading someone else's server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: frontdesk-bench COMMAND [flags]

Commands:
  run    open connections to a server and measure it (see run -h)
  echo   serve the bare WebSocket echo baseline (see echo -h)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "frontdesk-bench:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "run":
		return runBench(ctx, args[1:], stdout, stderr)
	case "echo":
		return runEcho(ctx, args[1:], stdout, stderr)
	case workerCommand:
		return runWorkerProcess(ctx, stdin, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
