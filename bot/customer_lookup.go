package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CustomerByVerifiedEmail finds the customer whose verified email (a
// signed identity token on the web, a Slack workspace profile) is email,
// following merges. Emails customers merely typed never match: anyone can
// type one. The index it reads is written by LinkVerified, which the
// journey worker runs for every customer who writes; a verified customer
// is found from their first message on. Forgotten customers are not
// found. The error is an *Error with ECodeNotFound when nobody matches.
func (e *Engine) CustomerByVerifiedEmail(ctx context.Context, email string) (Customer, error) {
	email = strings.TrimSpace(email)
	notFound := Errorf(ECodeNotFound, "No customer with that verified email.")
	if email == "" {
		return Customer{}, Errorf(ECodeInvalid, "An email address is required.")
	}
	var c Customer
	err := e.store.View(ctx, func(tx Tx) error {
		var id string
		ok, err := tx.Get(BucketJourney, keyEmail(email), &id)
		if err != nil {
			return err
		}
		if !ok {
			return notFound
		}
		if id, err = ResolveCustomerID(tx, id); err != nil {
			return err
		}
		var at time.Time
		forgotten, err := tx.Get(BucketJourney, keyForgotten(id), &at)
		if err != nil {
			return err
		}
		if forgotten {
			return notFound
		}
		c, err = GetCustomer(tx, id)
		if isNotFound(err) {
			return notFound
		}
		return err
	})
	if err != nil && !IsUserError(err) {
		return Customer{}, fmt.Errorf("bot: customer by email: %w", err)
	}
	return c, err
}

// FindCustomers looks customers up for an agent: by customer id (following
// merges), or by email, verified or typed (an agent checks who they are
// before acting, see Link). Email matches come from the verified-email
// index first, then from a scan of the customers; at most limit (default
// 10) are returned, without duplicates.
func (e *Engine) FindCustomers(ctx context.Context, query string, limit int) ([]Customer, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, Errorf(ECodeInvalid, "Enter a customer id or an email address.")
	}
	if limit <= 0 {
		limit = 10
	}
	var out []Customer
	err := e.store.View(ctx, func(tx Tx) error {
		out = out[:0]
		seen := map[string]bool{}
		add := func(id string) error {
			id, err := ResolveCustomerID(tx, id)
			if err != nil || seen[id] {
				return err
			}
			c, err := GetCustomer(tx, id)
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			seen[id] = true
			out = append(out, c)
			return nil
		}
		if !strings.Contains(query, "@") {
			return add(query)
		}
		var id string
		ok, err := tx.Get(BucketJourney, keyEmail(query), &id)
		if err != nil {
			return err
		}
		if ok {
			if err := add(id); err != nil {
				return err
			}
		}
		return tx.Scan(BucketCustomers, nil, nil, func(_ []byte, decode func(any) error) (bool, error) {
			var c Customer
			if err := decode(&c); err != nil {
				return false, err
			}
			if !seen[c.ID] && strings.EqualFold(strings.TrimSpace(c.Profile.Email), query) {
				seen[c.ID] = true
				out = append(out, c)
			}
			return len(out) < limit, ctx.Err()
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bot: find customers: %w", err)
	}
	return out, nil
}

// Customer returns a customer by id, following merges; an *Error with
// ECodeNotFound when there is none.
func (e *Engine) Customer(ctx context.Context, id string) (Customer, error) {
	var c Customer
	err := e.store.View(ctx, func(tx Tx) error {
		rid, err := ResolveCustomerID(tx, id)
		if err != nil {
			return err
		}
		c, err = GetCustomer(tx, rid)
		return notFoundCustomer(err)
	})
	if err != nil && !IsUserError(err) {
		return Customer{}, fmt.Errorf("bot: customer: %w", err)
	}
	return c, err
}
