package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontdesk-chat/frontdesk/console"
	"github.com/frontdesk-chat/frontdesk/store"
)

// Agent accounts for the agent console: "frontdesk agents …". They write
// the store directly, so they run while the server is stopped.

func init() {
	commands["agents"] = command{"add, list and remove agent console accounts; set passwords and API tokens", runAgents}
}

// stdin is where passwords are read from; tests replace it.
var stdin io.Reader = os.Stdin

const agentsUsage = `Usage:
  frontdesk agents add --id LOGIN --name NAME [--role agent|admin] [--password-stdin] [--data DIR]
  frontdesk agents list [--data DIR]
  frontdesk agents passwd ID [--password-stdin] [--data DIR]
  frontdesk agents token ID [--data DIR]
  frontdesk agents remove ID [--data DIR]

Passwords (at least 10 characters; there is no default) are prompted for
when standard input is a terminal, read from the first line of standard
input with --password-stdin, or taken from FRONTDESK_AGENT_PASSWORD.
"token" prints a new API token for Authorization: Bearer (the old one stops
working). These commands need the server stopped: "frontdesk serve" holds
the data file's lock. See docs/agents.md.
`

func runAgents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, agentsUsage)
		return usageError{"agents: missing subcommand (add, list, passwd, token or remove)"}
	}
	switch args[0] {
	case "add":
		return runAgentsAdd(ctx, args[1:], stdout, stderr)
	case "list":
		return runAgentsList(ctx, args[1:], stdout, stderr)
	case "passwd", "password":
		return runAgentsPasswd(ctx, args[1:], stdout, stderr)
	case "token":
		return runAgentsToken(ctx, args[1:], stdout, stderr)
	case "remove", "rm":
		return runAgentsRemove(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, agentsUsage)
		return nil
	}
	fmt.Fprint(stderr, agentsUsage)
	return usageError{fmt.Sprintf("agents: unknown subcommand %q", args[0])}
}

// openAgentStore opens the store for an agents command, explaining the
// lock error: the running server holds the file.
func openAgentStore(dir string) (*store.DB, *console.Accounts, error) {
	db, err := store.Open(store.Config{Path: filepath.Join(dir, "frontdesk.db")})
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, fmt.Errorf("%w\n(agent accounts are changed while the server is stopped: stop \"frontdesk serve\", run this command, then start it again)", err)
	}
	if err != nil {
		return nil, nil, err
	}
	return db, &console.Accounts{Store: db}, nil
}

// readNewPassword reads a new password (readPassword) and checks it is
// acceptable.
func readNewPassword(fromStdin bool, stderr io.Writer) (string, error) {
	pw, err := readPassword(fromStdin, stderr)
	if err != nil {
		return "", err
	}
	return pw, console.CheckPassword(pw)
}

// readPassword gets a new password: --password-stdin reads a line, a
// terminal is prompted (twice, without echo), else FRONTDESK_AGENT_PASSWORD.
// There is no default.
func readPassword(fromStdin bool, stderr io.Writer) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("no password on standard input")
		}
		return pw, nil
	}
	if pw := env("FRONTDESK_AGENT_PASSWORD"); pw != "" {
		return pw, nil
	}
	if f, ok := stdin.(*os.File); ok && console.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "Password (at least %d characters): ", console.MinPasswordLen)
		a, err := console.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if err := console.CheckPassword(string(a)); err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := console.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords do not match")
		}
		return string(a), nil
	}
	return "", usageError{"no password given: there is no default. Run in a terminal to be prompted, pipe it with --password-stdin, or set FRONTDESK_AGENT_PASSWORD"}
}

func runAgentsAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("agents add", stderr)
	id := fs.String("id", "", "login id (a-z, 0-9, . _ - @)")
	name := fs.String("name", "", "name shown to customers and colleagues")
	role := fs.String("role", "agent", "agent or admin")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	data := dataFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" || *name == "" {
		return usageError{"agents add: --id and --name are required"}
	}
	if _, err := console.NormalizeID(*id); err != nil {
		return err
	}
	pw, err := readNewPassword(*fromStdin, stderr)
	if err != nil {
		return err
	}
	db, accounts, err := openAgentStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	acc, err := accounts.Add(ctx, *id, *name, *role, pw)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %s %s (%s); they sign in at /agent\n", acc.Role, acc.ID, acc.Name)
	return nil
}

func runAgentsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("agents list", stderr)
	data := dataFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, accounts, err := openAgentStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := accounts.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tAPI TOKEN\tCREATED")
	for _, a := range list {
		tok := "no"
		if a.TokenHash != "" {
			tok = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Role, tok, a.CreatedAt.Format(time.DateOnly))
	}
	return tw.Flush()
}

// agentArg parses flags around one positional ID.
func agentArg(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (string, *string, error) {
	fs := newFlagSet(name, stderr)
	if extra != nil {
		extra(fs)
	}
	data := dataFlag(fs)
	// Flags may come before or after the ID.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return "", nil, usageError{name + ": want one agent ID"}
	}
	id, err := console.NormalizeID(pos[0])
	if err != nil {
		return "", nil, err
	}
	return id, data, nil
}

func runAgentsPasswd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var fromStdin *bool
	id, data, err := agentArg("agents passwd", args, stderr, func(fs *flag.FlagSet) {
		fromStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	})
	if err != nil {
		return err
	}
	pw, err := readNewPassword(*fromStdin, stderr)
	if err != nil {
		return err
	}
	db, accounts, err := openAgentStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := accounts.SetPassword(ctx, id, pw); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password of %s changed; their sessions were signed out\n", id)
	return nil
}

func runAgentsToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	id, data, err := agentArg("agents token", args, stderr, nil)
	if err != nil {
		return err
	}
	db, accounts, err := openAgentStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	tok, err := accounts.NewToken(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "New API token for %s (the previous one no longer works). It is shown once; only its hash is stored:\n", id)
	fmt.Fprintln(stdout, tok)
	return nil
}

func runAgentsRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	id, data, err := agentArg("agents remove", args, stderr, nil)
	if err != nil {
		return err
	}
	db, accounts, err := openAgentStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := accounts.Remove(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %s; conversations they held stay with them until an admin transfers them\n", id)
	return nil
}
