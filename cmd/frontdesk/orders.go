package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/console"
	"github.com/frontdesk-chat/frontdesk/orders"
	"github.com/frontdesk-chat/frontdesk/store"
)

// Order tracking: the "orders" command and the plugin that registers the
// order flow and the push endpoint. docs/orders.md documents both.

func init() {
	commands["orders"] = command{"import, show and list the orders the bot answers \"where is my order?\" from", runOrders}
	plugins = append(plugins, plugin{name: "orders", open: openOrders})
}

const ordersUsage = `Usage:
  frontdesk orders import FILE [--data DIR] [--format csv|json]
  frontdesk orders show NUMBER [--data DIR]
  frontdesk orders list EMAIL [--data DIR]

import loads orders from a CSV file (with a header row) or JSON (an array,
or one object per line), reports bad rows with their line numbers and
stores the good ones. Importing again updates orders, never duplicates
them. See docs/orders.md for the columns.
`

func runOrders(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, ordersUsage)
		return usageError{"orders: missing subcommand (import, show or list)"}
	}
	switch args[0] {
	case "import":
		return runOrdersImport(ctx, args[1:], stdout, stderr)
	case "show":
		return runOrdersShow(ctx, args[1:], stdout, stderr)
	case "list":
		return runOrdersList(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, ordersUsage)
		return nil
	}
	fmt.Fprint(stderr, ordersUsage)
	return usageError{fmt.Sprintf("orders: unknown subcommand %q", args[0])}
}

// parseWithArgs parses flags that may come before or after the positional
// arguments ("import FILE --data DIR") and returns exactly n positionals.
func parseWithArgs(fs *flag.FlagSet, args []string, n int, what string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != n {
		return nil, usageError{fmt.Sprintf("%s: want %s", fs.Name(), what)}
	}
	return pos, nil
}

// openOrderStore opens the data directory's database for a command. The
// server holds the file's lock while it runs: stop it, or push orders to
// its endpoint instead.
func openOrderStore(dir string) (*store.DB, error) {
	db, err := store.Open(store.Config{Path: filepath.Join(dir, "frontdesk.db")})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w\n(stop the server first, or push orders to its /api/orders endpoint while it runs)", err)
	}
	return db, err
}

func runOrdersImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("orders import", stderr)
	data := dataFlag(fs)
	format := fs.String("format", "", "csv or json (default: from the file name, else sniffed)")
	pos, err := parseWithArgs(fs, args, 1, "one FILE to import")
	if err != nil {
		return err
	}
	path := pos[0]
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	opt := orders.ImportOptions{Format: orders.FormatOf(path)}
	switch strings.ToLower(*format) {
	case "":
	case "csv":
		opt.Format = orders.FormatCSV
	case "json", "ndjson", "jsonl":
		opt.Format = orders.FormatJSON
	default:
		return usageError{fmt.Sprintf("orders import: unknown --format %q (want csv or json)", *format)}
	}
	// Progress on large files: a line every tenth of the file (or every
	// 10,000 rows when the size is unknown).
	lastPct, lastRows := 0, 0
	opt.Progress = func(p orders.Progress) {
		if size > 0 {
			pct := int(min(p.Bytes*100/size, 100))
			if pct >= lastPct+10 && pct < 100 {
				lastPct = pct - pct%10
				fmt.Fprintf(stderr, "%s: %d rows read (%d%%)\n", path, p.Rows, pct)
			}
			return
		}
		if p.Rows >= lastRows+10000 {
			lastRows = p.Rows
			fmt.Fprintf(stderr, "%s: %d rows read\n", path, p.Rows)
		}
	}

	db, err := openOrderStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := orders.NewEmbedded(db, nil).Import(ctx, f, opt)
	for _, b := range rep.Bad {
		fmt.Fprintf(stderr, "%s:%v\n", path, strings.TrimPrefix(b.Error(), "line "))
	}
	if more := rep.BadCount - len(rep.Bad); more > 0 {
		fmt.Fprintf(stderr, "%s: %d more bad rows not listed\n", path, more)
	}
	if len(rep.Ignored) > 0 {
		fmt.Fprintf(stderr, "%s: ignored columns: %s\n", path, strings.Join(rep.Ignored, ", "))
	}
	fmt.Fprintf(stdout, "%s: %d rows: %d added, %d updated, %d unchanged, %d bad\n",
		path, rep.Rows, rep.Added, rep.Updated, rep.Unchanged, rep.BadCount)
	if err != nil {
		return err
	}
	if rep.BadCount > 0 {
		return fmt.Errorf("%d bad rows were not imported (the good ones were)", rep.BadCount)
	}
	return nil
}

func runOrdersShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("orders show", stderr)
	data := dataFlag(fs)
	pos, err := parseWithArgs(fs, args, 1, "one order NUMBER")
	if err != nil {
		return err
	}
	db, err := openOrderStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := orders.NewEmbedded(db, nil).Order(ctx, pos[0])
	if errors.Is(err, bot.ErrOrderNotFound) {
		return fmt.Errorf("order %s: not found", bot.NormalizeOrderNumber(pos[0]))
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(o)
}

func runOrdersList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("orders list", stderr)
	data := dataFlag(fs)
	pos, err := parseWithArgs(fs, args, 1, "one customer EMAIL")
	if err != nil {
		return err
	}
	db, err := openOrderStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := orders.NewEmbedded(db, nil).Orders(ctx, pos[0])
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tSTATUS\tPLACED\tCARRIER\tESTIMATED DELIVERY")
	day := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format(time.DateOnly)
	}
	for _, o := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.Number, o.Status, day(o.PlacedAt), or(o.Carrier, "-"), day(o.EstimatedDelivery))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d orders\n", len(list))
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// openOrders builds the order source chosen by FRONTDESK_ORDERS_SOURCE,
// registers the order flow and, for the embedded source, mounts the push
// endpoint.
func openOrders(_ context.Context, m *Main, mux *http.ServeMux) (func(context.Context) error, error) {
	log := m.Logger.With("part", "orders")
	getenv := m.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var src bot.OrderSource
	kind := strings.ToLower(strings.TrimSpace(getenv("FRONTDESK_ORDERS_SOURCE")))
	switch kind {
	case "", "embedded":
		kind = "embedded"
		emb := orders.NewEmbedded(m.DB, nil)
		src = emb
		orders.NewPush(emb, orders.PushConfig{Token: getenv("FRONTDESK_ORDERS_TOKEN"), Logger: log}).Register(mux)
	case "http":
		cfg, err := httpOrdersConfig(getenv)
		if err != nil {
			return nil, err
		}
		h, err := orders.NewHTTP(cfg)
		if err != nil {
			return nil, err
		}
		src = h
		if getenv("FRONTDESK_ORDERS_TOKEN") != "" {
			log.Warn("FRONTDESK_ORDERS_TOKEN is ignored: the push endpoint only feeds the embedded source")
		}
	default:
		return nil, fmt.Errorf("FRONTDESK_ORDERS_SOURCE=%q: want embedded or http", kind)
	}

	// The flow's lapsed rule follows the journey's unless told otherwise.
	fc := bot.OrderFlowConfig{Logger: log, LapsedAfter: m.Engine.Journey().LapsedAfter}
	if v := getenv("FRONTDESK_ORDERS_MAX_FAILURES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("FRONTDESK_ORDERS_MAX_FAILURES=%q: want a number of at least 1", v)
		}
		fc.MaxFailures = n
	}
	if v := getenv("FRONTDESK_ORDERS_LOCKOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("FRONTDESK_ORDERS_LOCKOUT=%q: want a duration such as 1h", v)
		}
		fc.FailureWindow = d
	}
	if v := getenv("FRONTDESK_ORDERS_LAPSED_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("FRONTDESK_ORDERS_LAPSED_DAYS=%q: want a number of days", v)
		}
		fc.LapsedAfter = time.Duration(n) * 24 * time.Hour
	}
	if v := getenv("FRONTDESK_ORDERS_TIMEZONE"); v != "" {
		loc, err := time.LoadLocation(v)
		if err != nil {
			return nil, fmt.Errorf("FRONTDESK_ORDERS_TIMEZONE=%q: %w", v, err)
		}
		fc.Location = loc
	}
	m.Engine.SetFlow(bot.ActionTrackOrder, bot.NewOrderFlow(src, m.Engine.Store(), fc))
	setConsoleOrders(m, consoleOrders{src: src, store: m.Engine.Store()})
	log.Info("order tracking on", "source", kind, "push", kind == "embedded" && getenv("FRONTDESK_ORDERS_TOKEN") != "")
	return nil, nil
}

// consoleOrders feeds the agent console's orders panel. It shows only the
// orders a customer is known to own: those of their verified email, and
// those they proved in a conversation (bot.OwnedOrders). An email a
// customer merely typed shows nothing, so a visitor cannot make agents see
// someone else's orders as theirs.
type consoleOrders struct {
	src   bot.OrderSource
	store bot.Store
}

var _ console.OrderLister = consoleOrders{}

func (c consoleOrders) Orders(ctx context.Context, cust bot.Customer) ([]console.OrderSummary, error) {
	owned, err := bot.OwnedOrders(ctx, c.store, cust.ID)
	if err != nil {
		return nil, err
	}
	emails := owned.Emails
	if cust.Profile.Verified && cust.Profile.Email != "" {
		emails = append(emails, bot.NormalizeEmail(cust.Profile.Email))
	}
	found := map[string]bot.Order{}
	if lister, ok := c.src.(bot.OrderLister); ok {
		seen := map[string]bool{}
		for _, e := range emails {
			if seen[e] {
				continue
			}
			seen[e] = true
			list, err := lister.Orders(ctx, e)
			if err != nil {
				return nil, err
			}
			for _, o := range list {
				found[o.Number] = o
			}
		}
	}
	for _, n := range owned.Numbers {
		if _, ok := found[n]; ok {
			continue
		}
		o, err := c.src.Order(ctx, n)
		switch {
		case err == nil:
			found[n] = o
		case !errors.Is(err, bot.ErrOrderNotFound):
			return nil, err
		}
	}
	list := make([]bot.Order, 0, len(found))
	for _, o := range found {
		list = append(list, o)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].PlacedAt.Equal(list[j].PlacedAt) {
			return list[i].PlacedAt.After(list[j].PlacedAt)
		}
		return list[i].Number > list[j].Number
	})
	out := make([]console.OrderSummary, 0, len(list))
	for _, o := range list {
		s := console.OrderSummary{Number: o.Number, Status: o.Status.Label(), PlacedAt: o.PlacedAt, Tracking: or(o.TrackingURL, o.TrackingNumber)}
		for _, it := range o.Items {
			if it.Quantity > 1 {
				s.Items = append(s.Items, fmt.Sprintf("%d × %s", it.Quantity, it.Name))
			} else {
				s.Items = append(s.Items, it.Name)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// httpOrdersConfig reads the shop API source's settings.
func httpOrdersConfig(getenv func(string) string) (orders.HTTPConfig, error) {
	cfg := orders.HTTPConfig{URL: getenv("FRONTDESK_ORDERS_URL"), Header: getenv("FRONTDESK_ORDERS_HEADER")}
	if cfg.URL == "" {
		return cfg, errors.New("FRONTDESK_ORDERS_SOURCE=http needs FRONTDESK_ORDERS_URL (for example https://shop.example/api/orders/{number})")
	}
	var err error
	if v := getenv("FRONTDESK_ORDERS_MAP"); v != "" {
		if cfg.Map, err = orders.ParseMapping(v); err != nil {
			return cfg, fmt.Errorf("FRONTDESK_ORDERS_MAP: %w", err)
		}
	}
	if v := getenv("FRONTDESK_ORDERS_STATUS_MAP"); v != "" {
		if cfg.StatusMap, err = orders.ParseStatusMap(v); err != nil {
			return cfg, fmt.Errorf("FRONTDESK_ORDERS_STATUS_MAP: %w", err)
		}
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"FRONTDESK_ORDERS_TIMEOUT", &cfg.Timeout}, {"FRONTDESK_ORDERS_CACHE_TTL", &cfg.CacheTTL}} {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		t, err := time.ParseDuration(v)
		if err != nil {
			return cfg, fmt.Errorf("%s=%q: want a duration such as 5s", d.name, v)
		}
		if d.to == &cfg.CacheTTL && t <= 0 {
			t = -1 // "0" switches the cache off
		}
		*d.to = t
	}
	return cfg, nil
}
