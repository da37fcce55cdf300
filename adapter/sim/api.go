package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// Error statuses the simulator answers with (API.md §9). Every one is sent
// without a signature.
const (
	// StatusBadRequest covers Bad request, Timestamp invalid, Input
	// validation failed, Transaction not found! and a reused order_id.
	StatusBadRequest = 400
	// StatusAccountNotFound covers an unknown merchant, a signature
	// mismatch and an unknown application ("Website not found").
	StatusAccountNotFound = 401
	// StatusInvalidState is the business error of an action the
	// transaction's state does not allow (capturing what is not authorized,
	// refunding more than remains). Praxis' exact code is UNCONFIRMED; any
	// positive status is a business error to a client.
	StatusInvalidState = 400
	// StatusGeneric is "Generic Error": the simulator failed internally.
	StatusGeneric = 999
	// StatusInternal is the transient failure the negative-status fault
	// answers with.
	StatusInternal = -1
)

// Documented error descriptions (API.md §9).
const (
	DescHeaderMissing   = "GT-Authentication header is missing"
	DescBadRequest      = "Bad request"
	DescAccountNotFound = "Account not found"
	DescWebsiteNotFound = "Website not found"
	DescTimestamp       = "Timestamp invalid"
	DescNotFound        = "Transaction not found!"
	DescOrderNotUnique  = "The order_id value is not unique!"
	DescGeneric         = "Generic Error"
	DescInputPrefix     = "Input validation failed: "
)

// maxRequestBytes bounds a request body.
const maxRequestBytes = 1 << 20

// maxLinkLifetime is how far ahead a payment link may expire (API.md §5.2).
const maxLinkLifetime = 72 * time.Hour

type apiError struct {
	httpStatus int
	status     int
	desc       string
}

var (
	errHeaderMissing  = &apiError{http.StatusBadRequest, StatusBadRequest, DescHeaderMissing}
	errBadRequest     = &apiError{http.StatusOK, StatusBadRequest, DescBadRequest}
	errAccount        = &apiError{http.StatusOK, StatusAccountNotFound, DescAccountNotFound}
	errWebsite        = &apiError{http.StatusOK, StatusAccountNotFound, DescWebsiteNotFound}
	errTimestamp      = &apiError{http.StatusOK, StatusBadRequest, DescTimestamp}
	errTxNotFound     = &apiError{http.StatusOK, StatusBadRequest, DescNotFound}
	errOrderNotUnique = &apiError{http.StatusOK, StatusBadRequest, DescOrderNotUnique}
	errGeneric        = &apiError{http.StatusOK, StatusGeneric, DescGeneric}
	errNegative       = &apiError{http.StatusOK, StatusInternal, "Internal error, please try again later"}
)

func inputErr(format string, args ...any) *apiError {
	return &apiError{http.StatusOK, StatusBadRequest, DescInputPrefix + fmt.Sprintf(format, args...)}
}

func stateErr(format string, args ...any) *apiError {
	return &apiError{http.StatusOK, StatusInvalidState, fmt.Sprintf(format, args...)}
}

// endpoint is one Praxis API path with its signature lists and handler.
type endpoint struct {
	path  string
	req   praxis.ListName
	resp  praxis.ListName
	serve func(r *http.Request, a *appState, body []byte) (*wireResponse, *apiError)
}

func (s *Simulator) endpoints() []endpoint {
	return []endpoint{
		{praxis.PathCashier, praxis.ListCashierRequest, praxis.ListCashierResponse, s.sessionHandler(false)},
		{praxis.PathVirtualTerminal, praxis.ListVirtualTerminalRequest, praxis.ListVirtualTerminalResponse, s.sessionHandler(true)},
		{praxis.PathManageTransaction, praxis.ListManageTransactionRequest, praxis.ListManageTransactionResponse, s.manageTransaction},
		{praxis.PathManageWithdrawal, praxis.ListManageWithdrawalRequest, praxis.ListManageWithdrawalResponse, s.manageWithdrawal},
		{praxis.PathFindTransaction, praxis.ListFindTransactionRequest, praxis.ListFindTransactionResponse, s.findTransaction},
		{praxis.PathFindOrder, praxis.ListFindOrderRequest, praxis.ListFindOrderResponse, s.findOrder},
		{praxis.PathRefund, praxis.ListRefundRequest, praxis.ListRefundResponse, s.refund},
	}
}

type faultKind int

const (
	faultNone faultKind = iota
	faultNegative
	faultServerError
	faultTimeout
)

// drawFault draws the endpoint's fault; the kinds after faultNone are in
// the order of the rates.
func (s *Simulator) drawFault(ef EndpointFaults) faultKind {
	return faultKind(s.rng.Draw(ef.NegativeRate, ef.ServerErrorRate, ef.TimeoutRate) + 1)
}

// api wraps an endpoint with call counting, faults, authentication and the
// signed answer.
func (s *Simulator) api(ep endpoint) http.HandlerFunc {
	calls := s.calls[ep.path]
	return func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		ef := s.faults.Load().endpoint(ep.path)
		if d := ef.Latency + s.rng.DurationN(ef.Jitter); d > 0 && !simkit.Sleep(r.Context(), d) {
			return
		}
		switch fault := s.drawFault(ef); fault {
		case faultNegative:
			s.writeError(w, r, ep.path, errNegative)
		case faultServerError:
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		default:
			resp, secret, aerr := s.serveAPI(ep, r)
			switch {
			case fault == faultTimeout:
				s.hangUp(w, r)
			case aerr != nil:
				s.writeError(w, r, ep.path, aerr)
			default:
				s.writeSigned(w, r, ep, secret, resp)
			}
		}
	}
}

// serveAPI authenticates the request (the order of checks is in the package
// doc) and runs the endpoint.
func (s *Simulator) serveAPI(ep endpoint, r *http.Request) (*wireResponse, string, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		return nil, "", errBadRequest
	}
	header := r.Header.Get(praxis.HeaderSignature)
	if header == "" {
		return nil, "", errHeaderMissing
	}
	var v [4]praxis.Value
	if err := s.common.Extract(body, v[:]); err != nil {
		return nil, "", errBadRequest
	}
	if v[0].Kind != praxis.KindString {
		return nil, "", inputErr("merchant_id is required (a string)")
	}
	merchantID, _ := v[0].Text()
	if !s.merch[merchantID] {
		return nil, "", errAccount
	}
	appKey, _ := v[1].Text()
	a := s.apps[appKey]
	if v[1].Kind != praxis.KindString || a == nil || a.app.MerchantID != merchantID {
		return nil, "", errWebsite
	}
	if err := s.lists.Get(ep.req).Verify(body, header, a.app.Secrets...); err != nil {
		if errors.Is(err, praxis.ErrSignatureMismatch) {
			return nil, "", errAccount
		}
		return nil, "", inputErr("%v", err)
	}
	ts, err := v[2].Int()
	switch {
	case !v[2].Present():
		return nil, "", inputErr("timestamp is required")
	case err != nil:
		return nil, "", inputErr("timestamp must be an integer (Unix seconds)")
	}
	if now := s.now().Unix(); ts > now || now-ts >= 60 {
		return nil, "", errTimestamp
	}
	if ver, _ := v[3].Text(); ver != praxis.Version {
		return nil, "", inputErr("version must be %q", praxis.Version)
	}
	resp, aerr := ep.serve(r, a, body)
	return resp, a.app.Secrets[0], aerr
}

type errorBody struct {
	Status      int    `json:"status"`
	Description string `json:"description"`
	Version     string `json:"version"`
	Timestamp   int64  `json:"timestamp"`
}

// writeError answers a basic error: unsigned, as Praxis does.
func (s *Simulator) writeError(w http.ResponseWriter, r *http.Request, path string, e *apiError) {
	body, _ := json.Marshal(errorBody{e.status, e.desc, praxis.Version, s.now().Unix()})
	w.Header().Set("Content-Type", praxis.ContentType)
	w.WriteHeader(e.httpStatus)
	_, _ = w.Write(body)
	s.log.Debug().Str("path", path).Str("remote", r.RemoteAddr).Int("status", e.status).Str("description", e.desc).Msg("praxis call refused")
}

func (s *Simulator) writeSigned(w http.ResponseWriter, r *http.Request, ep endpoint, secret string, resp *wireResponse) {
	resp.Status, resp.Description, resp.Version, resp.Timestamp = 0, "Ok", praxis.Version, s.now().Unix()
	body, err := json.Marshal(resp)
	if err != nil {
		s.log.Error().Err(err).Str("path", ep.path).Msg("encode response")
		s.writeError(w, r, ep.path, errGeneric)
		return
	}
	sig, err := s.lists.Get(ep.resp).Sign(body, secret)
	if err != nil {
		s.log.Error().Err(err).Str("path", ep.path).Msg("sign response")
		s.writeError(w, r, ep.path, errGeneric)
		return
	}
	h := w.Header()
	h.Set("Content-Type", praxis.ContentType)
	h.Set(praxis.HeaderSignature, sig.String())
	_, _ = w.Write(body)
}

// hangUp is the "performed, then timed out" fault: the connection closes
// without an answer, or, where it cannot be taken over (HTTP/2), the handler
// waits until the client gives up.
func (s *Simulator) hangUp(w http.ResponseWriter, r *http.Request) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	s.deliv.Hold(r.Context())
}

// decodeErr turns a JSON decoding error into the field-naming answer.
func decodeErr(err error) *apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return inputErr("%s must be %s, not a %s", te.Field, describeType(te.Type), te.Value)
	}
	return inputErr("%v", err)
}

func describeType(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a value of another type"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	}
	return "a " + t.String()
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// baseURL is where this simulator's pages are reachable.
func (s *Simulator) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Simulator) sessionHandler(vt bool) func(*http.Request, *appState, []byte) (*wireResponse, *apiError) {
	return func(r *http.Request, a *appState, body []byte) (*wireResponse, *apiError) {
		var req praxis.SessionRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, decodeErr(err)
		}
		now := s.now()
		if aerr := checkSessionRequest(&req, vt, now); aerr != nil {
			return nil, aerr
		}
		kind := kindCashier
		switch {
		case vt:
			kind = kindVirtualTerminal
		case req.SessionType == praxis.SessionTypePaymentLink:
			kind = kindPaymentLink
		}
		expires := now.Add(s.cfg.SessionLifetime)
		if req.Expires != nil {
			expires = time.Unix(*req.Expires, 0)
		}
		se := &session{
			app: a, kind: kind, intent: req.Intent, status: sessionCreated, orderID: req.OrderID,
			currency: req.Currency, amount: copyPtr(req.Amount), balance: copyPtr(req.Balance), cid: req.CID,
			customerToken: req.CustomerToken, paymentMethod: req.PaymentMethod, gateway: req.Gateway,
			validationURL: req.ValidationURL, notificationURL: req.NotificationURL, returnURL: req.ReturnURL,
			variables: [3]string{req.Variable1, req.Variable2, req.Variable3}, created: now, expires: expires,
		}
		if se.customerToken == "" {
			se.customerToken = customerToken(a.app.ApplicationKey, req.CID)
		}
		if cd := req.CustomerData; cd != nil {
			se.country, se.firstName, se.lastName = cd.Country, cd.FirstName, cd.LastName
		}
		base := s.baseURL(r)

		s.mu.Lock()
		defer s.mu.Unlock()
		if a.orders[req.OrderID] != nil {
			return nil, errOrderNotUnique
		}
		se.token = s.rng.Hex(32)
		se.page = base + "/cashier/session/" + se.token
		a.sessions[se.token] = se
		a.orders[se.orderID] = se
		a.order = append(a.order, se)
		cust, ws := se.wireCustomer(), se.wireSession()
		return &wireResponse{RedirectURL: &se.page, Customer: &cust, Session: &ws}, nil
	}
}

func checkSessionRequest(req *praxis.SessionRequest, vt bool, now time.Time) *apiError {
	switch req.Intent {
	case praxis.IntentPayment, praxis.IntentAuthorization, praxis.IntentWithdrawal:
	default:
		return inputErr("intent must be payment, authorization or withdrawal")
	}
	switch {
	case !praxis.IsCurrencyCode(req.Currency):
		return inputErr("currency must be a three-letter ISO 4217 code")
	case req.Amount != nil && *req.Amount <= 0:
		return inputErr("amount must be a positive integer in minor units")
	case req.Balance != nil && *req.Balance < 0:
		return inputErr("balance must not be negative")
	case req.CID == "" || len(req.CID) > 50:
		return inputErr("cid is required (at most 50 characters)")
	case req.Locale == "" || len(req.Locale) > 5:
		return inputErr("locale is required (like en-GB)")
	case req.OrderID == "" || len(req.OrderID) > 50:
		return inputErr("order_id is required (at most 50 characters)")
	case !httpURL(req.NotificationURL):
		return inputErr("notification_url is required (an absolute http(s) URL)")
	case !httpURL(req.ReturnURL):
		return inputErr("return_url is required (an absolute http(s) URL)")
	case req.ValidationURL != "" && !httpURL(req.ValidationURL):
		return inputErr("validation_url must be an absolute http(s) URL")
	case req.CustomerToken == "" && req.CustomerData == nil:
		return inputErr("customer_data or customer_token is required")
	case vt && req.AgentName == "":
		return inputErr("agent_name is required")
	}
	if cd := req.CustomerData; cd != nil {
		for _, f := range []struct{ name, v string }{{"country", cd.Country}, {"first_name", cd.FirstName}, {"last_name", cd.LastName}, {"email", cd.Email}} {
			if f.v == "" {
				return inputErr("customer_data.%s is required", f.name)
			}
		}
	}
	switch req.SessionType {
	case "", praxis.SessionTypeCashier:
		if req.Expires != nil {
			return inputErr("expires is only allowed with session_type payment_link")
		}
	case praxis.SessionTypePaymentLink:
		if e := req.Expires; e != nil && (*e <= now.Unix() || *e > now.Add(maxLinkLifetime).Unix()) {
			return inputErr("expires must be in the future and at most 72 hours ahead")
		}
	default:
		return inputErr("session_type must be cashier or payment_link")
	}
	return nil
}

func (s *Simulator) manageTransaction(_ *http.Request, a *appState, body []byte) (*wireResponse, *apiError) {
	var req praxis.ManageTransactionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, decodeErr(err)
	}
	if req.Intent != praxis.IntentCaptureAuthorization && req.Intent != praxis.IntentCancelAuthorization {
		return nil, inputErr("intent must be %s or %s", praxis.IntentCaptureAuthorization, praxis.IntentCancelAuthorization)
	}
	if req.TID <= 0 {
		return nil, inputErr("tid is required (a positive integer)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := a.txs[req.TID]
	switch {
	case t == nil:
		return nil, errTxNotFound
	case t.typ != praxis.TypeAuthorization:
		return nil, stateErr("Transaction %d is a %s, not an authorization", t.tid, t.typ)
	case t.status != praxis.StatusAuthorized:
		return nil, stateErr("Transaction %d is %s; only an authorized transaction can be captured or cancelled", t.tid, t.status)
	}
	if req.Intent == praxis.IntentCaptureAuthorization {
		s.effects.Captures[t.tid]++
		s.setStatus(t, praxis.StatusApproved)
	} else {
		s.effects.Cancels[t.tid]++
		s.setStatus(t, praxis.StatusCancelled)
	}
	return &wireResponse{Transaction: t.wireTransaction()}, nil
}

func (s *Simulator) manageWithdrawal(_ *http.Request, a *appState, body []byte) (*wireResponse, *apiError) {
	var req praxis.ManageWithdrawalRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, decodeErr(err)
	}
	if req.Intent != praxis.IntentCompleteWithdrawalRequest && req.Intent != praxis.IntentCancelWithdrawalRequest {
		return nil, inputErr("intent must be %s or %s", praxis.IntentCompleteWithdrawalRequest, praxis.IntentCancelWithdrawalRequest)
	}
	if req.WithdrawalRequestID <= 0 {
		return nil, inputErr("withdrawal_request_id is required (a positive integer)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := a.txs[req.WithdrawalRequestID]
	switch {
	case w == nil:
		return nil, errTxNotFound
	case !w.isRequest():
		return nil, stateErr("Transaction %d is a %s, not a withdrawal request", w.tid, w.typ)
	case !notStarted(w):
		return nil, stateErr("Withdrawal request %d is %s; only a requested or authorized request can be completed or cancelled", w.tid, w.status)
	}
	if req.Intent == praxis.IntentCancelWithdrawalRequest {
		s.effects.WithdrawalCancels[w.tid]++
		s.setStatus(w, praxis.StatusCancelled)
		return &wireResponse{Transaction: w.wireTransaction()}, nil
	}
	s.effects.WithdrawalCompletes[w.tid]++
	hold := a.app.HoldPayouts
	if a.app.WithdrawalMode == WithdrawalSameID {
		if req.Gateway != "" {
			w.gateway = req.Gateway
		}
		s.setStatus(w, praxis.StatusInProgress)
		if !hold {
			s.payoutApprovedLocked(w)
		}
		return &wireResponse{Transaction: w.wireTransaction()}, nil
	}
	p := s.newTx(w.sess, praxis.TypePayout, w.amount)
	p.fee, p.withdrawalRequestID, p.paymentMethod = w.fee, w.tid, w.paymentMethod
	p.transactionID = "sim-" + s.rng.Hex(20)
	if req.Gateway != "" {
		p.gateway = req.Gateway
	}
	w.payouts = append(w.payouts, p.tid)
	// Praxis does not notify request states like split (API.md §6).
	w.status = praxis.StatusSplit
	w.history = append(w.history, praxis.StatusSplit)
	s.setStatus(p, praxis.StatusPending)
	if !hold {
		s.payoutApprovedLocked(p)
	}
	return &wireResponse{Transaction: p.wireTransaction()}, nil
}

func (s *Simulator) findTransaction(_ *http.Request, a *appState, body []byte) (*wireResponse, *apiError) {
	var req praxis.FindTransactionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, decodeErr(err)
	}
	if req.TID <= 0 {
		return nil, inputErr("tid is required (a positive integer)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := a.txs[req.TID]
	if t == nil {
		return nil, errTxNotFound
	}
	cust, ws := t.sess.wireCustomer(), t.sess.wireSession()
	return &wireResponse{Customer: &cust, Session: &ws, Transaction: t.wireTransaction()}, nil
}

// findOrder answers with the session's latest transaction that is not
// rejected, else its latest rejected one (API.md §5.7), else none.
func (s *Simulator) findOrder(_ *http.Request, a *appState, body []byte) (*wireResponse, *apiError) {
	var req praxis.FindOrderRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, decodeErr(err)
	}
	if req.OrderID == "" {
		return nil, inputErr("order_id is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se := a.orders[req.OrderID]
	if se == nil {
		return nil, errTxNotFound
	}
	var pick, rejected *tx
	for i := len(se.tids) - 1; i >= 0; i-- {
		t := a.txs[se.tids[i]]
		if t == nil {
			continue
		}
		if t.status != praxis.StatusRejected {
			pick = t
			break
		}
		if rejected == nil {
			rejected = t
		}
	}
	if pick == nil {
		pick = rejected
	}
	cust, ws := se.wireCustomer(), se.wireSession()
	resp := &wireResponse{Customer: &cust, Session: &ws}
	if pick != nil {
		resp.Transaction = pick.wireTransaction()
	}
	return resp, nil
}

func (s *Simulator) refund(_ *http.Request, a *appState, body []byte) (*wireResponse, *apiError) {
	var req praxis.RefundRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, decodeErr(err)
	}
	switch {
	case req.TransactionType != praxis.TypeRefund:
		return nil, inputErr("transaction_type must be refund")
	case !praxis.IsCurrencyCode(req.Currency):
		return nil, inputErr("currency must be a three-letter ISO 4217 code")
	case req.Amount <= 0:
		return nil, inputErr("amount must be a positive integer in minor units")
	case req.CID == "":
		return nil, inputErr("cid is required")
	case req.Locale == "":
		return nil, inputErr("locale is required (like en-GB)")
	case req.OrderID == "" || len(req.OrderID) > 50:
		return nil, inputErr("order_id is required (at most 50 characters)")
	case req.ReferenceID <= 0:
		return nil, inputErr("reference_id is required (the tid of the deposit)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := a.txs[req.ReferenceID]
	switch {
	case d == nil:
		return nil, errTxNotFound
	case !d.isDeposit():
		return nil, stateErr("Transaction %d is a %s; only a deposit can be refunded", d.tid, d.typ)
	case d.status != praxis.StatusApproved && d.status != praxis.StatusPartialRefund:
		return nil, stateErr("Transaction %d is %s; only an approved deposit can be refunded", d.tid, d.status)
	case req.Currency != d.currency:
		return nil, inputErr("currency must be %s, the deposit's currency", d.currency)
	case req.CID != d.sess.cid:
		return nil, inputErr("cid does not match the deposit's customer")
	case req.Amount > d.amount-d.refunded:
		return nil, stateErr("Refund amount %d exceeds the refundable remainder %d of transaction %d", req.Amount, d.amount-d.refunded, d.tid)
	case a.orders[req.OrderID] != nil:
		return nil, errOrderNotUnique
	}
	ds := d.sess
	now := s.now()
	rs := &session{
		app: a, token: s.rng.Hex(32), kind: kindRefund, intent: ds.intent, status: sessionSuccessful,
		orderID: req.OrderID, currency: d.currency, amount: int64Ptr(req.Amount), cid: req.CID,
		customerToken: ds.customerToken, country: ds.country, firstName: ds.firstName, lastName: ds.lastName,
		paymentMethod: ds.paymentMethod, gateway: ds.gateway, notificationURL: ds.notificationURL,
		variables: [3]string{req.Variable1, req.Variable2, req.Variable3}, created: now, expires: now,
	}
	a.sessions[rs.token] = rs
	a.orders[rs.orderID] = rs
	a.order = append(a.order, rs)
	rt := s.newTx(rs, praxis.TypeRefund, req.Amount)
	rt.referenceID, rt.paymentMethod, rt.gateway, rt.cardToken = d.tid, d.paymentMethod, d.gateway, d.cardToken
	rt.transactionID = "sim-" + s.rng.Hex(20)
	s.effects.Refunds[d.tid]++
	s.setStatus(rt, praxis.StatusApproved)
	d.refunded += req.Amount
	if d.refunded == d.amount {
		s.setStatus(d, praxis.StatusRefund)
	} else {
		s.setStatus(d, praxis.StatusPartialRefund)
	}
	cust, ws := rs.wireCustomer(), rs.wireSession()
	return &wireResponse{Customer: &cust, Session: &ws, Transaction: rt.wireTransaction()}, nil
}
