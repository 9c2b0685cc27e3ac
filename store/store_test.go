package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// record is a value with the kinds of fields that could alias storage
// memory if the store handed out bbolt's bytes.
type record struct {
	Name string
	Data []byte
	Tags []string
	N    int
}

// mustOpen opens a store in a fresh temp dir (NoSync: these tests check
// behaviour, not durability) and closes it at cleanup.
func mustOpen(tb testing.TB, cfg Config) *DB {
	tb.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(tb.TempDir(), "data", "frontdesk.db")
		cfg.NoSync = true
	}
	db, err := Open(cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func mustUpdate(tb testing.TB, db *DB, fn func(bot.Tx) error) {
	tb.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

func mustView(tb testing.TB, db *DB, fn func(bot.Tx) error) {
	tb.Helper()
	if err := db.View(context.Background(), fn); err != nil {
		tb.Fatalf("View: %v", err)
	}
}

func mustPut(tb testing.TB, db *DB, bucket, key string, v any) {
	tb.Helper()
	mustUpdate(tb, db, func(tx bot.Tx) error { return tx.Put(bucket, []byte(key), v) })
}

// mustGet returns the record at key and whether it existed.
func mustGet(tb testing.TB, db *DB, bucket, key string) (record, bool) {
	tb.Helper()
	var r record
	var ok bool
	mustView(tb, db, func(tx bot.Tx) error {
		var err error
		ok, err = tx.Get(bucket, []byte(key), &r)
		return err
	})
	return r, ok
}

// mustScan returns the keys Scan visits, stopping after limit (0: all).
// Each value must be a record whose Data is its key.
func mustScan(tb testing.TB, db *DB, bucket, prefix, start string, reverse bool, limit int) []string {
	tb.Helper()
	var keys []string
	fn := func(k []byte, decode func(any) error) (bool, error) {
		var r record
		if err := decode(&r); err != nil {
			return false, err
		}
		if !bytes.Equal(r.Data, k) { // Data, not Name: JSON strings mangle non-UTF-8
			return false, fmt.Errorf("key %q has value %q", k, r.Data)
		}
		keys = append(keys, string(k))
		return limit == 0 || len(keys) < limit, nil
	}
	mustView(tb, db, func(tx bot.Tx) error {
		if reverse {
			return tx.ScanReverse(bucket, []byte(prefix), fn)
		}
		var s []byte
		if start != "" {
			s = []byte(start)
		}
		return tx.Scan(bucket, []byte(prefix), s, fn)
	})
	return keys
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func TestOpen(t *testing.T) {
	t.Run("creates dir 0700, file 0600 and all buckets", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nested", "data")
		path := filepath.Join(dir, "f.db")
		db := mustOpen(t, Config{Path: path, NoSync: true})
		for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s mode = %v, want %v", p, got, want)
			}
		}
		err := db.bolt.View(func(btx *bolt.Tx) error {
			for _, b := range buckets {
				if btx.Bucket([]byte(b)) == nil {
					return fmt.Errorf("bucket %s missing", b)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("data survives close and reopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f.db")
		db := mustOpen(t, Config{Path: path})
		mustPut(t, db, bot.BucketCustomers, "c1", record{Name: "c1", N: 7})
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = mustOpen(t, Config{Path: path})
		got, ok := mustGet(t, db, bot.BucketCustomers, "c1")
		if !ok || got.N != 7 {
			t.Fatalf("after reopen got %+v, %v", got, ok)
		}
	})

	t.Run("second open of a locked file fails within timeout", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f.db")
		mustOpen(t, Config{Path: path, NoSync: true})
		start := time.Now()
		db2, err := Open(Config{Path: path, Timeout: 100 * time.Millisecond})
		if err == nil {
			_ = db2.Close()
			t.Fatal("second Open succeeded")
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("second Open took %s, want about the 100ms timeout", took)
		}
		if !errors.Is(err, ErrLocked) || !errors.Is(err, berrors.ErrTimeout) {
			t.Errorf("err = %v, want ErrLocked wrapping bbolt's timeout", err)
		}
		for _, s := range []string{"store: open " + path, "another frontdesk"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("err %q does not mention %q", err, s)
			}
		}
	})

	t.Run("newer schema is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f.db")
		db := mustOpen(t, Config{Path: path, NoSync: true})
		mustPut(t, db, bot.BucketMeta, schemaKey, SchemaVersion+1)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db2, err := Open(Config{Path: path})
		if err == nil {
			_ = db2.Close()
			t.Fatal("Open of a newer schema succeeded")
		}
		if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "version 2") {
			t.Errorf("err = %v, want ErrNewerSchema naming version 2", err)
		}
		// The refusal must release the lock and leave the file usable by
		// the newer binary.
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("current schema is recorded", func(t *testing.T) {
		db := mustOpen(t, Config{})
		var v int
		mustView(t, db, func(tx bot.Tx) error {
			_, err := tx.Get(bot.BucketMeta, []byte(schemaKey), &v)
			return err
		})
		if v != SchemaVersion {
			t.Errorf("schema version = %d, want %d", v, SchemaVersion)
		}
	})
}

func TestGetPut(t *testing.T) {
	db := mustOpen(t, Config{})
	want := record{Name: "alice", Data: []byte{0, 1, 0xff}, Tags: []string{"vip"}, N: 3}
	mustPut(t, db, bot.BucketCustomers, "alice", want)

	tests := []struct {
		name   string
		bucket string
		key    string
		wantOK bool
	}{
		{"round trip returns what was put", bot.BucketCustomers, "alice", true},
		{"missing key is not found", bot.BucketCustomers, "bob", false},
		{"missing bucket is not found", "no_such_bucket", "alice", false},
		{"empty key is not found", bot.BucketCustomers, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := mustGet(t, db, tt.bucket, tt.key)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if ok && (got.Name != want.Name || !bytes.Equal(got.Data, want.Data) || !slices.Equal(got.Tags, want.Tags) || got.N != want.N) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}

	t.Run("nil value only reports existence", func(t *testing.T) {
		mustView(t, db, func(tx bot.Tx) error {
			ok, err := tx.Get(bot.BucketCustomers, []byte("alice"), nil)
			if !ok || err != nil {
				t.Errorf("Get(nil) = %v, %v", ok, err)
			}
			return nil
		})
	})

	t.Run("undecodable value is an error", func(t *testing.T) {
		mustView(t, db, func(tx bot.Tx) error {
			var n int
			ok, err := tx.Get(bot.BucketCustomers, []byte("alice"), &n)
			if !ok || err == nil || !strings.Contains(err.Error(), "customers") {
				t.Errorf("Get into int = %v, %v; want found with a decode error", ok, err)
			}
			return nil
		})
	})

	t.Run("delete removes and tolerates missing", func(t *testing.T) {
		mustPut(t, db, bot.BucketCustomers, "gone", record{Name: "gone"})
		mustUpdate(t, db, func(tx bot.Tx) error {
			for _, k := range []string{"gone", "never"} {
				if err := tx.Delete(bot.BucketCustomers, []byte(k)); err != nil {
					return err
				}
			}
			return tx.Delete("no_such_bucket", []byte("x"))
		})
		if _, ok := mustGet(t, db, bot.BucketCustomers, "gone"); ok {
			t.Error("deleted key still there")
		}
	})

	t.Run("put creates a new bucket", func(t *testing.T) {
		mustPut(t, db, "feature_x", "k", record{Name: "k"})
		if _, ok := mustGet(t, db, "feature_x", "k"); !ok {
			t.Error("value in new bucket not found")
		}
	})

	t.Run("writes in a view fail", func(t *testing.T) {
		mustView(t, db, func(tx bot.Tx) error {
			for name, err := range map[string]error{
				"put":    tx.Put(bot.BucketCustomers, []byte("x"), 1),
				"delete": tx.Delete(bot.BucketCustomers, []byte("alice")),
				"seq": func() error {
					_, err := tx.NextSequence(bot.BucketCustomers)
					return err
				}(),
			} {
				if !errors.Is(err, berrors.ErrTxNotWritable) {
					t.Errorf("%s in View: err = %v, want ErrTxNotWritable", name, err)
				}
			}
			return nil
		})
	})

	t.Run("unencodable value is an error", func(t *testing.T) {
		err := db.Update(context.Background(), func(tx bot.Tx) error {
			return tx.Put(bot.BucketCustomers, []byte("ch"), make(chan int))
		})
		if err == nil || !strings.Contains(err.Error(), "encode") {
			t.Errorf("err = %v, want an encode error", err)
		}
	})
}

func TestScan(t *testing.T) {
	db := mustOpen(t, Config{})
	keys := []string{"a/1", "a/2", "a/3", "a/4", "ab", "b/1", "b/2", "c\xff", "c\xff\xff", "d"}
	mustUpdate(t, db, func(tx bot.Tx) error {
		for _, k := range slices.Backward(keys) { // insertion order must not matter
			if err := tx.Put(bot.BucketMessages, []byte(k), record{Data: []byte(k)}); err != nil {
				return err
			}
		}
		return nil
	})

	tests := []struct {
		name    string
		prefix  string
		start   string
		reverse bool
		limit   int
		want    []string
	}{
		{"no prefix visits all in order", "", "", false, 0, keys},
		{"prefix visits only its keys in order", "a/", "", false, 0, []string{"a/1", "a/2", "a/3", "a/4"}},
		{"start skips earlier keys", "a/", "a/3", false, 0, []string{"a/3", "a/4"}},
		{"start between keys begins at next", "a/", "a/25", false, 0, []string{"a/3", "a/4"}},
		{"start before prefix begins at prefix", "b/", "a", false, 0, []string{"b/1", "b/2"}},
		{"start past prefix visits nothing", "a/", "b", false, 0, nil},
		{"false from fn stops the scan", "a/", "", false, 2, []string{"a/1", "a/2"}},
		{"missing prefix visits nothing", "zz", "", false, 0, nil},
		{"reverse visits prefix keys backwards", "a/", "", true, 0, []string{"a/4", "a/3", "a/2", "a/1"}},
		{"reverse with no prefix visits all backwards", "", "", true, 0, reversed(keys)},
		{"reverse of last prefix in bucket", "d", "", true, 0, []string{"d"}},
		{"reverse of 0xff prefix", "c\xff", "", true, 0, []string{"c\xff\xff", "c\xff"}},
		{"reverse stops when fn returns false", "b/", "", true, 1, []string{"b/2"}},
		{"reverse of missing prefix visits nothing", "bb", "", true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustScan(t, db, bot.BucketMessages, tt.prefix, tt.start, tt.reverse, tt.limit)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("missing bucket scans empty", func(t *testing.T) {
		for _, rev := range []bool{false, true} {
			if got := mustScan(t, db, "no_such_bucket", "", "", rev, 0); len(got) != 0 {
				t.Errorf("reverse=%v: got %q", rev, got)
			}
		}
	})

	t.Run("fn error stops the scan and is returned", func(t *testing.T) {
		boom := errors.New("boom")
		calls := 0
		err := db.View(context.Background(), func(tx bot.Tx) error {
			return tx.Scan(bot.BucketMessages, nil, nil, func([]byte, func(any) error) (bool, error) {
				calls++
				return true, boom
			})
		})
		if !errors.Is(err, boom) || calls != 1 {
			t.Errorf("err = %v after %d calls, want boom after 1", err, calls)
		}
	})

	t.Run("decode after fn returned fails", func(t *testing.T) {
		var late func(any) error
		mustView(t, db, func(tx bot.Tx) error {
			return tx.Scan(bot.BucketMessages, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
				late = decode
				return false, nil
			})
		})
		var r record
		if err := late(&r); !errors.Is(err, errDecodeLate) {
			t.Errorf("late decode err = %v", err)
		}
	})
}

func TestNextSequence(t *testing.T) {
	db := mustOpen(t, Config{})
	var got []uint64
	for range 3 {
		mustUpdate(t, db, func(tx bot.Tx) error {
			for _, b := range []string{bot.BucketMessages, bot.BucketContacts, "new_bucket"} {
				n, err := tx.NextSequence(b)
				if err != nil {
					return err
				}
				got = append(got, n)
			}
			return nil
		})
	}
	want := []uint64{1, 1, 1, 2, 2, 2, 3, 3, 3} // each bucket counts on its own
	if !slices.Equal(got, want) {
		t.Errorf("sequences = %v, want %v", got, want)
	}
}

func TestReturnedMemoryIsCallers(t *testing.T) {
	db := mustOpen(t, Config{})
	for i := range 100 {
		k := fmt.Sprintf("k%03d", i)
		mustPut(t, db, bot.BucketMessages, k, record{Name: k, Data: []byte(k)})
	}
	var kept []byte
	var keys [][]byte
	var got record
	mustView(t, db, func(tx bot.Tx) error {
		if _, err := tx.Get(bot.BucketMessages, []byte("k000"), &got); err != nil {
			return err
		}
		return tx.Scan(bot.BucketMessages, nil, nil, func(k []byte, _ func(any) error) (bool, error) {
			keys = append(keys, k)
			return true, nil
		})
	})
	kept = bytes.Clone(got.Data)

	// Overwrite, delete and grow the file well past its mmap so any slice
	// still pointing at bbolt's memory would change or fault.
	big := strings.Repeat("x", 64<<10)
	mustUpdate(t, db, func(tx bot.Tx) error {
		for i := range 100 {
			k := fmt.Sprintf("k%03d", i)
			if err := tx.Put(bot.BucketMessages, []byte(k), record{Name: "changed", Data: []byte("zzzz")}); err != nil {
				return err
			}
		}
		for i := range 32 {
			if err := tx.Put("filler", []byte(fmt.Sprint(i)), big); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, db, func(tx bot.Tx) error { return tx.Delete(bot.BucketMessages, []byte("k000")) })

	t.Run("value from get is unchanged by later writes", func(t *testing.T) {
		if got.Name != "k000" || !bytes.Equal(got.Data, kept) {
			t.Errorf("held value changed to %+v", got)
		}
	})
	t.Run("scan keys are unchanged by later writes", func(t *testing.T) {
		for i, k := range keys {
			if want := fmt.Sprintf("k%03d", i); string(k) != want {
				t.Fatalf("key %d = %q, want %q", i, k, want)
			}
		}
	})
	t.Run("mutating a held value does not change the store", func(t *testing.T) {
		var r record
		mustView(t, db, func(tx bot.Tx) error {
			_, err := tx.Get(bot.BucketMessages, []byte("k001"), &r)
			return err
		})
		r.Data[0] = 'Q'
		if again, _ := mustGet(t, db, bot.BucketMessages, "k001"); string(again.Data) != "zzzz" {
			t.Errorf("stored value changed to %q", again.Data)
		}
	})
	t.Run("tx used after fn returned fails cleanly", func(t *testing.T) {
		var leaked bot.Tx
		mustView(t, db, func(tx bot.Tx) error { leaked = tx; return nil })
		if _, err := leaked.Get(bot.BucketMessages, []byte("k001"), nil); !errors.Is(err, berrors.ErrTxClosed) {
			t.Errorf("Get on ended tx: err = %v, want ErrTxClosed", err)
		}
	})
}

func TestUpdate(t *testing.T) {
	t.Run("error rolls back every write", func(t *testing.T) {
		db := mustOpen(t, Config{})
		boom := errors.New("boom")
		err := db.Update(context.Background(), func(tx bot.Tx) error {
			if err := tx.Put(bot.BucketCustomers, []byte("x"), record{Name: "x"}); err != nil {
				return err
			}
			if _, err := tx.NextSequence(bot.BucketCustomers); err != nil {
				return err
			}
			return boom
		})
		if err != boom { // fn's error comes back as is, unwrapped
			t.Fatalf("err = %v, want boom", err)
		}
		if _, ok := mustGet(t, db, bot.BucketCustomers, "x"); ok {
			t.Error("write from failed Update was kept")
		}
		mustUpdate(t, db, func(tx bot.Tx) error {
			if n, err := tx.NextSequence(bot.BucketCustomers); n != 1 || err != nil {
				t.Errorf("sequence after rollback = %d, %v; want 1", n, err)
			}
			return nil
		})
		if s := db.Stats(); s.Failed != 1 {
			t.Errorf("Stats.Failed = %d, want 1", s.Failed)
		}
	})

	t.Run("concurrent updates all land in fewer commits", func(t *testing.T) {
		var commits []time.Duration
		var mu sync.Mutex
		db := mustOpen(t, Config{
			Path: filepath.Join(t.TempDir(), "f.db"), // fsync on: the real thing
			OnCommit: func(d time.Duration) {
				mu.Lock()
				commits = append(commits, d)
				mu.Unlock()
			},
		})
		const writers = 200
		boom := errors.New("boom")
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() {
				errs[i] = db.Update(context.Background(), func(tx bot.Tx) error {
					key := binary.BigEndian.AppendUint64(nil, uint64(i))
					if err := tx.Put(bot.BucketMessages, key, record{N: i}); err != nil {
						return err
					}
					if i%10 == 9 { // a few failures must not sink their batch
						return boom
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if wantErr := i%10 == 9; (err != nil) != wantErr || (wantErr && err != boom) {
				t.Errorf("writer %d: err = %v", i, err)
			}
		}
		var n int
		mustView(t, db, func(tx bot.Tx) error {
			return tx.Scan(bot.BucketMessages, nil, nil, func(k []byte, decode func(any) error) (bool, error) {
				var r record
				if err := decode(&r); err != nil {
					return false, err
				}
				if int(binary.BigEndian.Uint64(k)) != r.N || r.N%10 == 9 {
					t.Errorf("unexpected record %x -> %+v", k, r)
				}
				n++
				return true, nil
			})
		})
		const landed = writers - writers/10
		if n != landed {
			t.Errorf("%d records landed, want %d", n, landed)
		}
		s := db.Stats()
		if s.Updates != landed || s.Failed != writers/10 {
			t.Errorf("Stats updates/failed = %d/%d, want %d/%d", s.Updates, s.Failed, landed, writers/10)
		}
		if s.Commits == 0 || s.Commits >= s.Updates {
			t.Errorf("Stats.Commits = %d for %d updates; want group commit to share commits", s.Commits, s.Updates)
		}
		if len(commits) != landed {
			t.Errorf("OnCommit called %d times, want %d", len(commits), landed)
		}
		t.Logf("%d updates in %d commits", s.Updates, s.Commits)
	})

	t.Run("bulk writes in one transaction", func(t *testing.T) {
		db := mustOpen(t, Config{})
		mustPut(t, db, bot.BucketContacts, "before", record{Name: "before"})
		before := db.Stats().Commits
		err := db.Bulk(context.Background(), func(tx bot.Tx) error {
			for i := range 1000 {
				k := fmt.Sprintf("c%04d", i)
				if err := tx.Put(bot.BucketContacts, []byte(k), record{Data: []byte(k)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustScan(t, db, bot.BucketContacts, "c", "", false, 0); len(got) != 1000 {
			t.Errorf("scanned %d contacts, want 1000", len(got))
		}
		if d := db.Stats().Commits - before; d != 1 {
			t.Errorf("bulk took %d commits, want 1", d)
		}
	})

	t.Run("panic in fn reaches the caller and writes nothing", func(t *testing.T) {
		db := mustOpen(t, Config{})
		func() {
			defer func() {
				if r := recover(); r != "kaboom" {
					t.Errorf("recovered %v, want kaboom", r)
				}
			}()
			_ = db.Update(context.Background(), func(tx bot.Tx) error {
				_ = tx.Put(bot.BucketCustomers, []byte("p"), 1)
				panic("kaboom")
			})
		}()
		if _, ok := mustGet(t, db, bot.BucketCustomers, "p"); ok {
			t.Error("write from panicking Update was kept")
		}
		mustPut(t, db, bot.BucketCustomers, "q", 1) // the store still works
	})

	t.Run("after close fails with a store error", func(t *testing.T) {
		db := mustOpen(t, Config{})
		_ = db.Close()
		err := db.Update(context.Background(), func(bot.Tx) error { return nil })
		if !errors.Is(err, berrors.ErrDatabaseNotOpen) || !strings.HasPrefix(err.Error(), "store: update") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestCancelledContext(t *testing.T) {
	db := mustOpen(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ops := map[string]func(context.Context, func(bot.Tx) error) error{
		"view": db.View, "update": db.Update, "bulk": db.Bulk,
	}
	for name, op := range ops {
		t.Run(name+" is refused without running fn", func(t *testing.T) {
			ran := false
			err := op(ctx, func(bot.Tx) error { ran = true; return nil })
			if !errors.Is(err, context.Canceled) || ran {
				t.Errorf("err = %v, ran = %v", err, ran)
			}
		})
	}

	t.Run("long scan stops after cancel", func(t *testing.T) {
		mustUpdate(t, db, func(tx bot.Tx) error {
			for i := range 2 * ctxCheckEvery {
				if err := tx.Put(bot.BucketMessages, []byte(fmt.Sprintf("%04d", i)), i); err != nil {
					return err
				}
			}
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		seen := 0
		err := db.View(ctx, func(tx bot.Tx) error {
			return tx.Scan(bot.BucketMessages, nil, nil, func([]byte, func(any) error) (bool, error) {
				seen++
				cancel()
				return true, nil
			})
		})
		if !errors.Is(err, context.Canceled) || seen >= 2*ctxCheckEvery {
			t.Errorf("err = %v after %d keys", err, seen)
		}
	})
}

func TestBackup(t *testing.T) {
	db := mustOpen(t, Config{})
	mustPut(t, db, bot.BucketCustomers, "c1", record{Name: "c1", N: 42})

	t.Run("writer gets the whole file", func(t *testing.T) {
		var buf bytes.Buffer
		n, err := db.Backup(&buf)
		if err != nil || n != int64(buf.Len()) || n == 0 {
			t.Errorf("Backup = %d, %v; buffer has %d bytes", n, err, buf.Len())
		}
	})

	t.Run("file opens and has the data", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "backups")
		path := filepath.Join(dir, "b.db")
		for range 2 { // the second run replaces the first
			if err := db.BackupFile(path); err != nil {
				t.Fatal(err)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Errorf("backup dir has %d entries, want only the backup (no temp files left)", len(entries))
		}
		b := mustOpen(t, Config{Path: path, NoSync: true})
		if got, ok := mustGet(t, b, bot.BucketCustomers, "c1"); !ok || got.N != 42 {
			t.Errorf("backup has %+v, %v", got, ok)
		}
	})

	t.Run("failure leaves no file behind", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "sub") // a directory: rename over it fails
		if err := os.Mkdir(target, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(target, "x"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := db.BackupFile(target); err == nil {
			t.Fatal("BackupFile over a non-empty directory succeeded")
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("dir has %d entries after failed backup, want 1", len(entries))
		}
	})
}
