package worker

import (
	"context"
	"errors"

	"github.com/praxis-adapter/praxis-adapter/idempotency"
)

// note returns the command's write-once note: what a protocol must fix
// before its first call and reuse on every retry, because computing it
// again after a call could give another answer (a refund's baseline of the
// refunds that existed before it, a reverse withdrawal's selection). The
// first holder that makes it stores it under its own key, completed like a
// result (kept for ResultTTL); every later holder reads that value and
// never calls build. The command's claim is held while this runs, so only a
// holder that lost its claim (and will make no call) can race, and the
// first Complete wins for everyone.
func (w *Worker) note(ctx context.Context, j *job, build func(context.Context) ([]byte, error)) ([]byte, error) {
	key := w.noteKey(j)
	c, err := w.deps.Store.Claim(ctx, key, w.cfg.ClaimTTL)
	if err != nil {
		return nil, &localError{provider: w.prov, op: "note", what: "read the command's note", err: err}
	}
	switch c.State {
	case idempotency.Done:
		return c.Value, nil
	case idempotency.Busy:
		return nil, &localError{provider: w.prov, op: "note", what: "read the command's note",
			err: errors.New("an earlier holder is writing it; its claim expires within the claim TTL")}
	}
	v, err := build(ctx)
	if err != nil {
		if rerr := w.deps.Store.Release(context.WithoutCancel(ctx), c); rerr != nil && !errors.Is(rerr, idempotency.ErrNotHolder) {
			j.l().Warn().Err(rerr).Msg("release the note's claim")
		}
		return nil, err
	}
	if err := w.deps.Store.Complete(ctx, c, v, w.cfg.ResultTTL); err != nil {
		return nil, &localError{provider: w.prov, op: "note", what: "store the command's note", err: err}
	}
	return v, nil
}

// storedNote reads the command's note without making one: ok is false
// when none was stored (so no call that needed it was ever sent).
func (w *Worker) storedNote(ctx context.Context, j *job) (v []byte, ok bool, err error) {
	r, err := w.deps.Store.Get(ctx, w.noteKey(j))
	switch {
	case errors.Is(err, idempotency.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case r.State != idempotency.Done:
		return nil, false, nil
	}
	return r.Value, true, nil
}

func (w *Worker) noteKey(j *job) string { return w.keyPrefix("note") + j.app.Name + ":" + j.res.ID }
