package orders_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/orders"
)

// shopAPI is a fake shop API: it answers GET /api/orders/{number} from
// bodies (status 200), or with the status in statuses; "hang" blocks until
// the request is abandoned.
type shopAPI struct {
	mu       sync.Mutex
	bodies   map[string]string
	statuses map[string]int
	hits     atomic.Int64
	auth     []string
}

func newShopAPI(t *testing.T) (*shopAPI, *httptest.Server) {
	api := &shopAPI{bodies: map[string]string{}, statuses: map[string]int{}}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.hits.Add(1)
		number := strings.TrimPrefix(r.URL.Path, "/api/orders/")
		api.mu.Lock()
		api.auth = append(api.auth, r.Header.Get("Authorization"))
		body, ok := api.bodies[number]
		status := api.statuses[number]
		api.mu.Unlock()
		if status == -1 {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return api, srv
}

// shopOrder is an order in the shop's own shape.
const shopOrder = `{
  "id": "A1001",
  "customer": {"email": "Jane@Example.com", "address": {"zip": "CA12 5DJ"}},
  "fulfilment": {"state": "in_transit", "carrier": "Royal Mail", "tracking": {"code": "RM1", "url": "https://track.example/RM1"}},
  "lines": [{"title": "Shell Jacket", "qty": 1}, {"title": "Base Layer", "qty": 2}],
  "created": "2026-10-30T09:15:00Z",
  "eta": "2026-11-04"
}`

const shopMap = "number=id,email=customer.email,postcode=customer.address.zip,status=fulfilment.state," +
	"carrier=fulfilment.carrier,tracking_number=fulfilment.tracking.code,tracking_url=fulfilment.tracking.url," +
	"items=lines,item_name=title,item_quantity=qty,placed_at=created,estimated_delivery=eta"

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func MustHTTP(t *testing.T, srv *httptest.Server, edit func(*orders.HTTPConfig)) (*orders.HTTP, *testClock) {
	t.Helper()
	m, err := orders.ParseMapping(shopMap)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: importNow}
	cfg := orders.HTTPConfig{URL: srv.URL + "/api/orders/{number}", Header: "Authorization: Bearer s3cret", Map: m, Now: clock.Now}
	if edit != nil {
		edit(&cfg)
	}
	h, err := orders.NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, clock
}

func TestHTTP_MapsTheShopsOrder(t *testing.T) {
	api, srv := newShopAPI(t)
	api.bodies["A1001"] = shopOrder
	h, _ := MustHTTP(t, srv, nil)
	o, err := h.Order(context.Background(), "#a1001")
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Order{
		Number: "A1001", Email: "jane@example.com", Postcode: "CA12 5DJ", Status: bot.OrderShipped, Carrier: "Royal Mail",
		TrackingNumber: "RM1", TrackingURL: "https://track.example/RM1",
		Items:    []bot.OrderItem{{Name: "Shell Jacket", Quantity: 1}, {Name: "Base Layer", Quantity: 2}},
		PlacedAt: time.Date(2026, 10, 30, 9, 15, 0, 0, time.UTC), EstimatedDelivery: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC),
	}
	if o.Number != want.Number || o.Email != want.Email || o.Postcode != want.Postcode || o.Status != want.Status ||
		o.TrackingURL != want.TrackingURL || len(o.Items) != 2 || o.Items[1] != want.Items[1] ||
		!o.PlacedAt.Equal(want.PlacedAt) || !o.EstimatedDelivery.Equal(want.EstimatedDelivery) {
		t.Fatalf("order = %+v\nwant    %+v", o, want)
	}
	if api.auth[0] != "Bearer s3cret" {
		t.Errorf("credentials header = %q", api.auth[0])
	}
}

func TestHTTP_FailuresAreNotFoundOrUnavailableNeverAGuess(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		status int
		want   error
	}{
		{"404 is not found", "", http.StatusNotFound, bot.ErrOrderNotFound},
		{"410 is not found", "", http.StatusGone, bot.ErrOrderNotFound},
		{"500 is unavailable", "", http.StatusInternalServerError, bot.ErrOrdersUnavailable},
		{"401 is unavailable", "", http.StatusUnauthorized, bot.ErrOrdersUnavailable},
		{"timeout is unavailable", "", -1, bot.ErrOrdersUnavailable},
		{"malformed JSON is unavailable", `{"id": "A1001", "customer": `, 0, bot.ErrOrdersUnavailable},
		{"HTML is unavailable", `<html>maintenance</html>`, 0, bot.ErrOrdersUnavailable},
		{"unknown status is unavailable", strings.Replace(shopOrder, "in_transit", "teleporting", 1), 0, bot.ErrOrdersUnavailable},
		{"missing email is unavailable", strings.Replace(shopOrder, `"Jane@Example.com"`, `null`, 1), 0, bot.ErrOrdersUnavailable},
		{"another order is unavailable", strings.Replace(shopOrder, `"A1001"`, `"A9999"`, 1), 0, bot.ErrOrdersUnavailable},
		{"script link is unavailable", strings.Replace(shopOrder, "https://track.example/RM1", "javascript:alert(1)", 1), 0, bot.ErrOrdersUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api, srv := newShopAPI(t)
			if c.body != "" {
				api.bodies["A1001"] = c.body
			}
			api.statuses["A1001"] = c.status
			h, _ := MustHTTP(t, srv, func(cfg *orders.HTTPConfig) { cfg.Timeout = 50 * time.Millisecond })
			_, err := h.Order(context.Background(), "A1001")
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			for _, secret := range []string{"A1001", "s3cret", srv.URL} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals %q", err, secret)
				}
			}
			// Failures are never cached: the next lookup asks again.
			before := api.hits.Load()
			_, _ = h.Order(context.Background(), "A1001")
			if api.hits.Load() != before+1 {
				t.Errorf("a failure was cached")
			}
		})
	}
}

func TestHTTP_CachesForTheTTLAndBoundsTheCache(t *testing.T) {
	api, srv := newShopAPI(t)
	for _, n := range []string{"A1001", "A1002", "A1003"} {
		api.bodies[n] = strings.Replace(shopOrder, `"A1001"`, `"`+n+`"`, 1)
	}
	h, clock := MustHTTP(t, srv, func(cfg *orders.HTTPConfig) { cfg.CacheSize = 2 })
	ctx := context.Background()
	mustGet := func(n string) {
		t.Helper()
		if _, err := h.Order(ctx, n); err != nil {
			t.Fatalf("Order(%s): %v", n, err)
		}
	}
	mustGet("A1001")
	mustGet("A1001")
	if got := api.hits.Load(); got != 1 {
		t.Fatalf("%d requests for a cached order, want 1", got)
	}
	clock.Add(time.Minute)
	mustGet("A1001")
	if got := api.hits.Load(); got != 2 {
		t.Fatalf("%d requests after the TTL, want 2", got)
	}
	// A1001 is the least recently used when A1003 arrives: dropped.
	mustGet("A1002")
	mustGet("A1003")
	hits := api.hits.Load()
	mustGet("A1003")
	mustGet("A1002")
	if api.hits.Load() != hits {
		t.Fatalf("recent orders were not cached")
	}
	mustGet("A1001")
	if api.hits.Load() != hits+1 {
		t.Fatalf("the cache grew past its size")
	}
	// A changed order can be dropped from the cache at once.
	h.Forget("A1002")
	mustGet("A1002")
	if api.hits.Load() != hits+2 {
		t.Fatalf("Forget kept the order")
	}
}

func TestNewHTTP_RefusesUnusableConfig(t *testing.T) {
	cases := map[string]orders.HTTPConfig{
		"no placeholder": {URL: "https://shop.example/api/orders"},
		"not http":       {URL: "ftp://shop.example/{number}"},
		"bad header":     {URL: "https://shop.example/{number}", Header: "Bearer only-a-secret"},
		"unknown field":  {URL: "https://shop.example/{number}", Map: map[string]string{"colour": "x"}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := orders.NewHTTP(cfg)
			if !errors.Is(err, orders.ErrBadConfig) {
				t.Fatalf("err = %v, want ErrBadConfig", err)
			}
			if strings.Contains(err.Error(), "only-a-secret") {
				t.Errorf("error reveals the header value: %v", err)
			}
		})
	}
	if _, err := orders.ParseMapping("number=id,colour=x"); !errors.Is(err, orders.ErrBadConfig) {
		t.Errorf("ParseMapping accepted an unknown field: %v", err)
	}
	if _, err := orders.ParseStatusMap("fulfilled=teleported"); !errors.Is(err, orders.ErrBadConfig) {
		t.Errorf("ParseStatusMap accepted an unknown status: %v", err)
	}
}

func TestHTTP_StatusMap(t *testing.T) {
	api, srv := newShopAPI(t)
	api.bodies["A1001"] = strings.Replace(shopOrder, "in_transit", "Awaiting_Fulfillment", 1)
	sm, err := orders.ParseStatusMap("awaiting_fulfillment=processing")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := MustHTTP(t, srv, func(cfg *orders.HTTPConfig) { cfg.StatusMap = sm })
	o, err := h.Order(context.Background(), "A1001")
	if err != nil || o.Status != bot.OrderProcessing {
		t.Fatalf("status %q, err %v; want processing", o.Status, err)
	}
}
