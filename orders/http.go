package orders

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// HTTPConfig configures the shop API source. Only URL is required.
type HTTPConfig struct {
	// URL is the template of an order's URL in the shop's API; "{number}"
	// is replaced by the path-escaped order number, for example
	// "https://shop.example/api/orders/{number}". Required.
	URL string
	// Header is one request header carrying the credentials, written as
	// "Name: value" ("Authorization: Bearer xyz"). Default none. It is
	// never logged.
	Header string
	// Map maps our order fields to dotted paths in the shop's JSON
	// ("email" → "customer.email"; a number in a path indexes an array).
	// Fields not mapped are read from their own names. Within each element
	// of the items array, "item_name", "item_quantity" and "item_sku" map
	// the item's fields (default: name or title, quantity or qty, sku).
	// Default: no mapping (the shop speaks our field names).
	Map map[string]string
	// StatusMap maps the shop's status words (lower-case) to ours, for
	// example "awaiting_fulfillment" → "processing". Default: none; our
	// names and bot.ParseOrderStatus's aliases are always understood.
	StatusMap map[string]string
	// Timeout bounds one request to the shop. Default 5s.
	Timeout time.Duration
	// CacheTTL is how long a fetched order is reused. Default 1 minute;
	// negative disables the cache. Missing orders and errors are never
	// cached, so a new order is found at once and an outage ends at once.
	CacheTTL time.Duration
	// CacheSize bounds the cache; the least recently used order is
	// dropped first. Default 1000.
	CacheSize int
	// MaxBody bounds a response body. Default 1 MiB.
	MaxBody int64
	// Client sends the requests. Default: a client of its own.
	Client *http.Client
	// Now is the cache's clock. Default time.Now.
	Now func() time.Time
}

// HTTP is the order source that asks the shop's own API, with a small
// cache. A 404 or 410 is ErrOrderNotFound; a timeout, any other status or
// a body that does not make a valid order is ErrOrdersUnavailable: the bot
// then says so and offers a person rather than guessing.
type HTTP struct {
	cfg        HTTPConfig
	headerName string
	headerVal  string

	mu    sync.Mutex
	cache map[string]*list.Element
	lru   *list.List // of *cacheEntry, most recent first
}

type cacheEntry struct {
	number  string
	order   bot.Order
	expires time.Time
}

var _ bot.OrderSource = (*HTTP)(nil)

// ErrBadConfig reports an HTTP source configuration that cannot work.
var ErrBadConfig = errors.New("orders: bad shop API configuration")

// NewHTTP checks cfg and returns the source.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if !strings.Contains(cfg.URL, "{number}") {
		return nil, fmt.Errorf("%w: the URL template must contain {number}", ErrBadConfig)
	}
	u, err := url.Parse(strings.ReplaceAll(cfg.URL, "{number}", "A1"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: the URL template must be an http or https URL", ErrBadConfig)
	}
	h := &HTTP{cfg: cfg, cache: map[string]*list.Element{}, lru: list.New()}
	if cfg.Header != "" {
		name, val, ok := strings.Cut(cfg.Header, ":")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(val, "\r\n") {
			// The value is a secret: never echo it.
			return nil, fmt.Errorf("%w: the header must look like \"Name: value\"", ErrBadConfig)
		}
		h.headerName, h.headerVal = name, val
	}
	for k := range cfg.Map {
		if canonicalField(k) == "" && !strings.HasPrefix(k, "item_") {
			return nil, fmt.Errorf("%w: unknown field %q in the mapping", ErrBadConfig, k)
		}
	}
	if h.cfg.Timeout <= 0 {
		h.cfg.Timeout = 5 * time.Second
	}
	if h.cfg.CacheTTL == 0 {
		h.cfg.CacheTTL = time.Minute
	}
	if h.cfg.CacheSize <= 0 {
		h.cfg.CacheSize = 1000
	}
	if h.cfg.MaxBody <= 0 {
		h.cfg.MaxBody = 1 << 20
	}
	if h.cfg.Client == nil {
		h.cfg.Client = &http.Client{Timeout: h.cfg.Timeout}
	}
	if h.cfg.Now == nil {
		h.cfg.Now = time.Now
	}
	return h, nil
}

// ParseMapping reads "ours=theirs,..." pairs ("number=id,
// email=customer.email,status=fulfilment.state") into an HTTPConfig.Map.
func ParseMapping(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%w: mapping %q: want field=path", ErrBadConfig, pair)
		}
		if c := canonicalField(k); c != "" {
			k = c
		} else if !strings.HasPrefix(k, "item_") {
			return nil, fmt.Errorf("%w: mapping %q: unknown field %q", ErrBadConfig, pair, k)
		}
		m[k] = v
	}
	return m, nil
}

// ParseStatusMap reads "theirs=ours,..." pairs into an HTTPConfig.StatusMap.
func ParseStatusMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		st, err := bot.ParseOrderStatus(v)
		if !ok || strings.TrimSpace(k) == "" || err != nil {
			return nil, fmt.Errorf("%w: status mapping %q: want shop_status=our_status", ErrBadConfig, pair)
		}
		m[strings.ToLower(strings.TrimSpace(k))] = string(st)
	}
	return m, nil
}

// Order fetches an order from the shop, or from the cache.
func (h *HTTP) Order(ctx context.Context, number string) (bot.Order, error) {
	number = bot.NormalizeOrderNumber(number)
	if !bot.ValidOrderNumber(number) {
		return bot.Order{}, bot.ErrOrderNotFound
	}
	if o, ok := h.cached(number); ok {
		return o, nil
	}
	o, err := h.fetch(ctx, number)
	if err != nil {
		return bot.Order{}, err
	}
	h.remember(number, o)
	return o, nil
}

func (h *HTTP) fetch(ctx context.Context, number string) (bot.Order, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	u := strings.ReplaceAll(h.cfg.URL, "{number}", url.PathEscape(number))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return bot.Order{}, fmt.Errorf("orders: shop api: %w: bad request", bot.ErrOrdersUnavailable)
	}
	req.Header.Set("Accept", "application/json")
	if h.headerName != "" {
		req.Header.Set(h.headerName, h.headerVal)
	}
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		// *url.Error's text holds the URL, and with it the order number:
		// keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) || ue != nil && ue.Timeout() {
			return bot.Order{}, fmt.Errorf("orders: shop api: %w: timed out after %s", bot.ErrOrdersUnavailable, h.cfg.Timeout)
		}
		return bot.Order{}, fmt.Errorf("orders: shop api: %w: %v", bot.ErrOrdersUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return bot.Order{}, bot.ErrOrderNotFound
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return bot.Order{}, fmt.Errorf("orders: shop api: %w: status %d", bot.ErrOrdersUnavailable, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxBody+1))
	if err != nil {
		return bot.Order{}, fmt.Errorf("orders: shop api: %w: read body: %v", bot.ErrOrdersUnavailable, err)
	}
	if int64(len(body)) > h.cfg.MaxBody {
		return bot.Order{}, fmt.Errorf("orders: shop api: %w: body over %d bytes", bot.ErrOrdersUnavailable, h.cfg.MaxBody)
	}
	o, err := h.decode(body)
	if err != nil {
		return bot.Order{}, fmt.Errorf("orders: shop api: %w: malformed order: %v", bot.ErrOrdersUnavailable, err)
	}
	if o.Number != number {
		// Never answer about an order other than the one asked for.
		return bot.Order{}, fmt.Errorf("orders: shop api: %w: the shop answered with another order number", bot.ErrOrdersUnavailable)
	}
	return o, nil
}

// decode maps the shop's JSON to an order through the configured paths.
func (h *HTTP) decode(body []byte) (bot.Order, error) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return bot.Order{}, errors.New("not JSON")
	}
	if _, ok := doc.(map[string]any); !ok {
		return bot.Order{}, errors.New("not a JSON object")
	}
	rec := record{fields: map[string]string{}}
	for _, f := range []string{fNumber, fEmail, fPostcode, fStatus, fCarrier, fTrackingNumber, fTrackingURL, fPlacedAt, fShippedAt, fDeliveredAt, fEstimated, fCustomerRef} {
		v := lookup(doc, h.path(f))
		s, err := scalar(v)
		if err != nil {
			return bot.Order{}, fmt.Errorf("field %s: %v", f, err)
		}
		rec.fields[f] = s
	}
	if st, ok := h.cfg.StatusMap[strings.ToLower(strings.TrimSpace(rec.fields[fStatus]))]; ok {
		rec.fields[fStatus] = st
	}
	switch items := lookup(doc, h.path(fItems)).(type) {
	case nil:
	case string:
		rec.fields[fItems] = items
	case []any:
		rec.items = []bot.OrderItem{}
		for _, el := range items {
			it, err := h.item(el)
			if err != nil {
				return bot.Order{}, err
			}
			rec.items = append(rec.items, it)
		}
	default:
		return bot.Order{}, errors.New("items: want an array")
	}
	return rec.order(h.cfg.Now())
}

func (h *HTTP) item(el any) (bot.OrderItem, error) {
	if s, ok := el.(string); ok {
		return bot.OrderItem{Name: s, Quantity: 1}, nil
	}
	first := func(key string, defaults ...string) (string, error) {
		paths := defaults
		if p, ok := h.cfg.Map[key]; ok {
			paths = []string{p}
		}
		for _, p := range paths {
			s, err := scalar(lookup(el, p))
			if err != nil || s != "" {
				return s, err
			}
		}
		return "", nil
	}
	name, err := first("item_name", "name", "title", "product")
	if err != nil {
		return bot.OrderItem{}, fmt.Errorf("item name: %v", err)
	}
	sku, err := first("item_sku", "sku")
	if err != nil {
		return bot.OrderItem{}, fmt.Errorf("item sku: %v", err)
	}
	qty, err := first("item_quantity", "quantity", "qty")
	if err != nil {
		return bot.OrderItem{}, fmt.Errorf("item quantity: %v", err)
	}
	it := bot.OrderItem{Name: name, SKU: sku, Quantity: 1}
	if qty != "" {
		n, err := strconv.Atoi(qty)
		if err != nil || n <= 0 || n > maxQuantity {
			return bot.OrderItem{}, fmt.Errorf("item quantity %q", qty)
		}
		it.Quantity = n
	}
	return it, nil
}

func (h *HTTP) path(field string) string {
	if p, ok := h.cfg.Map[field]; ok {
		return p
	}
	return field
}

// lookup follows a dotted path through objects and arrays.
func lookup(v any, path string) any {
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// scalar renders a decoded JSON string or number as text.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	}
	return "", errors.New("want a string or a number")
}

func (h *HTTP) cached(number string) (bot.Order, bool) {
	if h.cfg.CacheTTL < 0 {
		return bot.Order{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	el, ok := h.cache[number]
	if !ok {
		return bot.Order{}, false
	}
	en := el.Value.(*cacheEntry)
	if !h.cfg.Now().Before(en.expires) {
		h.lru.Remove(el)
		delete(h.cache, number)
		return bot.Order{}, false
	}
	h.lru.MoveToFront(el)
	o := en.order
	o.Items = append([]bot.OrderItem(nil), o.Items...)
	return o, true
}

func (h *HTTP) remember(number string, o bot.Order) {
	if h.cfg.CacheTTL < 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	o.Items = append([]bot.OrderItem(nil), o.Items...)
	en := &cacheEntry{number: number, order: o, expires: h.cfg.Now().Add(h.cfg.CacheTTL)}
	if el, ok := h.cache[number]; ok {
		el.Value = en
		h.lru.MoveToFront(el)
		return
	}
	h.cache[number] = h.lru.PushFront(en)
	for h.lru.Len() > h.cfg.CacheSize {
		last := h.lru.Back()
		h.lru.Remove(last)
		delete(h.cache, last.Value.(*cacheEntry).number)
	}
}

// Forget drops an order from the cache (the shop told us it changed).
func (h *HTTP) Forget(number string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if el, ok := h.cache[bot.NormalizeOrderNumber(number)]; ok {
		h.lru.Remove(el)
		delete(h.cache, el.Value.(*cacheEntry).number)
	}
}
