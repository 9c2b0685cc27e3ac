package bot

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// NewID returns a random identifier that sorts by creation time: 12 hex
// digits of Unix milliseconds then 16 random hex digits. Sorting by time lets
// stores keep records in time order with no secondary index.
func NewID(now time.Time) string {
	var b [14]byte
	ms := uint64(now.UnixMilli())
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], ms)
	copy(b[:6], t[2:])
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}
