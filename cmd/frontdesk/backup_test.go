package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/store"
)

// withEnv replaces the command-line environment for one test.
func withEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	old := env
	env = func(k string) string { return vars[k] }
	t.Cleanup(func() { env = old })
}

// MustCountMessages opens a database file and counts its messages.
func MustCountMessages(tb testing.TB, path string) int {
	tb.Helper()
	db, err := store.Open(store.Config{Path: path, Timeout: -1})
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	n := 0
	err = db.View(context.Background(), func(tx bot.Tx) error {
		return tx.Scan(bot.BucketMessages, nil, nil, func([]byte, func(any) error) (bool, error) { n++; return true, nil })
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestBackup_LiveServerOverHTTP(t *testing.T) {
	const token = "admin-secret-for-test"
	dir := t.TempDir()
	m := MustServe(t, dir, func(m *Main) {
		m.Getenv = func(k string) string { return map[string]string{adminTokenEnv: token}[k] }
	})
	c := MustDial(t, m, newVisitor())
	c.MustAsk("m1", "how much is delivery?")
	c.MustAsk("m2", "where are you based?")
	file := filepath.Join(t.TempDir(), "copy", "backup.db")

	t.Run("copies the live database", func(t *testing.T) {
		withEnv(t, map[string]string{adminTokenEnv: token})
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{"backup", file, "--url", m.URL()}, &out, &errOut); err != nil {
			t.Fatalf("backup: %v\n%s", err, errOut.String())
		}
		if n := MustCountMessages(t, file); n != 4 {
			t.Errorf("backup holds %d messages, want 4 (2 questions, 2 answers)", n)
		}
	})
	t.Run("the server keeps serving meanwhile", func(t *testing.T) {
		c.MustAsk("m3", "what do you sell?")
	})
	for _, tt := range []struct {
		name, token, want string
	}{
		{"no token is refused before asking", "", adminTokenEnv},
		{"wrong token is refused by the server", "nope", "401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			withEnv(t, map[string]string{adminTokenEnv: tt.token})
			bad := filepath.Join(t.TempDir(), "bad.db")
			err := run(context.Background(), []string{"backup", bad, "--url", m.URL()}, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
			if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(bad), "*")); len(matches) != 0 {
				t.Errorf("left files behind: %v", matches)
			}
		})
	}
	t.Run("the file of a running server is refused with a hint", func(t *testing.T) {
		withEnv(t, map[string]string{})
		err := run(context.Background(), []string{"backup", filepath.Join(t.TempDir(), "x.db"), "--data", dir}, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "--url") {
			t.Fatalf("err = %v, want a hint to use --url", err)
		}
	})
	t.Run("a stopped server's file is copied directly", func(t *testing.T) {
		MustStop(t, m)
		withEnv(t, map[string]string{})
		stopped := filepath.Join(t.TempDir(), "stopped.db")
		if err := run(context.Background(), []string{"backup", stopped, "--data", dir}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatalf("backup: %v", err)
		}
		if n := MustCountMessages(t, stopped); n != 6 {
			t.Errorf("backup holds %d messages, want 6", n)
		}
	})
}

func TestBackup_NoTokenNoRoute(t *testing.T) {
	m := MustServe(t, t.TempDir())
	if status, _ := MustGet(t, m.URL()+backupPath, "Authorization", "Bearer "); status == 200 {
		t.Fatalf("GET %s without a configured token: 200", backupPath)
	}
}

func TestBackup_Usage(t *testing.T) {
	withEnv(t, map[string]string{})
	data := t.TempDir()
	db, err := store.Open(store.Config{Path: filepath.Join(data, "frontdesk.db")})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"backup"}, "which file"},
		{"missing database", []string{"backup", filepath.Join(t.TempDir(), "b.db"), "--data", t.TempDir()}, "no database"},
		{"backup onto itself", []string{"backup", filepath.Join(data, ".", "frontdesk.db"), "--data", data}, "is the database itself"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
