package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
)

// sentNote is a notification as it went out: what an attacker who captured
// one webhook call holds (the body and its signature header, no secret).
type sentNote struct {
	app  Application
	url  string
	body []byte
	sig  string
}

func (s *Simulator) remember(gen uint64, o *outbound) {
	s.deliv.Lock()
	defer s.deliv.Unlock()
	if gen == s.deliv.GenLocked() {
		s.sent[o.tid] = sentNote{app: o.app, url: o.url, body: o.body, sig: o.sig}
	}
}

// HeaderForged marks a delivery made by Forge (its value is the
// alteration), so a test's receiver can tell forged copies from genuine
// ones; the adapter ignores it, as it must any header an attacker sets.
const HeaderForged = "Sim-Forged"

// Forgery says how Forge alters the latest genuine notification of a tid
// before sending it again with the genuine signature. The zero Forgery is a
// verbatim replay.
type Forgery struct {
	// Status replaces transaction.transaction_status, which the signature
	// does not cover.
	Status string `json:"status,omitempty"`
	// Set replaces or adds fields by dotted path (e.g. "session.cid",
	// "transaction.amount") with raw JSON values. A signed field changed
	// this way no longer matches the signature (the ingress refuses it),
	// unless Shift restores the concatenation.
	Set map[string]json.RawMessage `json:"set,omitempty"`
	// Shift moves characters between two adjacent signed fields: the
	// signature is a concatenation without separators, so it still matches.
	Shift *Shift `json:"shift,omitempty"`
}

// Shift moves N characters from one signed field into the adjacent one:
// the last N of From to the front of To when From comes first in the
// signature list, else the first N of From to the end of To.
type Shift struct {
	From string `json:"from"`
	To   string `json:"to"`
	N    int    `json:"n"`
}

// describe names the alteration without its values (they may be PII).
func (f Forgery) describe() string {
	var parts []string
	if f.Status != "" {
		parts = append(parts, "status="+f.Status)
	}
	keys := make([]string, 0, len(f.Set))
	for k := range f.Set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, "set "+k)
	}
	if f.Shift != nil {
		parts = append(parts, fmt.Sprintf("shift %d from %s to %s", f.Shift.N, f.Shift.From, f.Shift.To))
	}
	if len(parts) == 0 {
		return "replay"
	}
	return strings.Join(parts, "; ")
}

// Replay sends the latest genuine notification of tid again, byte for byte
// with its signature, once (an attacker's replay, or a late copy).
func (s *Simulator) Replay(ctx context.Context, tid int64) (Delivery, error) {
	return s.Forge(ctx, tid, Forgery{})
}

// Forge sends, once, a copy of the latest genuine notification of tid
// altered as f says, under the genuine signature header, to the session's
// notification_url, and returns the delivery (recorded with Forged set).
// It changes nothing in the simulator's state: find-transaction and
// find-order keep answering the truth. ErrNotFound: no notification of tid
// was sent yet; ErrInvalidInput: the forgery cannot be applied.
func (s *Simulator) Forge(ctx context.Context, tid int64, f Forgery) (Delivery, error) {
	s.deliv.Lock()
	base, ok := s.sent[tid]
	gen := s.deliv.GenLocked()
	s.deliv.Unlock()
	if !ok {
		return Delivery{}, errorf(ErrNotFound, "no notification of tid %d was sent yet", tid)
	}
	body, err := s.alter(base.body, f)
	if err != nil {
		return Delivery{}, err
	}
	res := s.post(ctx, false, base.url, body, base.sig, base.app.Secrets, HeaderForged, f.describe())
	d := Delivery{
		Kind: KindNotification, ApplicationKey: base.app.ApplicationKey, TID: tid, Status: f.Status, URL: base.url,
		Signature: base.sig, HTTPStatus: res.httpStatus, ReplyStatus: res.status, ReplyDescription: res.description,
		ReplySignatureOK: res.sigOK, Error: res.errText(), Duration: res.took, At: res.at, Forged: true, Alteration: f.describe(),
	}
	s.record(gen, d)
	return d, nil
}

// alter applies f to a notification body.
func (s *Simulator) alter(body []byte, f Forgery) ([]byte, error) {
	if f.Status == "" && len(f.Set) == 0 && f.Shift == nil {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: stored notification does not decode: %w", ErrInvalidInput, err)
	}
	if f.Status != "" {
		if err := setPath(doc, "transaction.transaction_status", f.Status); err != nil {
			return nil, err
		}
	}
	for path, raw := range f.Set {
		vdec := json.NewDecoder(bytes.NewReader(raw))
		vdec.UseNumber()
		var v any
		if err := vdec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: set %s: value is not JSON: %w", ErrInvalidInput, path, err)
		}
		if err := setPath(doc, path, v); err != nil {
			return nil, err
		}
	}
	if f.Shift != nil {
		if err := s.shift(doc, *f.Shift); err != nil {
			return nil, err
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: encode forged notification: %w", ErrInvalidInput, err)
	}
	return out, nil
}

func (s *Simulator) shift(doc map[string]any, sh Shift) error {
	fields := s.lists.Get(praxis.ListNotificationRequest).Fields()
	i, j := slices.Index(fields, sh.From), slices.Index(fields, sh.To)
	if i < 0 || j < 0 || (i-j != 1 && j-i != 1) {
		return fmt.Errorf("%w: shift: %s and %s are not adjacent signed fields of a notification (%v)", ErrInvalidInput, sh.From, sh.To, fields)
	}
	from, fnum, err := textAt(doc, sh.From)
	if err != nil {
		return err
	}
	to, tnum, err := textAt(doc, sh.To)
	if err != nil {
		return err
	}
	if sh.N <= 0 || sh.N > len(from) {
		return fmt.Errorf("%w: shift: n must be between 1 and the length of %s", ErrInvalidInput, sh.From)
	}
	if i < j {
		from, to = from[:len(from)-sh.N], from[len(from)-sh.N:]+to
	} else {
		from, to = from[sh.N:], to+from[:sh.N]
	}
	if err := setPath(doc, sh.From, asValue(from, fnum)); err != nil {
		return err
	}
	return setPath(doc, sh.To, asValue(to, tnum))
}

// textAt is a field's text as the signature concatenates it.
func textAt(doc map[string]any, path string) (string, bool, error) {
	cur := any(doc)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, fmt.Errorf("%w: %s: not an object on the way", ErrInvalidInput, path)
		}
		cur = m[k]
	}
	switch v := cur.(type) {
	case string:
		return v, false, nil
	case json.Number:
		return v.String(), true, nil
	}
	return "", false, fmt.Errorf("%w: %s is not a string or number", ErrInvalidInput, path)
}

// asValue keeps a number a number when its new text still is one.
func asValue(text string, wasNumber bool) any {
	if wasNumber {
		if _, err := strconv.ParseFloat(text, 64); err == nil && text != "" && text[0] != '+' && text[0] != '.' &&
			!(len(text) > 1 && text[0] == '0' && text[1] != '.') {
			return json.Number(text)
		}
	}
	return text
}

func setPath(doc map[string]any, path string, v any) error {
	keys := strings.Split(path, ".")
	cur := doc
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return fmt.Errorf("%w: %s: %s is not an object", ErrInvalidInput, path, k)
		}
		cur = next
	}
	cur[keys[len(keys)-1]] = v
	return nil
}

// forgeAction serves POST /sim/transactions/{tid}/forge (a Forgery body)
// and /replay (none).
func (s *Simulator) forgeAction(w http.ResponseWriter, r *http.Request) {
	tid, perr := strconv.ParseInt(r.PathValue("tid"), 10, 64)
	if perr != nil || tid <= 0 {
		writeJSON(w, http.StatusBadRequest, jsonError{"tid must be a positive integer"})
		return
	}
	var f Forgery
	if strings.HasSuffix(r.URL.Path, "/forge") {
		if _, err := actionInput(r, &f); err != nil {
			writeJSON(w, errorCode(err), jsonError{err.Error()})
			return
		}
	}
	d, err := s.Forge(r.Context(), tid, f)
	answer(w, r, false, d, err)
}
