package intents

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// csr is a sparse row matrix: row i is idx/val[ptr[i]:ptr[i+1]].
type csr struct {
	ptr []int32
	idx []int32
	val []float32
}

func (m *csr) rows() int { return len(m.ptr) - 1 }

func (m *csr) appendRow(row []featVal) {
	for _, f := range row {
		m.idx = append(m.idx, f.idx)
		m.val = append(m.val, f.val)
	}
	m.ptr = append(m.ptr, int32(len(m.idx)))
}

// svmParams configures the one-vs-rest linear SVMs.
type svmParams struct {
	C        float64 // regularisation: larger fits the training data harder
	eps      float64 // stopping tolerance on the projected gradient
	maxIter  int
	bias     float64 // value of the constant feature carrying the intercept
	balanced bool    // weight each class's positives by n/(K*n_k)
	seed     uint64
}

// linearModel holds one weight vector per class, stored feature-major
// (w[f*K+k]) so scoring a sparse message walks contiguous memory.
type linearModel struct {
	K, D int
	w    []float32
	b    []float32
}

// score adds each class's score for x to out (len K).
func (m *linearModel) score(out []float64, x []featVal) {
	K := m.K
	for k := range out {
		out[k] = float64(m.b[k])
	}
	for _, f := range x {
		ws := m.w[int(f.idx)*K : int(f.idx)*K+K]
		v := float64(f.val)
		for k, wk := range ws {
			out[k] += v * float64(wk)
		}
	}
}

// trainOVR trains K binary L2-regularised squared-hinge-loss SVMs (class k
// against the rest) by dual coordinate descent with shrinking, the method
// of LIBLINEAR (Hsieh et al. 2008), on the rows listed in rows (all rows
// when nil). Classes are spread over GOMAXPROCS workers.
func trainOVR(ctx context.Context, X *csr, y []int32, rows []int32, K, D int, p svmParams) (*linearModel, error) {
	if rows == nil {
		rows = make([]int32, X.rows())
		for i := range rows {
			rows[i] = int32(i)
		}
	}
	counts := make([]int, K)
	for _, r := range rows {
		counts[y[r]]++
	}
	m := &linearModel{K: K, D: D, w: make([]float32, D*K), b: make([]float32, K)}
	// Squared norms are shared by all classes.
	sq := make([]float64, len(rows))
	for i, r := range rows {
		s := p.bias * p.bias
		for _, v := range X.val[X.ptr[r]:X.ptr[r+1]] {
			s += float64(v) * float64(v)
		}
		sq[i] = s
	}
	workers := min(runtime.GOMAXPROCS(0), K)
	next := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := newSVMState(len(rows), D)
			for k := range next {
				if err := ctx.Err(); err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				cPos := p.C
				if p.balanced && counts[k] > 0 {
					cPos = p.C * float64(len(rows)) / float64(K*counts[k])
				}
				if counts[k] == 0 {
					// No positives in this subset (cross-validation of a
					// one-question topic): never predict it.
					m.b[k] = -1
					continue
				}
				st.solve(X, y, rows, sq, int32(k), cPos, p.C, p, uint64(k))
				for f, wf := range st.w[:D] {
					m.w[f*K+k] = wf
				}
				m.b[k] = st.w[D] * float32(p.bias)
			}
		}()
	}
	for k := range K {
		next <- k
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return m, nil
}

// svmState is one worker's scratch space. The weights are float32: the
// random accesses into them dominate training, and half the bytes is
// nearly half the time, with no loss of accuracy at this tolerance.
type svmState struct {
	w     []float32 // D weights, then the bias weight
	alpha []float64
	index []int32
	qd    []float64
}

func newSVMState(n, D int) *svmState {
	return &svmState{w: make([]float32, D+1), alpha: make([]float64, n), index: make([]int32, n), qd: make([]float64, n)}
}

func (st *svmState) solve(X *csr, y []int32, rows []int32, sq []float64, k int32, cPos, cNeg float64, p svmParams, salt uint64) {
	w, alpha, index, qd := st.w, st.alpha, st.index, st.qd
	clear(w)
	n := len(rows)
	D := len(w) - 1
	dPos, dNeg := 0.5/cPos, 0.5/cNeg
	for i := range n {
		alpha[i] = 0
		index[i] = int32(i)
		if y[rows[i]] == k {
			qd[i] = sq[i] + dPos
		} else {
			qd[i] = sq[i] + dNeg
		}
	}
	rng := rand.New(rand.NewPCG(p.seed, salt))
	active := n
	pgMaxOld := math.Inf(1)
	for iter := 0; iter < p.maxIter; iter++ {
		pgMax, pgMin := math.Inf(-1), math.Inf(1)
		for i := 0; i < active; i++ {
			j := i + rng.IntN(active-i)
			index[i], index[j] = index[j], index[i]
		}
		for s := 0; s < active; s++ {
			i := index[s]
			r := rows[i]
			yi, dii := -1.0, dNeg
			if y[r] == k {
				yi, dii = 1, dPos
			}
			lo, hi := X.ptr[r], X.ptr[r+1]
			ids, vals := X.idx[lo:hi], X.val[lo:hi]
			g := float64(w[D]) * p.bias
			var dot float32
			for t, f := range ids {
				dot += w[f] * vals[t]
			}
			g += float64(dot)
			g = yi*g - 1 + alpha[i]*dii
			pg := 0.0
			if alpha[i] == 0 {
				if g > pgMaxOld {
					active--
					index[s], index[active] = index[active], index[s]
					s--
					continue
				}
				if g < 0 {
					pg = g
				}
			} else {
				pg = g
			}
			pgMax = max(pgMax, pg)
			pgMin = min(pgMin, pg)
			if math.Abs(pg) > 1e-12 {
				old := alpha[i]
				alpha[i] = max(old-g/qd[i], 0)
				d := (alpha[i] - old) * yi
				d32 := float32(d)
				for t, f := range ids {
					w[f] += d32 * vals[t]
				}
				w[D] += float32(d * p.bias)
			}
		}
		if pgMax-pgMin <= p.eps {
			if active == n {
				break
			}
			active = n
			pgMaxOld = math.Inf(1)
			continue
		}
		pgMaxOld = pgMax
		if pgMaxOld <= 0 {
			pgMaxOld = math.Inf(1)
		}
	}
}
