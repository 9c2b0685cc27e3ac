// Package store is Frontdesk's durable storage: a bot.Store over a single
// bbolt file. It is the only package that owns a *bbolt.DB.
//
// The store is deliberately generic. It knows about named buckets of
// JSON-encoded values and nothing about customers or conversations: the
// domain (package bot) builds its own keys so they sort the way it needs.
//
// Writes are group-committed (commit.go), so many concurrent writers share
// one fsync. The price is that an Update's fn may run more than once; see
// DB.Update.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultPath    = "data/frontdesk.db"
	DefaultTimeout = 2 * time.Second
)

// SchemaVersion is the on-disk layout this build writes. Open refuses files
// with a higher version: an older binary must not scribble over data it
// does not understand (for example after a rollback of a deploy).
const SchemaVersion = 1

// schemaKey holds the schema version in bot.BucketMeta. It is namespaced so
// it cannot collide with the domain's own meta keys.
const schemaKey = "store.schema_version"

// Errors Open can return, for errors.Is.
var (
	// ErrLocked means another process holds the file lock. bbolt only
	// reports a bare timeout, which says nothing useful to an operator.
	ErrLocked = errors.New("database file is locked by another process; another frontdesk may be running with the same data file")

	// ErrNewerSchema means the file was written by a newer frontdesk.
	ErrNewerSchema = errors.New("database schema is newer than this frontdesk supports")
)

// buckets are created at Open so a fresh file has the full layout and read
// transactions never see a half-created set. Buckets added later by other
// features are created on their first Put instead.
var buckets = []string{
	bot.BucketCustomers,
	bot.BucketIdentities,
	bot.BucketConversations,
	bot.BucketConvKeys,
	bot.BucketMessages,
	bot.BucketClientIDs,
	bot.BucketContacts,
	bot.BucketTransitions,
	bot.BucketMeta,
}

// Config configures Open. The zero value opens DefaultPath with defaults.
type Config struct {
	// Path is the database file. Default DefaultPath ("data/frontdesk.db").
	// Its directory is created (0700) if missing; the file is 0600.
	Path string

	// Timeout is how long Open waits for the file lock held by another
	// process. Default DefaultTimeout (2s); negative means do not wait.
	// There is no "wait forever": a service should fail loudly instead.
	Timeout time.Duration

	// NoSync skips fsync on commit. Default false. Only for tests and
	// benchmarks: a crash can lose or corrupt committed data.
	NoSync bool

	// MaxBatchDelay is ignored: it was how long an Update waited for
	// others to share its commit. Updates now share a commit with every
	// Update that queued while the previous commit was written, with no
	// timer (see commit.go), so a lone Update commits at once.
	MaxBatchDelay time.Duration

	// MaxBatchSize caps how many Updates share one commit. Default 1000.
	MaxBatchSize int

	// Logger receives open/close/backup events. Default discards.
	// It is not handed to bbolt, which logs every Put at debug level and
	// would put that cost on the write path.
	Logger *slog.Logger

	// OnCommit, if set, is called after each Update or Bulk that committed
	// (returned nil) with its wall time, including the wait for a batch.
	// Default nil. Meant for a latency histogram; it runs on the caller's
	// goroutine, so keep it cheap.
	OnCommit func(d time.Duration)
}

// DB is a bbolt-backed bot.Store. It is safe for concurrent use.
type DB struct {
	bolt     *bolt.DB
	path     string
	log      *slog.Logger
	onCommit func(time.Duration)

	// Group commit (commit.go): queued calls and whether the committer
	// goroutine is running.
	maxBatch   int
	cmu        sync.Mutex
	queue      []*call
	committing bool

	// Counters for Stats. lastTx dedups commit counting: the batch runs
	// many fns in one bbolt tx and we want to count the tx once.
	updates     atomic.Int64
	failed      atomic.Int64
	updateNanos atomic.Int64
	commits     atomic.Int64
	lastTx      atomic.Pointer[bolt.Tx]
}

var _ bot.Store = (*DB)(nil)

// Open opens (creating if needed) the database at cfg.Path, creates the
// domain's buckets and checks the schema version.
func Open(cfg Config) (*DB, error) {
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	path := cfg.Path
	fail := func(err error) (*DB, error) {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	start := time.Now()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fail(err)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: cfg.Timeout,
		NoSync:  cfg.NoSync,
		// Not writing the freelist makes every commit smaller (it grows
		// with the file); Open rebuilds it by scanning the pages instead.
		// Durability is unchanged: the freelist is derived data. etcd runs
		// bbolt this way.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return fail(fmt.Errorf("%w (waited %s): %w", ErrLocked, max(cfg.Timeout, 0), err))
	}
	if err != nil {
		return fail(err)
	}

	var version int
	if err := bdb.Update(func(btx *bolt.Tx) error {
		var err error
		version, err = initSchema(btx)
		return err
	}); err != nil {
		_ = bdb.Close()
		return fail(err)
	}

	db := &DB{bolt: bdb, path: path, log: cfg.Logger, onCommit: cfg.OnCommit, maxBatch: defaultMaxBatch}
	if cfg.MaxBatchSize > 0 {
		db.maxBatch = cfg.MaxBatchSize
	}
	db.log.Info("store opened", "path", path, "schema", version,
		"nosync", cfg.NoSync, "took", time.Since(start))
	return db, nil
}

// initSchema creates the buckets and records or checks the schema version.
// It runs in Open's single write transaction, so a crash leaves either a
// fully initialised file or an empty one.
func initSchema(btx *bolt.Tx) (int, error) {
	for _, name := range buckets {
		if _, err := btx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return 0, fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := btx.Bucket([]byte(bot.BucketMeta))
	raw := meta.Get([]byte(schemaKey))
	if raw == nil {
		// New file (there were no files before versioning existed).
		data, err := json.Marshal(SchemaVersion)
		if err != nil {
			return 0, err
		}
		return SchemaVersion, meta.Put([]byte(schemaKey), data)
	}
	var v int
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("read %s/%s: %w", bot.BucketMeta, schemaKey, err)
	}
	if v > SchemaVersion {
		return 0, fmt.Errorf("%w: file has version %d, this build supports up to %d; upgrade frontdesk or restore a backup",
			ErrNewerSchema, v, SchemaVersion)
	}
	// v < SchemaVersion: future migrations go here, in this transaction.
	return v, nil
}

// Close waits for open transactions to finish and closes the file, which
// releases the lock for the next process. Updates after Close fail.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	db.log.Info("store closed", "path", db.path)
	return nil
}

// View runs fn in a read-only transaction that sees a consistent snapshot.
//
// It returns ctx.Err() without running fn if ctx is already done. bbolt
// transactions cannot be interrupted, but Scan checks ctx as it goes, so a
// long scan stops soon after cancellation. fn's error is returned as is.
// fn must not use the Tx after returning or from other goroutines, and must
// not call back into db (a View inside an Update can deadlock bbolt).
func (db *DB) View(ctx context.Context, fn func(bot.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnFailed bool
	err := db.bolt.View(func(btx *bolt.Tx) error {
		err := runTx(ctx, btx, fn)
		fnFailed = err != nil
		return err
	})
	if err != nil && !fnFailed {
		return fmt.Errorf("store: view: %w", err)
	}
	return err
}

// Update runs fn in a writable transaction and returns once it is durably
// committed (fsynced unless Config.NoSync).
//
// Concurrent Updates are grouped into one bbolt transaction and one fsync
// (commit.go). Because of that fn may run more than once: if any fn
// in the group fails the group is retried without it, and a failing fn is
// re-run alone to get its own error. So fn must have no effects outside the
// Tx, and results it computes should be assigned, not appended. Writes made
// by fn are all-or-nothing: if fn returns an error nothing it wrote is kept.
// A lone Update commits at once; under load an Update waits for the commit
// in progress and then shares the next one with every Update that queued
// meanwhile.
//
// ctx is checked before queueing and again each time fn is about to run; a
// cancelled Update returns ctx.Err() and writes nothing. A cancel that
// comes after fn ran usually lets the commit go ahead; the returned error
// says which happened. fn's error is returned as is.
// fn must not call back into db: nested transactions deadlock.
func (db *DB) Update(ctx context.Context, fn func(bot.Tx) error) error {
	return db.write(ctx, "update", db.batch, fn)
}

// Bulk is Update for large loads such as imports: fn runs exactly once in
// its own transaction instead of a shared batch, so a big load neither
// delays nor is retried because of other writers. It blocks other writers
// while it runs; keep it for loads, not request handling.
func (db *DB) Bulk(ctx context.Context, fn func(bot.Tx) error) error {
	return db.write(ctx, "bulk", db.bolt.Update, fn)
}

func (db *DB) write(ctx context.Context, op string, run func(func(*bolt.Tx) error) error, fn func(bot.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	var fnFailed bool // from the last run of fn; tells fn errors from bbolt's
	err := run(func(btx *bolt.Tx) error {
		db.countCommit(btx)
		err := ctx.Err()
		if err == nil {
			err = runTx(ctx, btx, fn)
		}
		fnFailed = err != nil
		return err
	})
	d := time.Since(start)
	if err != nil {
		db.failed.Add(1)
		if !fnFailed {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		return err
	}
	db.updates.Add(1)
	db.updateNanos.Add(int64(d))
	if db.onCommit != nil {
		db.onCommit(d)
	}
	return nil
}

// countCommit arranges for the commit of btx to be counted once, however
// many batched fns share it. Write transactions are serialised by bbolt, and
// lastTx keeps the previous one alive, so its address cannot be reused.
func (db *DB) countCommit(btx *bolt.Tx) {
	if db.lastTx.Swap(btx) != btx {
		btx.OnCommit(func() { db.commits.Add(1) })
	}
}

// runTx runs fn with a Tx wrapper that refuses use after fn returns, so a
// Tx leaked into a goroutine fails with an error instead of reading
// unmapped memory.
func runTx(ctx context.Context, btx *bolt.Tx, fn func(bot.Tx) error) error {
	t := &tx{ctx: ctx, btx: btx}
	defer func() { t.done = true }()
	return fn(t)
}

// Backup writes a consistent snapshot of the whole database to w and
// returns the bytes written. It runs in a read transaction, so writers
// continue meanwhile; but a writer that must grow the file waits for it, so
// do not back up to a writer that can stall for long.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// BackupFile writes a snapshot to path via a temporary file in the same
// directory, fsynced and then renamed over path, so path always holds
// either the previous backup or a complete new one, never a partial one.
// The result is a normal database file that Open accepts.
func (db *DB) BackupFile(path string) (err error) {
	start := time.Now()
	defer func() {
		if err != nil {
			err = fmt.Errorf("store: backup to %s: %w", path, err)
		}
	}()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	n, err := db.Backup(f)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable. The backup is already complete on
	// disk, so failure here (e.g. platforms without directory fsync) is
	// only worth a warning.
	if err := syncDir(dir); err != nil {
		db.log.Warn("store: backup: sync directory", "dir", dir, "err", err)
	}
	db.log.Info("store backup written", "path", path, "bytes", n, "took", time.Since(start))
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Stats are cumulative counters since Open, for metrics. Take two and
// subtract for rates.
type Stats struct {
	Updates    int64         // Update and Bulk calls that committed
	Failed     int64         // Update and Bulk calls that returned an error
	UpdateTime time.Duration // total wall time of committed Updates, batch wait included

	// Commits counts bbolt write transactions committed (one fsync each
	// unless NoSync). Updates/Commits is the average group-commit size.
	Commits int64

	ReadTxs     int // read transactions started (View, Backup)
	OpenReadTxs int // read transactions open now

	DiskWrites    int64         // page writes by bbolt
	DiskWriteTime time.Duration // time bbolt spent writing and fsyncing commits
}

// Stats returns the counters.
func (db *DB) Stats() Stats {
	bs := db.bolt.Stats()
	return Stats{
		Updates:       db.updates.Load(),
		Failed:        db.failed.Load(),
		UpdateTime:    time.Duration(db.updateNanos.Load()),
		Commits:       db.commits.Load(),
		ReadTxs:       bs.TxN,
		OpenReadTxs:   bs.OpenTxN,
		DiskWrites:    bs.TxStats.GetWrite(),
		DiskWriteTime: bs.TxStats.GetWriteTime(),
	}
}
