package rebillysim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// testRoutes wires the test API (JSON in and out, no API key; errors are
// {"error": "..."} with 404 for an unknown id, 409 for a state that forbids
// the action and 400 for bad input):
//
//	POST /sim/cashiers/{id}/pay          {"amount" (minor units), "result", "timeout"} → transaction
//	POST /sim/cashiers/{id}/expire       → cashier
//	POST /sim/transactions/{id}/finish   {"result"} → transaction
//	POST /sim/payout-requests/{id}/fulfill → payout request
//	GET  /sim/transactions, /sim/effects, /sim/deliveries, /sim/faults
//	POST /sim/faults (durations in ms), POST /sim/reset
func (s *Simulator) testRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /sim/cashiers/{id}/pay", func(w http.ResponseWriter, r *http.Request) {
		var opt PayOptions
		if !readJSON(w, r, &opt) {
			return
		}
		t, err := s.PayDeposit(r.Context(), r.PathValue("id"), opt)
		answer(w, t, err)
	})
	mux.HandleFunc("POST /sim/cashiers/{id}/expire", func(w http.ResponseWriter, r *http.Request) {
		c, err := s.ExpireCashier(r.Context(), r.PathValue("id"))
		answer(w, c, err)
	})
	mux.HandleFunc("POST /sim/transactions/{id}/finish", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Result string `json:"result"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		t, err := s.Finish(r.Context(), r.PathValue("id"), in.Result)
		answer(w, t, err)
	})
	mux.HandleFunc("POST /sim/payout-requests/{id}/fulfill", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.FulfillPayoutRequest(r.Context(), r.PathValue("id"))
		answer(w, p, err)
	})
	mux.HandleFunc("GET /sim/transactions", func(w http.ResponseWriter, _ *http.Request) { answer(w, s.Transactions(), nil) })
	mux.HandleFunc("GET /sim/effects", func(w http.ResponseWriter, _ *http.Request) { answer(w, s.Effects(), nil) })
	mux.HandleFunc("GET /sim/deliveries", func(w http.ResponseWriter, _ *http.Request) { answer(w, s.Deliveries(), nil) })
	mux.HandleFunc("GET /sim/faults", func(w http.ResponseWriter, _ *http.Request) { answer(w, toFaultsJSON(s.Faults()), nil) })
	mux.HandleFunc("POST /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var in faultsJSON
		if !readJSON(w, r, &in) {
			return
		}
		if err := s.SetFaults(in.faults()); err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		answer(w, toFaultsJSON(s.Faults()), nil)
	})
	mux.HandleFunc("POST /sim/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		answer(w, map[string]string{"result": "reset"}, nil)
	})
}

// faultsJSON is Faults on the test API: durations in milliseconds.
type faultsJSON struct {
	Endpoints     map[string]endpointFaultsJSON `json:"endpoints,omitempty"`
	DuplicateRate float64                       `json:"duplicate_rate"`
}

type endpointFaultsJSON struct {
	LatencyMS            float64 `json:"latency_ms"`
	JitterMS             float64 `json:"jitter_ms"`
	ServerErrorRate      float64 `json:"server_error_rate"`
	ErrorAfterEffectRate float64 `json:"error_after_effect_rate"`
	LostReplyRate        float64 `json:"lost_reply_rate"`
	TimeoutRate          float64 `json:"timeout_rate"`
}

func (in faultsJSON) faults() Faults {
	f := Faults{DuplicateRate: in.DuplicateRate}
	if len(in.Endpoints) > 0 {
		f.Endpoints = map[string]EndpointFaults{}
		for op, e := range in.Endpoints {
			f.Endpoints[op] = EndpointFaults{
				Latency: time.Duration(e.LatencyMS * float64(time.Millisecond)), Jitter: time.Duration(e.JitterMS * float64(time.Millisecond)),
				ServerErrorRate: e.ServerErrorRate, ErrorAfterEffectRate: e.ErrorAfterEffectRate, LostReplyRate: e.LostReplyRate, TimeoutRate: e.TimeoutRate,
			}
		}
	}
	return f
}

func toFaultsJSON(f Faults) faultsJSON {
	out := faultsJSON{DuplicateRate: f.DuplicateRate, Endpoints: map[string]endpointFaultsJSON{}}
	for op, e := range f.Endpoints {
		out.Endpoints[op] = endpointFaultsJSON{
			LatencyMS: float64(e.Latency) / float64(time.Millisecond), JitterMS: float64(e.Jitter) / float64(time.Millisecond),
			ServerErrorRate: e.ServerErrorRate, ErrorAfterEffectRate: e.ErrorAfterEffectRate, LostReplyRate: e.LostReplyRate, TimeoutRate: e.TimeoutRate,
		}
	}
	return out
}

func readJSON(w http.ResponseWriter, r *http.Request, out any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil && len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields() // a misspelt option must not silently do nothing
		err = dec.Decode(out)
	}
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrNotFound):
			code = http.StatusNotFound
		case errors.Is(err, ErrInvalidState):
			code = http.StatusConflict
		case errors.Is(err, ErrInvalidInput):
			code = http.StatusBadRequest
		}
		writeErr(w, code, err)
		return
	}
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	body, _ := json.Marshal(map[string]string{"error": err.Error()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
