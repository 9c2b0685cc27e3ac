package orders_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/orders"
	"github.com/frontdesk-chat/frontdesk/store"
)

var importNow = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func MustOpenStore(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(tb.TempDir(), "t.db"), NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func MustEmbedded(tb testing.TB) *orders.Embedded {
	tb.Helper()
	return orders.NewEmbedded(MustOpenStore(tb), func() time.Time { return importNow })
}

func MustImport(tb testing.TB, e *orders.Embedded, text string, opt orders.ImportOptions) orders.ImportReport {
	tb.Helper()
	rep, err := e.Import(context.Background(), strings.NewReader(text), opt)
	if err != nil {
		tb.Fatalf("Import: %v", err)
	}
	return rep
}

func MustOrder(tb testing.TB, e *orders.Embedded, number string) bot.Order {
	tb.Helper()
	o, err := e.Order(context.Background(), number)
	if err != nil {
		tb.Fatalf("Order(%s): %v", number, err)
	}
	return o
}

const header = "number,email,postcode,status,carrier,tracking_number,tracking_url,items,placed_at,shipped_at,delivered_at,estimated_delivery\n"

// goodAndBad has good rows and one of each kind of bad row; the comment
// after each line is its line number.
const goodAndBad = header +
	"A1001,Jane@Example.com,CA12 5DJ,shipped,Royal Mail,RM1,https://track.example/RM1,Shell Jacket x 1; Base Layer x 2,2026-10-30,2026-11-01,,2026-11-04\n" + // 2
	",nobody@example.com,,placed,,,,,,,,\n" + // 3 missing number
	"A1003,,,placed,,,,,,,,\n" + // 4 missing email
	"A1004,not-an-email,,placed,,,,,,,,\n" + // 5 bad email
	"A1005,x@example.com,,shiped,,,,,,,,\n" + // 6 unknown status
	"A1006,x@example.com,,placed,,,,,30/10/2026,,,\n" + // 7 bad date
	"#a1007,tom@example.com,M1 4BT,Delivered,DPD,,,\"Parka, red x 1\",2026-10-20,2026-10-21,2026-10-23,\n" + // 8 good
	"A1008,x@example.com,,placed,,,javascript:alert(1),,,,,\n" + // 9 script link
	"\"A1009\",\"multi\n" + // 10 a quoted field spanning lines
	"line@example.com\",,placed,,,,,,,,\n" // 11

func TestImport_GoodRowsStoredBadRowsReportedWithLines(t *testing.T) {
	e := MustEmbedded(t)
	rep := MustImport(t, e, goodAndBad, orders.ImportOptions{})
	if rep.Rows != 9 || rep.Added != 2 || rep.BadCount != 7 || len(rep.Bad) != 7 {
		t.Fatalf("report = %+v, want 9 rows, 2 added, 7 bad", rep)
	}
	want := []struct {
		line int
		msg  string
	}{
		{3, "missing order number"}, {4, "missing email"}, {5, `bad email "not-an-email"`},
		{6, `unknown status "shiped"`}, {7, `bad placed_at date "30/10/2026"`}, {9, "bad tracking URL"},
		{10, "bad email"},
	}
	for i, w := range want {
		b := rep.Bad[i]
		if b.Line != w.line || !strings.Contains(b.Error(), w.msg) {
			t.Errorf("bad row %d = %v (line %d), want line %d with %q", i, b, b.Line, w.line, w.msg)
		}
	}

	o := MustOrder(t, e, "A1001")
	if o.Email != "jane@example.com" || o.Status != bot.OrderShipped || o.Carrier != "Royal Mail" ||
		len(o.Items) != 2 || o.Items[1] != (bot.OrderItem{Name: "Base Layer", Quantity: 2}) ||
		!o.EstimatedDelivery.Equal(time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("A1001 = %+v", o)
	}
	if o := MustOrder(t, e, "A1007"); o.Status != bot.OrderDelivered || o.Items[0].Name != "Parka, red" {
		t.Errorf("A1007 = %+v (number normalised from #a1007)", o)
	}
	for _, n := range []string{"A1003", "A1004", "A1005", "A1006", "A1008"} {
		if _, err := e.Order(context.Background(), n); !errors.Is(err, bot.ErrOrderNotFound) {
			t.Errorf("bad row %s was stored (err %v)", n, err)
		}
	}
}

func TestImport_AgainIsIdempotentAndUpdatesInPlace(t *testing.T) {
	e := MustEmbedded(t)
	MustImport(t, e, goodAndBad, orders.ImportOptions{})
	first := MustOrder(t, e, "A1001")

	rep := MustImport(t, e, goodAndBad, orders.ImportOptions{})
	if rep.Added != 0 || rep.Updated != 0 || rep.Unchanged != 2 {
		t.Fatalf("re-import = %+v, want 2 unchanged", rep.Counts)
	}
	if n, _ := e.Count(context.Background()); n != 2 {
		t.Fatalf("%d orders stored, want 2", n)
	}
	if again := MustOrder(t, e, "A1001"); !again.UpdatedAt.Equal(first.UpdatedAt) {
		t.Errorf("unchanged order was rewritten")
	}

	// The order moves on and changes hands: updated, and the email index
	// follows.
	moved := header + "A1001,new@example.com,CA12 5DJ,delivered,Royal Mail,RM1,https://track.example/RM1,,2026-10-30,2026-11-01,2026-11-03,\n"
	rep = MustImport(t, e, moved, orders.ImportOptions{})
	if rep.Updated != 1 || rep.Added != 0 {
		t.Fatalf("update = %+v, want 1 updated", rep.Counts)
	}
	if o := MustOrder(t, e, "A1001"); o.Status != bot.OrderDelivered || o.Email != "new@example.com" {
		t.Errorf("A1001 = %+v", o)
	}
	old, _ := e.Orders(context.Background(), "jane@example.com")
	now, _ := e.Orders(context.Background(), "NEW@example.com")
	if len(old) != 0 || len(now) != 1 {
		t.Errorf("by email: old %d, new %d; want 0 and 1", len(old), len(now))
	}
}

func TestImport_JSONArrayAndLines(t *testing.T) {
	cases := []struct {
		name    string
		text    string
		added   int
		badLine int
		badMsg  string
	}{
		{"array", `[
  {"number": "A2001", "email": "noah@example.com", "status": "delivered",
   "items": [{"name": "Parka", "sku": "P-1", "quantity": 1}, "Socks x 2"]},
  {"number": 2002, "email": "noah@example.com", "status": "teleported"},
  {"order_number": "A2003", "customer_email": "noah@example.com", "order_status": "shipped", "eta": "2026-11-05"}
]`, 2, 4, `unknown status "teleported"`},
		{"ndjson", `{"number": "A2001", "email": "noah@example.com", "status": "delivered", "items": [{"name": "Parka"}, "Socks x 2"]}
{"number": "A2002", "email": "noah@example.com", "status": "placed", "placed_at": "yesterday"}

{"number": "A2003", "email": "noah@example.com", "status": "shipped"}
{"number": "A2004", "email":
`, 2, 2, `bad placed_at date "yesterday"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := MustEmbedded(t)
			rep := MustImport(t, e, c.text, orders.ImportOptions{Format: orders.FormatJSON})
			if rep.Added != c.added || len(rep.Bad) == 0 || rep.Bad[0].Line != c.badLine || !strings.Contains(rep.Bad[0].Error(), c.badMsg) {
				t.Fatalf("report = %+v, want %d added and line %d: %s", rep, c.added, c.badLine, c.badMsg)
			}
			o := MustOrder(t, e, "A2001")
			if len(o.Items) != 2 || o.Items[0].Quantity != 1 || o.Items[1] != (bot.OrderItem{Name: "Socks", Quantity: 2}) {
				t.Errorf("items = %+v", o.Items)
			}
		})
	}
}

func TestImport_UnreadableInputIsAnError(t *testing.T) {
	cases := map[string]string{
		"empty":            "",
		"no header":        "A1001,jane@example.com,shipped\n",
		"broken array":     `[{"number": "A1", "email": "a@b.co", "status": "placed"}, {"number": `,
		"duplicate column": "number,email,order_number\nA1,a@b.co,A2\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			e := MustEmbedded(t)
			if _, err := e.Import(context.Background(), strings.NewReader(text), orders.ImportOptions{}); err == nil {
				t.Fatal("Import succeeded")
			}
		})
	}
}

func TestImport_RelativeDatesAndSpreadsheetBOM(t *testing.T) {
	e := MustEmbedded(t)
	MustImport(t, e, "\xef\xbb\xbfNumber,Email,Status,Placed At,ETA\nA1,a@example.com,placed,today-2,today+3\n", orders.ImportOptions{})
	o := MustOrder(t, e, "A1")
	if !o.PlacedAt.Equal(time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)) || !o.EstimatedDelivery.Equal(time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("placed %v eta %v", o.PlacedAt, o.EstimatedDelivery)
	}
}

// bulkCounter is a store that records whether Bulk was used.
type bulkCounter struct {
	*store.DB
	bulks int
}

func (b *bulkCounter) Bulk(ctx context.Context, fn func(bot.Tx) error) error {
	b.bulks++
	return b.DB.Bulk(ctx, fn)
}

func TestImport_LargeFileGoesInBulkBatchesWithProgress(t *testing.T) {
	bc := &bulkCounter{DB: MustOpenStore(t)}
	e := orders.NewEmbedded(bc, func() time.Time { return importNow })
	var b strings.Builder
	b.WriteString("number,email,status\n")
	const n = 2500
	for i := range n {
		fmt.Fprintf(&b, "N%05d,c%d@example.com,placed\n", i, i%700)
	}
	var progress []orders.Progress
	rep := MustImport(t, e, b.String(), orders.ImportOptions{BatchSize: 1000, Progress: func(p orders.Progress) { progress = append(progress, p) }})
	if rep.Added != n {
		t.Fatalf("added %d, want %d", rep.Added, n)
	}
	if bc.bulks != 3 {
		t.Errorf("%d bulk transactions, want 3", bc.bulks)
	}
	if len(progress) != 3 || progress[0].Rows != 1000 || progress[2].Rows != n || progress[2].Bytes != int64(b.Len()) {
		t.Errorf("progress = %+v", progress)
	}
	list, err := e.Orders(context.Background(), "c5@example.com")
	if err != nil || len(list) != 4 { // 5, 705, 1405, 2105
		t.Errorf("Orders(c5) = %d, %v; want 4", len(list), err)
	}
}

func TestImport_SampleFilesAreValid(t *testing.T) {
	for _, name := range []string{"orders.csv", "orders.json"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("..", "examples", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			e := MustEmbedded(t)
			rep, err := e.Import(context.Background(), f, orders.ImportOptions{Format: orders.FormatOf(name)})
			if err != nil || rep.BadCount != 0 || rep.Added == 0 || len(rep.Ignored) != 0 {
				t.Fatalf("report %+v, err %v", rep, err)
			}
		})
	}
}
