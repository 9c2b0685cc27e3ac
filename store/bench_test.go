package store

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// benchUpdates runs b.N small fsynced Updates, in parallel or not, and
// reports how many Updates shared each commit.
func benchUpdates(b *testing.B, parallel bool) {
	db := mustOpen(b, Config{Path: filepath.Join(b.TempDir(), "bench.db")}) // fsync on
	var next atomic.Uint64
	msg := record{Name: "hello, I have a question about my order", N: 1}
	update := func() {
		key := binary.BigEndian.AppendUint64(nil, next.Add(1))
		err := db.Update(context.Background(), func(tx bot.Tx) error {
			return tx.Put(bot.BucketMessages, key, msg)
		})
		if err != nil {
			b.Error(err)
		}
	}
	before := db.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		// Many goroutines per CPU, like many conversations writing at once;
		// they spend their time waiting on disk, not CPU.
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				update()
			}
		})
	} else {
		for b.Loop() {
			update()
		}
	}
	b.StopTimer()
	s := db.Stats()
	if c := s.Commits - before.Commits; c > 0 {
		b.ReportMetric(float64(s.Updates-before.Updates)/float64(c), "updates/commit")
	}
}

// BenchmarkUpdateParallel shows group commit: concurrent Updates share
// fsyncs, so ns/op is far below one fsync.
func BenchmarkUpdateParallel(b *testing.B) { benchUpdates(b, true) }

// BenchmarkUpdateSerial is one writer at a time: every Update pays a full
// fsync alone (the floor of a lone write's latency).
func BenchmarkUpdateSerial(b *testing.B) { benchUpdates(b, false) }
