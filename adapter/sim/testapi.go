package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// routes wires the Praxis API, the cashier page and the test API.
//
// Test API (JSON in and out, unsigned; errors are {"error": "..."} with 404
// for an unknown token or tid, 409 for a state that forbids the action, 400
// for bad input and 422 for a declined attempt):
//
//	POST /sim/sessions/{auth_token}/pay       {"amount","payment_method","fee","three_ds"} → transaction
//	POST /sim/sessions/{auth_token}/decline   {"amount","reason"} → transaction
//	POST /sim/sessions/{auth_token}/cancel    → transaction
//	POST /sim/sessions/{auth_token}/withdraw  {"amount"} → transaction
//	POST /sim/sessions/{auth_token}/expire    → session
//	POST /sim/transactions/{tid}/3ds          {"approve": bool} → transaction
//	POST /sim/transactions/{tid}/authorize | reject | error | approve | reverse | chargeback → transaction
//	POST /sim/transactions/{tid}/edit         {"amount","fee"} → transaction
//	POST /sim/transactions/{tid}/forge        {"status","set":{path:json},"shift":{"from","to","n"}} → delivery
//	POST /sim/transactions/{tid}/replay       → delivery (the latest genuine notification again, verbatim)
//	GET  /sim/sessions/{auth_token}, /sim/transactions/{tid}
//	GET  /sim/state, /sim/effects, /sim/deliveries, /sim/balances, /sim/faults
//	POST /sim/faults (a Faults object, durations in ms), POST /sim/reset
func (s *Simulator) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, ep := range s.endpoints() {
		mux.Handle("POST "+ep.path, s.api(ep))
	}
	mux.HandleFunc("GET /cashier/session/{token}", s.cashierPage)
	mux.HandleFunc("POST /sim/sessions/{token}/{action}", s.sessionAction)
	mux.HandleFunc("POST /sim/transactions/{tid}/{action}", s.txAction)
	mux.HandleFunc("POST /sim/transactions/{tid}/forge", s.forgeAction)
	mux.HandleFunc("POST /sim/transactions/{tid}/replay", s.forgeAction)
	mux.HandleFunc("GET /sim/sessions/{token}", func(w http.ResponseWriter, r *http.Request) {
		if se, ok := s.Session(r.PathValue("token")); ok {
			writeJSON(w, http.StatusOK, se)
			return
		}
		writeJSON(w, http.StatusNotFound, jsonError{"no session " + strconv.Quote(r.PathValue("token"))})
	})
	mux.HandleFunc("GET /sim/transactions/{tid}", func(w http.ResponseWriter, r *http.Request) {
		tid, err := strconv.ParseInt(r.PathValue("tid"), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, jsonError{"tid must be an integer"})
			return
		}
		if t, ok := s.Transaction(tid); ok {
			writeJSON(w, http.StatusOK, t)
			return
		}
		writeJSON(w, http.StatusNotFound, jsonError{fmt.Sprintf("no transaction %d", tid)})
	})
	mux.HandleFunc("GET /sim/state", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.State()) })
	mux.HandleFunc("GET /sim/effects", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Effects()) })
	mux.HandleFunc("GET /sim/deliveries", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Deliveries()) })
	mux.HandleFunc("GET /sim/balances", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.BalanceList()) })
	mux.HandleFunc("GET /sim/faults", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Faults()) })
	mux.HandleFunc("POST /sim/faults", s.postFaults)
	mux.HandleFunc("POST /sim/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]string{"result": "reset"})
	})
	return mux
}

type jsonError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func errorCode(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalidState):
		return http.StatusConflict
	case errors.Is(err, ErrInvalidInput):
		return http.StatusBadRequest
	case errors.Is(err, ErrDeclined):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// actionInput reads an action's arguments from a JSON body (tests) or a
// form (the cashier page), into out's JSON field names.
func actionInput(r *http.Request, out any) (form bool, err error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			return true, fmt.Errorf("%w: form: %w", ErrInvalidInput, err)
		}
		return true, formInto(r.PostForm, out)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return false, fmt.Errorf("%w: read body: %w", ErrInvalidInput, err)
	}
	if len(bytes.TrimSpace(body)) == 0 || out == nil {
		return false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return false, fmt.Errorf("%w: body: %w", ErrInvalidInput, err)
	}
	return false, nil
}

// formInto maps non-empty form fields onto out through JSON, so a form and a
// JSON body accept the same names.
func formInto(f url.Values, out any) error {
	if out == nil {
		return nil
	}
	m := make(map[string]any)
	for k, vs := range f {
		if k == "return_to" || len(vs) == 0 || vs[0] == "" {
			continue
		}
		v := vs[0]
		switch {
		case v == "true" || v == "false":
			m[k] = v == "true"
		default:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				m[k] = n
			} else {
				m[k] = v
			}
		}
	}
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: form: %w", ErrInvalidInput, err)
	}
	return nil
}

// answer writes an action's result: JSON for tests, a redirect back to the
// cashier page for its forms.
func answer(w http.ResponseWriter, r *http.Request, form bool, v any, err error) {
	if form {
		back := "/cashier/session/" + url.PathEscape(r.FormValue("return_to"))
		msg := "done"
		if err != nil {
			msg = err.Error()
		}
		http.Redirect(w, r, back+"?result="+url.QueryEscape(msg), http.StatusSeeOther)
		return
	}
	if err != nil {
		writeJSON(w, errorCode(err), jsonError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Simulator) sessionAction(w http.ResponseWriter, r *http.Request) {
	token, action := r.PathValue("token"), r.PathValue("action")
	ctx := r.Context()
	var (
		form bool
		err  error
		res  any
	)
	switch action {
	case "pay":
		var opt PayOptions
		if form, err = actionInput(r, &opt); err == nil {
			res, err = s.Pay(ctx, token, opt)
		}
	case "decline":
		var opt DeclineOptions
		if form, err = actionInput(r, &opt); err == nil {
			res, err = s.Decline(ctx, token, opt)
		}
	case "withdraw":
		var in struct {
			Amount int64 `json:"amount"`
		}
		if form, err = actionInput(r, &in); err == nil {
			res, err = s.RequestWithdrawal(ctx, token, in.Amount)
		}
	case "cancel":
		if form, err = actionInput(r, nil); err == nil {
			res, err = s.Cancel(ctx, token)
		}
	case "expire":
		if form, err = actionInput(r, nil); err == nil {
			res, err = s.ExpireSession(ctx, token)
		}
	default:
		writeJSON(w, http.StatusNotFound, jsonError{"unknown session action " + strconv.Quote(action) + "; want pay, decline, withdraw, cancel or expire"})
		return
	}
	answer(w, r, form, res, err)
}

func (s *Simulator) txAction(w http.ResponseWriter, r *http.Request) {
	tid, perr := strconv.ParseInt(r.PathValue("tid"), 10, 64)
	if perr != nil || tid <= 0 {
		writeJSON(w, http.StatusBadRequest, jsonError{"tid must be a positive integer"})
		return
	}
	ctx := r.Context()
	simple := map[string]func() (Transaction, error){
		"authorize":  func() (Transaction, error) { return s.AuthorizeWithdrawal(ctx, tid) },
		"reject":     func() (Transaction, error) { return s.RejectWithdrawal(ctx, tid) },
		"error":      func() (Transaction, error) { return s.ErrorWithdrawal(ctx, tid) },
		"approve":    func() (Transaction, error) { return s.ApprovePayout(ctx, tid) },
		"reverse":    func() (Transaction, error) { return s.ReversePayout(ctx, tid) },
		"chargeback": func() (Transaction, error) { return s.Chargeback(ctx, tid) },
	}
	action := r.PathValue("action")
	var (
		form bool
		err  error
		res  Transaction
	)
	switch fn, ok := simple[action]; {
	case ok:
		if form, err = actionInput(r, nil); err == nil {
			res, err = fn()
		}
	case action == "3ds":
		var in struct {
			Approve bool `json:"approve"`
		}
		if form, err = actionInput(r, &in); err == nil {
			res, err = s.FinishThreeDS(ctx, tid, in.Approve)
		}
	case action == "edit":
		var opt EditOptions
		if form, err = actionInput(r, &opt); err == nil {
			res, err = s.EditWithdrawal(ctx, tid, opt)
		}
	default:
		names := []string{"3ds", "edit"}
		for n := range simple {
			names = append(names, n)
		}
		writeJSON(w, http.StatusNotFound, jsonError{"unknown transaction action " + strconv.Quote(action) + "; want one of " + strings.Join(names, ", ")})
		return
	}
	answer(w, r, form, res, err)
}

func (s *Simulator) postFaults(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, jsonError{"read body: " + err.Error()})
		return
	}
	var f Faults
	if err := f.UnmarshalJSON(body); err != nil {
		writeJSON(w, http.StatusBadRequest, jsonError{"faults: " + err.Error()})
		return
	}
	if err := s.SetFaults(f); err != nil {
		writeJSON(w, http.StatusBadRequest, jsonError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, s.Faults())
}
