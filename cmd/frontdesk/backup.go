package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/store"
)

// Backups. A running server holds an exclusive lock on its database file
// (bbolt's flock), and even a read-only open takes a shared lock that
// conflicts with it, so a live database can only be copied by the process
// that has it open. Hence two ways:
//
//   - live: the server serves GET /admin/backup (when FRONTDESK_ADMIN_TOKEN
//     is set), a consistent snapshot taken in one read transaction while
//     writers carry on; "frontdesk backup --url" fetches it;
//   - stopped: "frontdesk backup" opens the file itself.
//
// Either way the copy is written to a temporary file, fsynced, checked by
// opening it as a database, and only then renamed over FILE.

func init() {
	commands["backup"] = command{"copy the database, live (--url) or stopped, to a file", runBackup}
	plugins = append(plugins, plugin{name: "backup", open: openBackup})
}

// adminTokenEnv names the secret that guards /admin/backup.
const adminTokenEnv = "FRONTDESK_ADMIN_TOKEN"

// backupPath is the route of the live backup.
const backupPath = "/admin/backup"

// backupTrailer is an HTTP trailer holding the size of a complete live
// backup; the body's length is not known before the snapshot is written.
const backupTrailer = "X-Frontdesk-Backup-Bytes"

func openBackup(_ context.Context, m *Main, mux *http.ServeMux) (func(context.Context) error, error) {
	token := m.Getenv(adminTokenEnv)
	if token == "" {
		return nil, nil // no token, no route: never an unauthenticated dump
	}
	want := []byte("Bearer " + token)
	mux.HandleFunc("GET "+backupPath, func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="frontdesk admin"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="frontdesk.db"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Trailer", backupTrailer)
		start := time.Now()
		n, err := m.DB.Backup(w)
		if err != nil {
			// The status is sent already: the missing trailer tells the
			// client the copy is incomplete.
			m.Logger.Error("backup", "err", err, "bytes", n)
			return
		}
		w.Header().Set(backupTrailer, strconv.FormatInt(n, 10))
		m.Logger.Info("backup served", "bytes", n, "took", time.Since(start), "remote", r.RemoteAddr)
	})
	return nil, nil
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	data := dataFlag(fs)
	server := fs.String("url", env("FRONTDESK_URL"), "base URL of the running server to copy from, e.g. http://127.0.0.1:8080 (env FRONTDESK_URL; needs "+adminTokenEnv+")")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: frontdesk backup FILE [--url URL | --data DIR]")
		fmt.Fprintln(stderr, "\nCopies the database to FILE, consistently. With --url, from the running server")
		fmt.Fprintln(stderr, "(GET "+backupPath+", token in "+adminTokenEnv+"); otherwise from --data, which")
		fmt.Fprintln(stderr, "only works while no server has it open.")
		fs.PrintDefaults()
	}
	// FILE may come before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("backup: unexpected argument %q", fs.Arg(0))}
	}
	if file == "" {
		return usageError{"backup: which file? usage: frontdesk backup FILE [--url URL | --data DIR]"}
	}
	start := time.Now()
	var n int64
	var err error
	if *server != "" {
		n, err = backupFromServer(ctx, *server, env(adminTokenEnv), file)
	} else {
		n, err = backupFromFile(filepath.Join(*data, "frontdesk.db"), file)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes, %s)\n", file, n, time.Since(start).Round(time.Millisecond))
	return nil
}

// backupFromFile copies a database no server has open.
func backupFromFile(dbPath, file string) (int64, error) {
	if same(dbPath, file) {
		return 0, fmt.Errorf("backup: %s is the database itself", file)
	}
	if _, err := os.Stat(dbPath); err != nil {
		return 0, fmt.Errorf("backup: no database at %s (use --data DIR): %w", dbPath, err)
	}
	db, err := store.Open(store.Config{Path: dbPath, Timeout: 500 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return 0, fmt.Errorf("backup: %s is open in a running server; copy it live with --url http://HOST:PORT and %s set: %w", dbPath, adminTokenEnv, err)
	}
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	if err := db.BackupFile(file); err != nil {
		return 0, err
	}
	fi, err := os.Stat(file)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// backupFromServer fetches a live snapshot into a temporary file next to
// file, checks it opens as a database, and renames it into place.
func backupFromServer(ctx context.Context, base, token, file string) (n int64, err error) {
	if token == "" {
		return 0, fmt.Errorf("backup: --url needs the server's admin token in %s", adminTokenEnv)
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + backupPath)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return 0, fmt.Errorf("backup: bad --url %q: want http(s)://host:port", base)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return 0, fmt.Errorf("backup: the server refused the token in %s (HTTP 401)", adminTokenEnv)
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return 0, fmt.Errorf("backup: the server has no %s: start it with %s set", backupPath, adminTokenEnv)
	default:
		return 0, fmt.Errorf("backup: GET %s: %s", u.Redacted(), resp.Status)
	}

	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp-*") // 0600
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if n, err = io.Copy(f, resp.Body); err != nil {
		return n, fmt.Errorf("backup: download: %w", err)
	}
	if got := resp.Trailer.Get(backupTrailer); got != strconv.FormatInt(n, 10) {
		return n, fmt.Errorf("backup: download incomplete: got %d bytes, the server wrote %q (see its log)", n, got)
	}
	if err = f.Sync(); err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	if err = f.Close(); err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	if err = checkDatabase(ctx, tmp); err != nil {
		return n, fmt.Errorf("backup: the copy does not open as a database (%w); nothing was replaced", err)
	}
	if err = os.Rename(tmp, file); err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; the copy itself already is
		_ = d.Close()
	}
	return n, nil
}

// checkDatabase opens path as a Frontdesk database and reads it. A short
// or corrupt copy fails here: bbolt checks the meta pages' checksums.
func checkDatabase(ctx context.Context, path string) error {
	db, err := store.Open(store.Config{Path: path, Timeout: -1})
	if err != nil {
		return err
	}
	err = db.View(ctx, func(tx bot.Tx) error {
		var v int
		_, err := tx.Get(bot.BucketMeta, []byte("store.schema_version"), &v)
		return err
	})
	return errors.Join(err, db.Close())
}

// same reports whether two paths name the same file.
func same(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	aa, _ := filepath.Abs(a)
	bb, _ := filepath.Abs(b)
	return aa == bb
}
