package orders_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/orders"
)

func newPush(t *testing.T, cfg orders.PushConfig) (*orders.Embedded, *httptest.Server) {
	t.Helper()
	e := MustEmbedded(t)
	mux := http.NewServeMux()
	orders.NewPush(e, cfg).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return e, srv
}

func push(t *testing.T, srv *httptest.Server, method, path, auth, body string) (*http.Response, orders.PushResult) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res orders.PushResult
	_ = json.NewDecoder(resp.Body).Decode(&res)
	return resp, res
}

const pushed = `{"email": "jane@example.com", "status": "shipped", "carrier": "DPD"}`

func TestPush_NeedsTheToken(t *testing.T) {
	cases := []struct {
		name, token, auth string
		want              int
	}{
		{"disabled without a token", "", "Bearer anything", http.StatusNotFound},
		{"no credentials", "s3cret", "", http.StatusUnauthorized},
		{"wrong token", "s3cret", "Bearer s3cre", http.StatusUnauthorized},
		{"wrong scheme", "s3cret", "Basic s3cret", http.StatusUnauthorized},
		{"right token", "s3cret", "Bearer s3cret", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, srv := newPush(t, orders.PushConfig{Token: c.token})
			resp, _ := push(t, srv, http.MethodPut, "/api/orders/A1001", c.auth, pushed)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			_, err := e.Order(t.Context(), "A1001")
			if stored := err == nil; stored != (c.want == http.StatusOK) {
				t.Errorf("stored = %v with status %d", stored, c.want)
			}
		})
	}
}

func TestPush_CreatesAndUpdates(t *testing.T) {
	e, srv := newPush(t, orders.PushConfig{Token: "s3cret"})
	auth := "Bearer s3cret"
	resp, res := push(t, srv, http.MethodPut, "/api/orders/a1001", auth, pushed)
	if resp.StatusCode != http.StatusOK || res.Added != 1 {
		t.Fatalf("PUT: %d %+v", resp.StatusCode, res)
	}
	resp, res = push(t, srv, http.MethodPost, "/api/orders", auth, `[
		{"number": "A1001", "email": "jane@example.com", "status": "delivered", "carrier": "DPD"},
		{"number": "A1002", "email": "tom@example.com", "status": "placed"},
		{"number": "A1003", "email": "nope", "status": "placed"}
	]`)
	if resp.StatusCode != http.StatusOK || res.Added != 1 || res.Updated != 1 || len(res.Rejected) != 1 || res.Rejected[0].Index != 2 {
		t.Fatalf("POST: %d %+v", resp.StatusCode, res)
	}
	if o := MustOrder(t, e, "A1001"); o.Status != bot.OrderDelivered {
		t.Errorf("A1001 status %s, want delivered", o.Status)
	}
	resp, res = push(t, srv, http.MethodPost, "/api/orders", auth, `{"number": "A1004", "email": "amy@example.com", "status": "placed"}`)
	if resp.StatusCode != http.StatusOK || res.Added != 1 {
		t.Fatalf("POST one: %d %+v", resp.StatusCode, res)
	}
}

func TestPush_RefusesBadRequests(t *testing.T) {
	_, srv := newPush(t, orders.PushConfig{Token: "s3cret", MaxBody: 1024, MaxBatch: 2})
	auth := "Bearer s3cret"
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"not JSON", http.MethodPut, "/api/orders/A1", "status=shipped", http.StatusBadRequest},
		{"number differs from the URL", http.MethodPut, "/api/orders/A1", `{"number": "A2", "email": "a@b.co", "status": "placed"}`, http.StatusUnprocessableEntity},
		{"invalid order", http.MethodPut, "/api/orders/A1", `{"email": "a@b.co", "status": "lost"}`, http.StatusUnprocessableEntity},
		{"body too large", http.MethodPost, "/api/orders", `[` + strings.Repeat(" ", 2048) + `]`, http.StatusRequestEntityTooLarge},
		{"batch too large", http.MethodPost, "/api/orders", `[{}, {}, {}]`, http.StatusRequestEntityTooLarge},
		{"broken batch", http.MethodPost, "/api/orders", `[{"number": `, http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := push(t, srv, c.method, c.path, auth, c.body)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}
