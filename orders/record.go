package orders

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Canonical field names of an order in import files and push bodies.
const (
	fNumber         = "number"
	fEmail          = "email"
	fPostcode       = "postcode"
	fStatus         = "status"
	fCarrier        = "carrier"
	fTrackingNumber = "tracking_number"
	fTrackingURL    = "tracking_url"
	fItems          = "items"
	fPlacedAt       = "placed_at"
	fShippedAt      = "shipped_at"
	fDeliveredAt    = "delivered_at"
	fEstimated      = "estimated_delivery"
	fCustomerRef    = "customer_ref"
)

// fieldAliases maps the names shops' exports use to the canonical ones.
// Names are compared lower-case with spaces and hyphens as underscores.
var fieldAliases = map[string]string{
	"number": fNumber, "order": fNumber, "order_number": fNumber, "order_no": fNumber, "order_id": fNumber, "id": fNumber,
	"email": fEmail, "e_mail": fEmail, "customer_email": fEmail, "email_address": fEmail,
	"postcode": fPostcode, "post_code": fPostcode, "postal_code": fPostcode, "zip": fPostcode, "zip_code": fPostcode, "zipcode": fPostcode,
	"status": fStatus, "order_status": fStatus,
	"carrier": fCarrier, "courier": fCarrier,
	"tracking_number": fTrackingNumber, "tracking": fTrackingNumber, "tracking_no": fTrackingNumber,
	"tracking_url": fTrackingURL, "tracking_link": fTrackingURL,
	"items": fItems, "lines": fItems, "line_items": fItems,
	"placed_at": fPlacedAt, "placed": fPlacedAt, "order_date": fPlacedAt, "created_at": fPlacedAt, "date": fPlacedAt,
	"shipped_at": fShippedAt, "shipped": fShippedAt, "dispatched_at": fShippedAt,
	"delivered_at": fDeliveredAt, "delivered": fDeliveredAt,
	"estimated_delivery": fEstimated, "eta": fEstimated, "expected_delivery": fEstimated, "estimated_delivery_date": fEstimated,
	"customer_ref": fCustomerRef, "customer_id": fCustomerRef, "customer_reference": fCustomerRef,
}

// canonicalField returns the canonical name of a column or JSON key, or "".
func canonicalField(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer(" ", "_", "-", "_").Replace(n)
	return fieldAliases[n]
}

// record is one order as read from a file or request, before validation.
type record struct {
	fields map[string]string
	items  []bot.OrderItem // from a JSON items array; nil means use fields[fItems]
	probs  []string        // problems found while reading
}

// dateLayouts are the date formats accepted, tried in order. A date alone
// is midnight UTC.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly}

// relativeDate matches "today", "today+3" and "today-10": days relative to
// the import, which keeps demo data current whenever it is loaded.
var relativeDate = regexp.MustCompile(`^(?i:today)(?:\s*([+-])\s*(\d{1,4}))?$`)

func parseDate(s string, now time.Time) (time.Time, error) {
	if m := relativeDate.FindStringSubmatch(s); m != nil {
		y, mo, d := now.UTC().Date()
		days, _ := strconv.Atoi(m[2])
		if m[1] == "-" {
			days = -days
		}
		return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days), nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("want YYYY-MM-DD, RFC 3339 or today±N")
}

// order turns a record into a validated, normalised order; relative dates
// count from now. The error lists every problem of the row.
func (r *record) order(now time.Time) (bot.Order, error) {
	f := r.fields
	probs := append([]string(nil), r.probs...)
	o := bot.Order{
		Number:         bot.NormalizeOrderNumber(f[fNumber]),
		Email:          bot.NormalizeEmail(f[fEmail]),
		Postcode:       strings.ToUpper(strings.TrimSpace(f[fPostcode])),
		Carrier:        strings.TrimSpace(f[fCarrier]),
		TrackingNumber: strings.TrimSpace(f[fTrackingNumber]),
		TrackingURL:    strings.TrimSpace(f[fTrackingURL]),
		CustomerRef:    strings.TrimSpace(f[fCustomerRef]),
		Items:          r.items,
	}
	if s := strings.TrimSpace(f[fStatus]); s != "" {
		st, err := bot.ParseOrderStatus(s)
		if err != nil {
			st = bot.OrderStatus(s) // Validate names it
		}
		o.Status = st
	}
	for _, d := range []struct {
		name string
		to   *time.Time
	}{{fPlacedAt, &o.PlacedAt}, {fShippedAt, &o.ShippedAt}, {fDeliveredAt, &o.DeliveredAt}, {fEstimated, &o.EstimatedDelivery}} {
		s := strings.TrimSpace(f[d.name])
		if s == "" {
			continue
		}
		t, err := parseDate(s, now)
		if err != nil {
			probs = append(probs, fmt.Sprintf("bad %s date %q (%v)", d.name, s, err))
			continue
		}
		*d.to = t
	}
	if r.items == nil {
		items, err := parseItems(f[fItems])
		if err != nil {
			probs = append(probs, err.Error())
		}
		o.Items = items
	}
	if err := o.Validate(); err != nil {
		probs = append(probs, strings.TrimPrefix(err.Error(), bot.ErrInvalidOrder.Error()+": "))
	}
	if len(probs) > 0 {
		return o, fmt.Errorf("%w: %s", bot.ErrInvalidOrder, strings.Join(probs, "; "))
	}
	return o, nil
}

var (
	itemQtyAfter  = regexp.MustCompile(`^(.+?)\s*[xX×]\s*(\d+)$`)
	itemQtyBefore = regexp.MustCompile(`^(\d+)\s*[xX×]\s+(.+)$`)
)

// maxQuantity bounds an item's quantity: more is a typo.
const maxQuantity = 10000

// parseItems reads the CSV items column: items separated by ';' (or '|'),
// each "name x quantity", "quantity x name" or just a name (quantity 1).
func parseItems(s string) ([]bot.OrderItem, error) {
	var out []bot.OrderItem
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, qty := part, "1"
		if m := itemQtyAfter.FindStringSubmatch(part); m != nil {
			name, qty = m[1], m[2]
		} else if m := itemQtyBefore.FindStringSubmatch(part); m != nil {
			name, qty = m[2], m[1]
		}
		n, err := strconv.Atoi(qty)
		if err != nil || n <= 0 || n > maxQuantity {
			return out, fmt.Errorf("bad quantity in item %q", part)
		}
		out = append(out, bot.OrderItem{Name: strings.TrimSpace(name), Quantity: n})
	}
	return out, nil
}

// jsonRecord reads one JSON object: our field names or their aliases;
// strings or numbers for scalars; items as an array of {"name", "sku",
// "quantity"} objects or strings, or one string like the CSV column.
// Unknown keys are ignored.
func jsonRecord(raw []byte) record {
	rec := record{fields: map[string]string{}}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		rec.probs = append(rec.probs, "not a JSON object")
		return rec
	}
	for k, v := range obj {
		name := canonicalField(k)
		if name == "" {
			continue
		}
		if name == fItems && len(bytes.TrimSpace(v)) > 0 && bytes.TrimSpace(v)[0] == '[' {
			items, err := jsonItems(v)
			if err != nil {
				rec.probs = append(rec.probs, err.Error())
			}
			rec.items = items
			if rec.items == nil {
				rec.items = []bot.OrderItem{}
			}
			continue
		}
		s, err := jsonScalar(v)
		if err != nil {
			rec.probs = append(rec.probs, fmt.Sprintf("field %q: %v", k, err))
			continue
		}
		rec.fields[name] = s
	}
	return rec
}

// jsonScalar renders a JSON string, number or null as text.
func jsonScalar(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return "", nil
	}
	switch v[0] {
	case '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		err := json.Unmarshal(v, &n)
		return n.String(), err
	}
	return "", fmt.Errorf("want a string or a number")
}

func jsonItems(v json.RawMessage) ([]bot.OrderItem, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil {
		return nil, fmt.Errorf("items: %v", err)
	}
	var out []bot.OrderItem
	for _, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) > 0 && r[0] == '"' {
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return out, fmt.Errorf("items: %v", err)
			}
			items, err := parseItems(s)
			if err != nil {
				return out, err
			}
			out = append(out, items...)
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(r, &obj); err != nil {
			return out, fmt.Errorf("items: want objects or strings")
		}
		it := bot.OrderItem{Quantity: 1}
		for k, v := range obj {
			s, err := jsonScalar(v)
			if err != nil {
				return out, fmt.Errorf("items: field %q: %v", k, err)
			}
			switch strings.ToLower(k) {
			case "name", "title", "product", "description":
				if it.Name == "" {
					it.Name = strings.TrimSpace(s)
				}
			case "sku":
				it.SKU = strings.TrimSpace(s)
			case "quantity", "qty":
				n, err := strconv.Atoi(s)
				if err != nil || n <= 0 || n > maxQuantity {
					return out, fmt.Errorf("items: bad quantity %q", s)
				}
				it.Quantity = n
			}
		}
		out = append(out, it)
	}
	return out, nil
}
