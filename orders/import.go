package orders

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Format is an import file format.
type Format string

// Import formats.
const (
	// FormatAuto sniffs the content: JSON when it starts with '[' or '{',
	// CSV otherwise.
	FormatAuto Format = ""
	// FormatCSV is comma-separated values with a header row.
	FormatCSV Format = "csv"
	// FormatJSON is a JSON array of order objects, or one object per line
	// (NDJSON).
	FormatJSON Format = "json"
)

// FormatOf guesses the format from a file name: .csv is CSV; .json,
// .ndjson and .jsonl are JSON; anything else is sniffed.
func FormatOf(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return FormatCSV
	case ".json", ".ndjson", ".jsonl":
		return FormatJSON
	}
	return FormatAuto
}

// ImportOptions tune Import. The zero value works.
type ImportOptions struct {
	// Format of the input. Default: sniffed (FormatAuto).
	Format Format
	// BatchSize is how many orders are stored per transaction. Default 1000.
	BatchSize int
	// Progress, if set, is called after each stored batch, so a command can
	// show progress on large files.
	Progress func(Progress)
	// MaxBadRows is how many bad rows the report lists in full; the rest
	// are only counted. Default 1000.
	MaxBadRows int
}

// Progress is how far an import has got.
type Progress struct {
	// Rows is the number of data rows read so far.
	Rows int
	// Bytes is the number of input bytes read so far (ahead of Rows by
	// the read buffer).
	Bytes int64
}

// RowError is a row that was not imported, and why.
type RowError struct {
	// Line is the 1-based line of the input the row starts on.
	Line int
	// Number is the row's order number, when it had one.
	Number string
	Err    error
}

func (e RowError) Error() string {
	if e.Number != "" {
		return fmt.Sprintf("line %d: order %s: %v", e.Line, e.Number, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// ImportReport is what an import did.
type ImportReport struct {
	// Rows is the number of data rows read (good and bad).
	Rows int
	// Counts are the good rows: added, updated or already up to date.
	Counts
	// Bad lists the first MaxBadRows rows that were not imported.
	Bad []RowError
	// BadCount counts every row not imported.
	BadCount int
	// Ignored are CSV columns that are not order fields.
	Ignored []string
}

// Import reads orders from r and stores the valid ones, in batches,
// creating or updating each by number: importing the same file twice
// changes nothing the second time. Invalid rows are reported with their
// line numbers and skipped. The error is for input that cannot be read at
// all (no usable header, broken JSON array) or a store failure; rows
// stored before it stay stored.
func (e *Embedded) Import(ctx context.Context, r io.Reader, opt ImportOptions) (ImportReport, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	if opt.MaxBadRows <= 0 {
		opt.MaxBadRows = 1000
	}
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3) // a UTF-8 byte order mark, as spreadsheets write
	}
	format := opt.Format
	if format == FormatAuto {
		format = sniff(br)
	}
	im := &importer{e: e, opt: opt, cr: cr}
	var err error
	switch format {
	case FormatCSV:
		err = im.csv(ctx, br)
	case FormatJSON:
		err = im.json(ctx, br)
	default:
		return ImportReport{}, fmt.Errorf("orders: import: unknown format %q (want csv or json)", format)
	}
	if err == nil {
		err = im.flush(ctx)
	}
	if err != nil {
		return im.rep, fmt.Errorf("orders: import: %w", err)
	}
	return im.rep, nil
}

// sniff looks at the first non-space byte.
func sniff(br *bufio.Reader) Format {
	b, _ := br.Peek(512)
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return FormatJSON
	}
	return FormatCSV
}

type importer struct {
	e     *Embedded
	opt   ImportOptions
	cr    *countingReader
	rep   ImportReport
	batch []bot.Order
}

// row validates one record and queues it for storing.
func (im *importer) row(ctx context.Context, line int, rec record) error {
	im.rep.Rows++
	o, err := rec.order(im.e.now())
	if err != nil {
		im.bad(RowError{Line: line, Number: o.Number, Err: err})
		return nil
	}
	im.batch = append(im.batch, o)
	if len(im.batch) >= im.opt.BatchSize {
		return im.flush(ctx)
	}
	return nil
}

func (im *importer) bad(re RowError) {
	im.rep.BadCount++
	if len(im.rep.Bad) < im.opt.MaxBadRows {
		im.rep.Bad = append(im.rep.Bad, re)
	}
}

// flush stores the queued orders in one transaction.
func (im *importer) flush(ctx context.Context) error {
	if len(im.batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := im.e.put(ctx, true, im.batch)
	if err != nil {
		return err
	}
	im.batch = im.batch[:0]
	im.rep.Added += c.Added
	im.rep.Updated += c.Updated
	im.rep.Unchanged += c.Unchanged
	if im.opt.Progress != nil {
		im.opt.Progress(Progress{Rows: im.rep.Rows, Bytes: im.cr.n})
	}
	return nil
}

// csv reads a header row, then one order per record.
func (im *importer) csv(ctx context.Context, r io.Reader) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("the file is empty")
	}
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	cols := make([]string, len(header))
	have := map[string]bool{}
	for i, h := range header {
		cols[i] = canonicalField(h)
		switch {
		case cols[i] == "":
			im.rep.Ignored = append(im.rep.Ignored, h)
		case have[cols[i]]:
			return fmt.Errorf("header: column %q appears twice (as %s)", h, cols[i])
		}
		have[cols[i]] = true
	}
	if !have[fNumber] || !have[fEmail] {
		return fmt.Errorf("header: the first row must name the columns, including number and email (got %q)", strings.Join(header, ","))
	}
	lastErrLine := 0
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			im.rep.Rows++
			im.bad(RowError{Line: pe.StartLine, Err: pe.Err})
			if pe.StartLine == lastErrLine {
				return fmt.Errorf("line %d: %w", pe.StartLine, pe.Err)
			}
			lastErrLine = pe.StartLine
			continue
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		rec := record{fields: make(map[string]string, len(cols))}
		if len(fields) > len(cols) {
			rec.probs = append(rec.probs, fmt.Sprintf("%d fields but the header has %d", len(fields), len(cols)))
		}
		for i, v := range fields {
			if i < len(cols) && cols[i] != "" {
				rec.fields[cols[i]] = v
			}
		}
		if err := im.row(ctx, line, rec); err != nil {
			return err
		}
	}
}

// json reads a JSON array of objects, or one object per line.
func (im *importer) json(ctx context.Context, br *bufio.Reader) error {
	b, _ := br.Peek(512)
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		return im.jsonArray(ctx, br)
	}
	line := 0
	for {
		raw, err := br.ReadBytes('\n')
		if len(raw) > 0 {
			line++
			if t := bytes.TrimSpace(raw); len(t) > 0 {
				if !json.Valid(t) {
					im.rep.Rows++
					im.bad(RowError{Line: line, Err: errors.New("invalid JSON")})
				} else if err := im.row(ctx, line, jsonRecord(t)); err != nil {
					return err
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// jsonArray decodes the array element by element; a syntax error ends the
// import (the rest cannot be found reliably) with its line.
func (im *importer) jsonArray(ctx context.Context, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	lines := lineCounter{data: data, line: 1}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("line 1: %w", err)
	}
	for dec.More() {
		start := int(dec.InputOffset())
		for start < len(data) && strings.IndexByte(" \t\r\n,", data[start]) >= 0 {
			start++
		}
		line := lines.at(start)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("line %d: invalid JSON: %w", line, err)
		}
		if err := im.row(ctx, line, jsonRecord(raw)); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("line %d: invalid JSON: %w", lines.at(int(dec.InputOffset())), err)
	}
	return nil
}

// lineCounter maps increasing byte offsets to 1-based line numbers.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (l *lineCounter) at(off int) int {
	off = min(off, len(l.data))
	if off > l.off {
		l.line += bytes.Count(l.data[l.off:off], []byte("\n"))
		l.off = off
	}
	return l.line
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
