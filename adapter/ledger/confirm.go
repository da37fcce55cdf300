package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/adapter/lifecycle"
	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Suspect reasons.
const (
	// SuspectNotFound: Praxis does not know the tid.
	SuspectNotFound = "not_found"
	// SuspectDisagrees: Praxis knows the tid, at a status that does not
	// confirm the notification's (or as another transaction type).
	SuspectDisagrees = "disagrees"
	// SuspectLookupRefused: Praxis refused the lookup (Agent API disabled,
	// credentials, no credentials configured for the application).
	SuspectLookupRefused = "lookup_refused"
)

// Confirmation outcomes (metric praxis_ledger_confirmations_total).
const (
	confirmed = "confirmed" // Praxis' lookup confirms the notification
	trusted   = "trusted"   // trust_signature: booked as signed
	recheck   = "recheck"   // not (yet) confirmed: looked up again later
	suspect   = "suspect"   // not confirmed within the horizon
)

// errLookupUnknown wraps a lookup with no trustworthy answer (Praxis or
// the network failed): retried with backoff like any outage.
var errLookupUnknown = errors.New("praxis lookup gave no trustworthy answer")

// verdict is what the confirmation step decided for one delivery.
type verdict struct {
	outcome string
	reason  string // suspect reason, when not confirmed
	truth   *praxis.TransactionResponse
	in      lifecycle.Input // what to book: Praxis' answer, or the notification when trusted
	found   bool
	badFee  string // Praxis' fee when it is not an integer (kept out of instructions)
}

// confirm looks the notification's tid up and decides what to book. An
// error is an outage (retry); otherwise the verdict says whether the
// notification is confirmed, and in holds Praxis' own view when it knows
// the tid (booked in every case: it is the truth).
func (s *Service) confirm(ctx context.Context, p parsed, stored time.Time, log zerolog.Logger) (verdict, error) {
	if s.cfg.Trust[p.app] {
		return verdict{outcome: trusted, in: p.in, found: true}, nil
	}
	label := s.appLabel(p.app)
	lctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout+s.cfg.RecheckMax)
	defer cancel()
	start := s.cfg.Now()
	resp, err, shared := s.lookups.find(lctx, p.app, p.in.TID, stored)
	if !shared {
		s.metrics.LookupDuration.Observe(s.cfg.Now().Sub(start).Seconds())
	}
	v := praxis.ReadFindTransaction(p.in.TID, resp, err)
	kind := v.String()
	if shared {
		kind = "shared"
	}
	s.metrics.Lookups.WithLabelValues(label, kind).Inc()
	switch {
	case v == praxis.LookupNotFound:
		return verdict{outcome: recheck, reason: SuspectNotFound}, nil
	case v == praxis.LookupUnknown && (errors.Is(err, ErrNoCredentials) || (praxis.Classify(err) == praxis.OutcomeRejected && err != nil)):
		log.Warn().Err(err).Msg("Praxis refused the lookup; the notification cannot be confirmed")
		return verdict{outcome: recheck, reason: SuspectLookupRefused}, nil
	case v == praxis.LookupUnknown && err == nil:
		// A verified success that is not about this tid: Praxis does not
		// confirm it (re-checked, then a suspect; never an endless retry).
		log.Warn().Msg("Praxis' verified answer does not carry the tid looked up")
		return verdict{outcome: recheck, reason: SuspectDisagrees}, nil
	case v == praxis.LookupUnknown:
		return verdict{}, fmt.Errorf("%w: %w", errLookupUnknown, err)
	}
	// One decoder reads what is booked (praxis.Decode), from the verified bytes.
	truth, derr := praxis.Decode[praxis.TransactionResponse](resp.Raw)
	if derr != nil || truth.Transaction == nil || truth.Transaction.TID != p.in.TID {
		log.Warn().AnErr("decode", derr).Msg("Praxis' verified answer does not decode as the transaction looked up")
		return verdict{outcome: recheck, reason: SuspectDisagrees}, nil
	}
	in, badFee, err := s.truthInput(p, truth)
	if err != nil {
		log.Warn().Err(err).Msg("Praxis' verified answer cannot be booked")
		return verdict{outcome: recheck, reason: SuspectDisagrees}, nil
	}
	out := verdict{truth: truth, in: in, found: true, outcome: confirmed, badFee: badFee}
	if !lifecycle.Confirms(p.in.Type, in.Type, in.Request, p.in.Status, in.Status) {
		out.outcome, out.reason = recheck, SuspectDisagrees
	}
	return out, nil
}

// truthInput is the lifecycle input built from Praxis' answer alone; only
// the event id and time (signed, checked by the ingress) come from the
// notification. The key Apply remembers adds Praxis' status, so a re-check
// that finds news is applied, and one that finds none is a redelivery.
func (s *Service) truthInput(p parsed, r *praxis.TransactionResponse) (in lifecycle.Input, badFee string, err error) {
	tx := r.Transaction
	sess := r.Session
	if sess == nil {
		sess = &praxis.Session{}
	}
	in, badFee = transactionInput(tx, sess, s.cfg.Processors)
	in.EventID, in.Time = p.in.EventID, p.in.Time
	in.ApplyKey = p.in.EventID + "#praxis:" + praxis.NormalizeStatus(tx.TransactionStatus)
	if in.Status == "" || in.TID <= 0 {
		return in, "", errors.New("the answer has no transaction status or tid")
	}
	return in, badFee, nil
}

// Claim is a transaction as one side reports it, in a suspect record.
type Claim struct {
	Type     string `json:"type"`
	Status   string `json:"status"`
	Amount   *int64 `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
}

// Review is a record on praxis.review.<app>.<kind>: a suspect
// notification, a held movement, or the audit of a decision. ID is its
// Nats-Msg-Id. It carries no customer data beyond the customer id.
type Review struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Application string    `json:"application"`
	Anchor      int64     `json:"anchor,omitempty"`
	TID         int64     `json:"tid"`
	Reason      string    `json:"reason"`
	Detail      string    `json:"detail,omitempty"`
	EventID     string    `json:"event_id,omitempty"`
	EventSeq    uint64    `json:"event_seq,omitempty"`
	Claimed     *Claim    `json:"claimed,omitempty"`
	Praxis      *Claim    `json:"praxis,omitempty"`
	Lookups     int       `json:"lookups,omitempty"`
	Ref         string    `json:"ref,omitempty"`
	Proposed    *Proposed `json:"proposed,omitempty"`
	Decision    *Decision `json:"decision,omitempty"`
	Outcome     string    `json:"outcome,omitempty"`
	Error       string    `json:"error,omitempty"`
	Booked      []string  `json:"booked,omitempty"`
	At          time.Time `json:"at"`
}

// Proposed is the instruction a hold would book, with the id it would get.
type Proposed struct {
	ID string `json:"id"`
	lifecycle.Instruction
}

// publishSuspect announces a notification Praxis did not confirm. Its id
// is derived from the event's, so a redelivery's copy is dropped by the
// stream (and can be by id).
func (s *Service) publishSuspect(ctx context.Context, p parsed, v verdict, meta *jetstream.MsgMetadata, log zerolog.Logger) error {
	r := Review{
		ID: "suspect:" + p.in.EventID, Kind: subjects.ReviewSuspect, Application: p.app, TID: p.in.TID, Reason: v.reason,
		EventID: p.in.EventID, Claimed: &Claim{Type: p.in.Type, Status: praxis.NormalizeStatus(p.in.Status), Amount: p.in.Amount, Currency: p.in.Currency},
		At: s.cfg.Now().UTC(),
	}
	if meta != nil {
		r.EventSeq, r.Lookups = meta.Sequence.Stream, int(meta.NumDelivered)
	}
	if v.truth != nil {
		tx := v.truth.Transaction
		r.Praxis = &Claim{Type: tx.TransactionType, Status: praxis.NormalizeStatus(tx.TransactionStatus), Amount: tx.Amount, Currency: tx.Currency}
	}
	switch v.reason {
	case SuspectNotFound:
		r.Detail = "Praxis does not know this tid: nothing was booked for the notification"
	case SuspectDisagrees:
		r.Detail = "Praxis reports this tid otherwise: only Praxis' own status was booked"
	case SuspectLookupRefused:
		r.Detail = "Praxis refused the lookup (Agent API access, credentials): nothing was booked for the notification; see trust_signature"
	}
	if err := s.publishReview(ctx, r); err != nil {
		return err
	}
	s.metrics.Suspects.WithLabelValues(s.appLabel(p.app), v.reason).Inc()
	log.Error().Str("reason", v.reason).Str("suspect", r.ID).Msg("notification not confirmed by Praxis within the re-check horizon: suspect record published, nothing booked for it")
	return nil
}

// recheckDelay is the delay before the n-th re-check.
func (s *Service) recheckDelay(n int) time.Duration {
	d := s.cfg.RecheckBase
	for i := 1; i < n && d < s.cfg.RecheckMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.RecheckMax)
}
