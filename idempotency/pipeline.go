package idempotency

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// autoPipeline sends the scripts that concurrent callers run as pipelines:
// each flusher takes whatever requests are waiting and writes them in one
// go, so under load a handful of syscalls serve many claims instead of two
// per claim. Nothing waits to fill a batch, so an idle store adds no
// latency; batching happens by itself while a pipeline is in flight.
type autoPipeline struct {
	rdb      redis.UniversalClient
	reqs     chan *pipeReq
	maxBatch int
	wg       sync.WaitGroup
	stop     chan struct{}
}

type pipeReq struct {
	script *redis.Script
	keys   []string
	args   []any
	done   chan *redis.Cmd
}

func newAutoPipeline(rdb redis.UniversalClient, flushers, maxBatch int) *autoPipeline {
	p := &autoPipeline{rdb: rdb, reqs: make(chan *pipeReq, 4096), maxBatch: maxBatch, stop: make(chan struct{})}
	for i := 0; i < flushers; i++ {
		p.wg.Add(1)
		go p.flusher()
	}
	return p
}

// run queues a script and waits for its reply, or for ctx.
func (p *autoPipeline) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	// A select picks at random among ready cases: without this check a
	// caller whose context is already over would still queue its script
	// about half the time, and a claim could run that nobody waits for.
	if err := ctx.Err(); err != nil {
		return errCmd(ctx, err)
	}
	r := &pipeReq{script: script, keys: keys, args: args, done: make(chan *redis.Cmd, 1)}
	select {
	case p.reqs <- r:
	case <-ctx.Done():
		return errCmd(ctx, ctx.Err())
	case <-p.stop:
		return errCmd(ctx, errors.New("idempotency: store closed"))
	}
	select {
	case cmd := <-r.done:
		return cmd
	case <-ctx.Done():
		// The script may still run; like a timed-out round trip, its
		// outcome is unknown to this caller (a claim simply expires).
		return errCmd(ctx, ctx.Err())
	}
}

func errCmd(ctx context.Context, err error) *redis.Cmd {
	cmd := redis.NewCmd(ctx)
	cmd.SetErr(err)
	return cmd
}

func (p *autoPipeline) flusher() {
	defer p.wg.Done()
	batch := make([]*pipeReq, 0, p.maxBatch)
	cmds := make([]*redis.Cmd, 0, p.maxBatch)
	for {
		select {
		case <-p.stop:
			return
		case first := <-p.reqs:
			batch = append(batch[:0], first)
		}
	fill:
		for len(batch) < p.maxBatch {
			select {
			case r := <-p.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		// The client's own read and write timeouts bound the round trip;
		// callers stop waiting on their own contexts.
		ctx := context.Background()
		if len(batch) == 1 {
			r := batch[0]
			r.done <- r.script.Run(ctx, p.rdb, r.keys, r.args...)
			continue
		}
		pipe := p.rdb.Pipeline()
		cmds = cmds[:0]
		for _, r := range batch {
			cmds = append(cmds, r.script.EvalSha(ctx, pipe, r.keys, r.args...))
		}
		_, _ = pipe.Exec(ctx)
		for i, r := range batch {
			cmd := cmds[i]
			if err := cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
				// Redis restarted or flushed its scripts: Run loads it.
				cmd = r.script.Run(ctx, p.rdb, r.keys, r.args...)
			}
			r.done <- cmd
		}
	}
}

func (p *autoPipeline) close() {
	close(p.stop)
	p.wg.Wait()
}
