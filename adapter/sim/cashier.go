package sim

import (
	"html/template"
	"net/http"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// cashierTmpl is the page a session's redirect_url opens: what the session
// is about and buttons that post to the test API, so the demo can be played
// by hand. Customer names are not shown.
var cashierTmpl = template.Must(template.New("cashier").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Praxis simulator — {{.S.OrderID}}</title>
<style>body{font-family:sans-serif;max-width:44em;margin:2em auto}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em}form{display:inline-block;margin:.3em}.note{background:#ffd;padding:.5em}</style>
</head><body>
<h1>Praxis simulator cashier</h1>
{{if .Result}}<p class="note">{{.Result}}</p>{{end}}
<table>
<tr><th>Order</th><td>{{.S.OrderID}}</td></tr>
<tr><th>Intent</th><td>{{.S.Intent}}</td></tr>
<tr><th>Amount</th><td>{{if .S.Amount}}{{.Amount}} {{.S.Currency}}{{else}}customer chooses ({{.S.Currency}}){{end}}</td></tr>
{{if .S.Balance}}<tr><th>Balance</th><td>{{.Balance}} {{.S.Currency}}</td></tr>{{end}}
<tr><th>Session status</th><td>{{.S.Status}}</td></tr>
<tr><th>Expires</th><td>{{.S.ExpiresAt.UTC.Format "2006-01-02 15:04:05 MST"}}</td></tr>
</table>
{{if .Txs}}<h2>Transactions</h2><table><tr><th>tid</th><th>type</th><th>status</th><th>amount (minor units)</th><th></th></tr>
{{range .Txs}}<tr><td>{{.TID}}</td><td>{{.Type}}</td><td>{{.Status}}</td><td>{{.Amount}}</td><td>
{{if eq .Status "initialized"}}
<form method="post" action="/sim/transactions/{{.TID}}/3ds"><input type="hidden" name="return_to" value="{{$.S.AuthToken}}"><input type="hidden" name="approve" value="true"><button>Pass 3-D Secure</button></form>
<form method="post" action="/sim/transactions/{{.TID}}/3ds"><input type="hidden" name="return_to" value="{{$.S.AuthToken}}"><input type="hidden" name="approve" value="false"><button>Fail 3-D Secure</button></form>
{{end}}</td></tr>{{end}}</table>{{end}}
<h2>Act as the customer</h2>
{{if eq .S.Intent "withdrawal"}}
<form method="post" action="/sim/sessions/{{.S.AuthToken}}/withdraw"><input type="hidden" name="return_to" value="{{.S.AuthToken}}">
<label>Amount (minor units) <input name="amount" type="number" min="1" required></label> <button>Request withdrawal</button></form>
{{else}}
<form method="post" action="/sim/sessions/{{.S.AuthToken}}/pay"><input type="hidden" name="return_to" value="{{.S.AuthToken}}">
<label>Amount (minor units, empty = session amount) <input name="amount" type="number" min="1"></label> <button>Pay</button></form>
<form method="post" action="/sim/sessions/{{.S.AuthToken}}/pay"><input type="hidden" name="return_to" value="{{.S.AuthToken}}"><input type="hidden" name="three_ds" value="true"><button>Pay with 3-D Secure</button></form>
<form method="post" action="/sim/sessions/{{.S.AuthToken}}/decline"><input type="hidden" name="return_to" value="{{.S.AuthToken}}"><button>Card declined</button></form>
<form method="post" action="/sim/sessions/{{.S.AuthToken}}/cancel"><input type="hidden" name="return_to" value="{{.S.AuthToken}}"><button>Cancel</button></form>
{{end}}
<form method="post" action="/sim/sessions/{{.S.AuthToken}}/expire"><input type="hidden" name="return_to" value="{{.S.AuthToken}}"><button>Let the session expire</button></form>
</body></html>
`))

type cashierView struct {
	S       Session
	Txs     []Transaction
	Amount  string
	Balance string
	Result  string
}

func (s *Simulator) cashierPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	s.mu.Lock()
	se := s.findSession(token)
	if se == nil || se.kind == kindRefund {
		s.mu.Unlock()
		http.Error(w, "Session not found or expired", http.StatusNotFound)
		return
	}
	if se.status == sessionCreated {
		se.status = sessionOpen
	}
	v := cashierView{S: se.snapshot(), Result: r.URL.Query().Get("result")}
	for _, tid := range se.tids {
		if t := se.app.txs[tid]; t != nil {
			v.Txs = append(v.Txs, t.snapshot())
		}
	}
	s.mu.Unlock()
	cur, _ := praxis.NewCurrencies(nil)
	if v.S.Amount != nil {
		v.Amount = cur.Format(*v.S.Amount, v.S.Currency)
	}
	if v.S.Balance != nil {
		v.Balance = cur.Format(*v.S.Balance, v.S.Currency)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := cashierTmpl.Execute(w, v); err != nil {
		s.log.Warn().Err(err).Msg("render cashier page")
	}
}
