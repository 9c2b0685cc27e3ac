package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram in microseconds: exact below 32µs,
// then 32 buckets per power of two (about 3% resolution) up to ~2^40µs. It
// is a fixed array so histograms from several processes merge by adding.
type hist struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64 // µs
}

const (
	histSub     = 32 // buckets per octave; a power of two
	histSubBits = 5
	histOctaves = 36
	histBuckets = histSub * (histOctaves + 1)
)

func histIndex(us uint64) int {
	if us < histSub {
		return int(us)
	}
	exp := bits.Len64(us) - histSubBits - 1 // us >> exp is in [32, 64)
	i := (exp+1)*histSub + int(us>>uint(exp)) - histSub
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// histValue is the upper bound of bucket i in µs.
func histValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	exp := i/histSub - 1
	mant := uint64(i%histSub + histSub)
	return (mant+1)<<uint(exp) - 1
}

func (h *hist) add(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	h.counts[histIndex(us)]++
	h.n++
	h.max = max(h.max, us)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency at or below which fraction q of samples lie.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max)) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

func (h *hist) maxDur() time.Duration { return time.Duration(h.max) * time.Microsecond }

// sparse is a histogram as sent between processes: [index, count] pairs.
type sparse struct {
	B   [][2]uint64 `json:"b,omitempty"`
	N   uint64      `json:"n"`
	Max uint64      `json:"max"`
}

func (h *hist) sparse() sparse {
	s := sparse{N: h.n, Max: h.max}
	for i, c := range h.counts {
		if c > 0 {
			s.B = append(s.B, [2]uint64{uint64(i), c})
		}
	}
	return s
}

func (h *hist) addSparse(s sparse) {
	for _, b := range s.B {
		if b[0] < histBuckets {
			h.counts[b[0]] += b[1]
		}
	}
	h.n += s.N
	h.max = max(h.max, s.Max)
}
