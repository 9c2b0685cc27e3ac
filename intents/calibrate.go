package intents

import "math"

// calibrator maps a candidate's raw score to the probability that it is the
// right intent: a logistic regression (Platt scaling) on three features,
// fitted on out-of-fold scores from cross-validation on the training
// questions. The candidate's margin over the best other candidate separates
// "clearly this one" from "this or that"; its raw score and the message's
// coverage (share of its features seen in training) separate "something we
// know" from "nothing we know".
type calibrator struct {
	A, M, V, B float64 // p = sigmoid(A*score + M*margin + V*coverage + B)
}

// defaultCalibrator is used when there is too little data to cross-validate
// (every topic has a single question). Its values are typical fits on
// small FAQs: a clear positive score with a clear margin is trusted.
var defaultCalibrator = calibrator{A: 3, M: 4, V: 2, B: -3}

func (c calibrator) prob(score, margin, coverage float64) float64 {
	return sigmoid(c.A*score + c.M*margin + c.V*coverage + c.B)
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// calSample is one candidate seen during cross-validation.
type calSample struct {
	score, margin, coverage float64
	correct                 bool
}

// fitCalibrator fits the logistic regression by Newton's method with a
// small ridge penalty, which keeps it finite when the held-out candidates
// are perfectly separable (tiny FAQs where cross-validation makes no
// mistakes). Weights are kept non-negative: a higher score or margin must
// never mean a lower confidence.
func fitCalibrator(samples []calSample) calibrator {
	if len(samples) < 4 {
		return defaultCalibrator
	}
	const ridge = 0.01 // penalty on the weights (not the intercept) per sample
	lambda := ridge * float64(len(samples))
	loss := func(beta [nCal]float64) float64 {
		l := 0.5 * lambda * (beta[0]*beta[0] + beta[1]*beta[1] + beta[2]*beta[2])
		for _, s := range samples {
			z := beta[0]*s.score + beta[1]*s.margin + beta[2]*s.coverage + beta[3]
			// log(1+e^-z) for positives, log(1+e^z) for negatives, stably.
			if !s.correct {
				z = -z
			}
			if z > 0 {
				l += math.Log1p(math.Exp(-z))
			} else {
				l += -z + math.Log1p(math.Exp(z))
			}
		}
		return l
	}
	beta := [nCal]float64{1, 1, 0, 0}
	cur := loss(beta)
	for iter := 0; iter < 100; iter++ {
		var g [nCal]float64
		var h [nCal][nCal]float64
		for _, s := range samples {
			x := [nCal]float64{s.score, s.margin, s.coverage, 1}
			p := sigmoid(beta[0]*x[0] + beta[1]*x[1] + beta[2]*x[2] + beta[3])
			y := 0.0
			if s.correct {
				y = 1
			}
			wt := p * (1 - p)
			for a := range nCal {
				g[a] += (p - y) * x[a]
				for b := range nCal {
					h[a][b] += wt * x[a] * x[b]
				}
			}
		}
		for a := range nCal - 1 {
			g[a] += lambda * beta[a]
			h[a][a] += lambda
		}
		h[nCal-1][nCal-1] += 1e-6
		d, ok := solve(h, g)
		if !ok {
			break
		}
		// Backtracking line search: Newton steps overshoot when the
		// held-out candidates are (nearly) separable.
		improved := false
		for step := 1.0; step > 1e-4; step /= 2 {
			var nb [nCal]float64
			for a := range nCal {
				nb[a] = beta[a] - step*d[a]
				if a < nCal-1 {
					nb[a] = max(nb[a], 0)
				}
			}
			if l := loss(nb); l < cur {
				improved = cur-l > 1e-9
				beta, cur = nb, l
				break
			}
		}
		if !improved {
			break
		}
	}
	for _, b := range beta {
		if math.IsNaN(b) || math.IsInf(b, 0) {
			return defaultCalibrator
		}
	}
	return calibrator{A: beta[0], M: beta[1], V: beta[2], B: beta[3]}
}

// nCal is the number of calibrator parameters (three weights, intercept).
const nCal = 4

// solve solves h·x = g by Gaussian elimination with partial pivoting.
func solve(h [nCal][nCal]float64, g [nCal]float64) ([nCal]float64, bool) {
	var a [nCal][nCal + 1]float64
	for i := range nCal {
		for j := range nCal {
			a[i][j] = h[i][j]
		}
		a[i][nCal] = g[i]
	}
	for c := range nCal {
		p := c
		for r := c + 1; r < nCal; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return [nCal]float64{}, false
		}
		a[c], a[p] = a[p], a[c]
		for r := range nCal {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for k := c; k <= nCal; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	var x [nCal]float64
	for i := range nCal {
		x[i] = a[i][nCal] / a[i][i]
	}
	return x, true
}
