package orders_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot/bottest"
	"github.com/frontdesk-chat/frontdesk/orders"
)

// FuzzImport feeds arbitrary files to the order import: it must never
// panic, must account for every row (stored or reported bad, bad rows
// listed up to the limit), and importing the same file again must add
// nothing. Seeds: the example files, plus testdata/fuzz/FuzzImport.
func FuzzImport(f *testing.F) {
	for _, name := range []string{"orders.csv", "orders.json"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(1))
		f.Add(b, uint8(2))
	}
	f.Add([]byte("number,email\nA1,a@b.example\nA1,c@d.example\n"), uint8(1))
	f.Add([]byte("{\"number\":\"A9\",\"email\":\"x@y.example\",\"items\":\"Hat x 2\"}\n{\"number\":\"A9\"}\n"), uint8(2))

	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	formats := []orders.Format{orders.FormatAuto, orders.FormatCSV, orders.FormatJSON}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		if len(data) > 64<<10 {
			return // big inputs only slow the fuzzer; sizes are tested elsewhere
		}
		e := orders.NewEmbedded(bottest.NewMemStore(), func() time.Time { return now })
		opt := orders.ImportOptions{Format: formats[int(format)%len(formats)], BatchSize: 3, MaxBadRows: 4}
		ctx := context.Background()
		rep, err := e.Import(ctx, bytes.NewReader(data), opt)
		if err != nil {
			return // unreadable input is allowed to fail, as long as it does not panic
		}
		if good := rep.Added + rep.Updated + rep.Unchanged; good+rep.BadCount != rep.Rows {
			t.Fatalf("rows %d != %d stored + %d bad", rep.Rows, good, rep.BadCount)
		}
		if len(rep.Bad) > opt.MaxBadRows || len(rep.Bad) > rep.BadCount {
			t.Fatalf("%d bad rows listed, %d counted, limit %d", len(rep.Bad), rep.BadCount, opt.MaxBadRows)
		}
		for _, b := range rep.Bad {
			if b.Line < 1 || b.Err == nil {
				t.Fatalf("bad row without a line or reason: %+v", b)
			}
		}
		again, err := e.Import(ctx, bytes.NewReader(data), opt)
		if err != nil {
			t.Fatalf("second import of an input that imported: %v", err)
		}
		if again.Added != 0 || again.Rows != rep.Rows || again.BadCount != rep.BadCount {
			t.Fatalf("second import %+v differs from the first %+v", again, rep)
		}
		if rep.Updated == 0 && again.Updated != 0 {
			t.Fatalf("second import updated %d orders the first left alone", again.Updated)
		}
	})
}
